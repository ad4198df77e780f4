"""Policy documents: the default file, per-shop overrides, validation and merging (R6.3)."""

from __future__ import annotations

import copy
import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.core.errors import InvalidInput

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")


@dataclass(frozen=True)
class Policy:
    """A complete, validated policy and the version label every decision records."""

    version: str
    data: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.data.get(name, {})
        return section

    @property
    def sla(self) -> dict[str, Any]:
        sla: dict[str, Any] = self.data["sla"]
        return sla


@lru_cache(maxsize=1)
def default_document() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def default_policy() -> Policy:
    data = default_document()
    return Policy(version=f"default@{data['version']}", data=copy.deepcopy(data))


def parse_document(text: str) -> dict[str, Any]:
    """Parse TOML, with errors a person can act on."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(_("The policy is not valid TOML: %(error)s"), error=str(exc)) from exc


def validate_override(override: dict[str, Any], *, base: dict[str, Any] | None = None) -> None:
    """An override may only set keys the default has, with values of the same type.

    Typos fail loudly instead of silently doing nothing. Tables under `high_risk` and
    `evidence` are open: a shop may add a plan for another category, or evidence for another
    reason. A new entry must have the shape of the existing ones, and the keys inside an
    entry, known or new, are checked like any other.
    """
    base = default_document() if base is None else base
    _check(override, base, path="")


OPEN_TABLES = {"high_risk", "evidence"}
# The evidence a reason may require (R4.1), with its words.
EVIDENCE_KINDS: dict[str, Promise] = {"photo": _("Photo"), "video": _("Video")}


def _check(override: dict[str, Any], base: dict[str, Any], *, path: str) -> None:
    for key, value in override.items():
        where = f"{path}{key}"
        expected = base.get(key)
        if key not in base:
            table = path.rstrip(".")
            if table not in OPEN_TABLES or not base or not _may_add(table, key):
                raise InvalidInput(_("Unknown policy setting “%(key)s”."), key=where)
            expected = next(iter(base.values()))  # a new entry is shaped like the others
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise InvalidInput(_("“%(key)s” must be a table."), key=where)
            _check(value, expected, path=where + ".")
        elif isinstance(expected, bool) != isinstance(value, bool) or not isinstance(
            value, type(expected) if not isinstance(expected, float) else (int, float)
        ):
            raise InvalidInput(
                _("“%(key)s” must be of type %(type)s."), key=where, type=type(expected).__name__
            )
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise InvalidInput(_("“%(key)s” cannot be negative."), key=where)
        elif _is_evidence_list(where) and not (
            isinstance(value, list)
            and all(isinstance(v, str) and v in EVIDENCE_KINDS for v in value)
        ):
            raise InvalidInput(_("“%(key)s” may list only photo and video."), key=where)


def _may_add(table: str, key: str) -> bool:
    """A plan may be added for any category; evidence only for a reason the system knows."""
    if table == "evidence":
        from aftersales.cases.reasons import REASONS

        return key in REASONS
    return True


def _is_evidence_list(where: str) -> bool:
    parts = where.split(".")
    return (len(parts) == 2 and parts[0] == "evidence") or (
        len(parts) == 3 and parts[0] == "high_risk" and parts[2] == "required_evidence"
    )


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` onto a copy of `base`."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
