"""Text PostgreSQL can store (issue 15).

PostgreSQL refuses the NUL character in `text` (and `\\u0000` in `jsonb`); SQLite takes it.
Input from outside — a platform's push or answer, an API body — is made storable at the
boundary, before anything is saved, so that a request is never lost to it: NUL becomes
U+FFFD (the replacement character, visible as �). Where the original bytes matter (a push's
body) the caller keeps them escaped instead (`escape_nul`).
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def has_nul(value: Any) -> bool:
    """True if any string in the value (keys included) holds a NUL character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def storable(value: Any) -> Any:
    """The value with every NUL in its strings (and keys) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    return value


def escape_nul(text: str) -> str:
    """Text with each NUL written as the JSON escape `\\u0000`: storable, and what a JSON
    body's NUL means, so the original is still readable from it."""
    return text.replace(NUL, "\\u0000")
