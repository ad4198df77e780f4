"""A bounded record of a push nobody signed, for every receiver of the platforms (issue 13,
issue 15): the staff see what was refused, and an unauthenticated caller cannot grow the
database without limit.

A refused push keeps at most `cap` bytes of its body, with its size and SHA-256 in the
record's summary when it was cut, and at most `limit` such records a minute per source;
beyond that the refusal is only logged. The receiver answers the same clear error either way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import QuerySet

from aftersales.core.text import escape_nul

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Kept:
    """What a refused push's record holds: the body's first bytes, and why it was refused
    (with the whole body's size and SHA-256 when it was cut)."""

    body: str
    summary: str


def bounded(body: bytes, *, reason: str, cap: int, whole: str | None = None) -> Kept:
    """At most `cap` bytes of `body`, as storable text (NUL escaped); `whole`: the body's
    storable text when it fits, as the receiver keeps it."""
    if len(body) <= cap:
        text = whole if whole is not None else body.decode("utf-8", errors="replace")
        return Kept(body=escape_nul(text), summary=reason)
    digest = hashlib.sha256(body).hexdigest()
    return Kept(
        body=escape_nul(body[:cap].decode("utf-8", errors="replace")),
        summary=f"{reason}; {len(body)} bytes, sha256 {digest}, first {cap} kept",
    )


def keep_refused(
    *,
    body: bytes,
    reason: str,
    recent: QuerySet,
    limit: int,
    cap: int,
    store: Callable[[Kept], T],
    label: str,
    source: str,
    whole: str | None = None,
) -> T | None:
    """Store the refused push with `store` unless `recent` (the source's refused records of
    the last minute) already has `limit` of them; returns the record, or None when only
    logged."""
    if recent.count() >= limit:
        logger.warning(
            "%s push refused from %s: over %d a minute, not stored", label, source, limit
        )
        return None
    return store(bounded(body, reason=reason, cap=cap, whole=whole))
