"""Checkpoints of the audit chains, kept in an append-only file outside the database.

The keyed links (`chain.compute_hash`) stop a forger who can write the tables but has no key.
The checkpoints also stop one who has the key, or who cuts the chain back: every so often
(`audit_checkpoint`, the sweep) each shop's head — its sequence number and hash — is appended
to `AUDIT_CHECKPOINT_FILE` as one JSON line with an HMAC of its own, and `verify_audit` checks
that the chain still holds every checkpointed hash at its place and reaches the last one.
The file is only ever opened for appending; the operator makes it append-only for the
application's user (`chattr +a`) or ships it to a second store (ADR 0003).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import AuditChainHead


def _line_mac(record: dict[str, Any], key_id: str) -> str | None:
    key = settings.AUDIT_CHAIN_KEYS.get(key_id)
    if key is None:
        return None
    body = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


@dataclass
class Checkpoints:
    """What the file says: per shop {seq: hash}; and the lines that are not genuine."""

    by_shop: dict[int, dict[int, str]] = field(default_factory=dict)
    bad_lines: list[int] = field(default_factory=list)
    found: bool = False


def checkpoint_file() -> Path | None:
    """The configured file, or None when checkpoints are off (the test suite's default)."""
    configured = settings.AUDIT_CHECKPOINT_FILE
    return Path(configured) if configured else None


def read_checkpoints(path: Path | None = None) -> Checkpoints:
    path = path or checkpoint_file()
    result = Checkpoints()
    if path is None or not path.exists():
        return result
    result.found = True
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                mac = record.pop("mac")
                genuine = hmac.compare_digest(str(mac), _line_mac(record, record["key"]) or "")
                shop_id, seq, link = int(record["shop"]), int(record["seq"]), str(record["hash"])
            except (ValueError, KeyError, TypeError, AttributeError):
                genuine = False
            if not genuine:
                result.bad_lines.append(number)
                continue
            result.by_shop.setdefault(shop_id, {})[seq] = link
    return result


def write_checkpoints(
    path: Path | None = None, *, unchanged_since: dict[int, int] | None = None
) -> int:
    """Append one line per shop whose head moved; return how many lines were written.

    `unchanged_since` ({shop: seq} of the caller's previous run, updated in place) skips heads
    that have not moved, so a periodic caller writes only what changed.
    """
    path = path or checkpoint_file()
    if path is None:
        return 0
    seen = unchanged_since if unchanged_since is not None else {}
    now = timezone.now().isoformat(timespec="seconds")
    key_id = settings.AUDIT_CHAIN_KEY_ID
    lines = []
    heads = AuditChainHead.objects.filter(last_seq__gt=0).values_list(
        "shop_id", "last_seq", "last_hash"
    )
    for shop_id, seq, link in heads.order_by("shop_id"):
        if seen.get(shop_id) == seq:
            continue
        record = {"at": now, "hash": link, "key": key_id, "seq": seq, "shop": shop_id}
        record["mac"] = _line_mac(record, key_id) or ""
        lines.append(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
        seen[shop_id] = seq
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, whatever else has the file open.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write("".join(lines))
            out.flush()
            os.fsync(out.fileno())
    return len(lines)
