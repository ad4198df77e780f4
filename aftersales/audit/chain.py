"""Writing and verifying the per-shop hash chain of audit events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from aftersales.core.actors import Actor

from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def compute_hash(event: AuditEvent) -> str:
    """The link's hash covers every stored field and the previous link's hash."""
    body = _canonical(
        {
            "shop": event.shop_id,
            "seq": event.seq,
            "case": event.case_id,
            "type": event.type,
            "actor_kind": event.actor_kind,
            "actor_label": event.actor_label,
            "actor_user": event.actor_user_id,
            "before": event.before,
            "after": event.after,
            "payload": event.payload,
            "created_at": event.created_at.isoformat(timespec="microseconds"),
            "prev": event.prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record_event(
    *,
    shop_id: int,
    type: str,
    by: Actor,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the shop's chain. Must run inside the caller's transaction.

    The chain head row is locked, so concurrent appends for one shop queue up rather
    than fork the chain; different shops never wait on each other.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change")
    head = AuditChainHead.objects.select_for_update().filter(shop_id=shop_id).first()
    if head is None:
        # `create_shop` makes the head with the shop; a shop made another way gets it here
        # (get_or_create copes with a concurrent first append).
        AuditChainHead.objects.get_or_create(shop_id=shop_id)
        head = AuditChainHead.objects.select_for_update().get(shop_id=shop_id)
    event = AuditEvent(
        shop_id=shop_id,
        seq=head.last_seq + 1,
        case_id=case_id,
        type=type,
        actor_kind=by.kind,
        actor_label=by.label[:150],
        actor_user_id=by.user_id,
        before=json.loads(_canonical(before or {})),
        after=json.loads(_canonical(after or {})),
        payload=json.loads(_canonical(payload or {})),
        created_at=timezone.now(),
        prev_hash=head.last_hash or GENESIS,
    )
    event.hash = compute_hash(event)
    event.save()
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class BrokenLink:
    shop_id: int
    seq: int
    event_id: int | None
    problem: str


def verify_chain(shop_id: int) -> BrokenLink | None:
    """Walk one shop's chain from the start; return the first broken link, or None."""
    expected_prev = GENESIS
    expected_seq = 1
    for event in _iter_events(shop_id):
        if event.seq != expected_seq:
            return BrokenLink(shop_id, expected_seq, None, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return BrokenLink(shop_id, event.seq, event.pk, "does not link to the previous event")
        if compute_hash(event) != event.hash:
            return BrokenLink(shop_id, event.seq, event.pk, "content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
    head = AuditChainHead.objects.filter(shop_id=shop_id).first()
    if head is not None and head.last_seq != expected_seq - 1:
        return BrokenLink(
            shop_id,
            expected_seq,
            None,
            f"chain ends at #{expected_seq - 1}, head says #{head.last_seq}",
        )
    return None


def _iter_events(shop_id: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(shop_id=shop_id).order_by("seq").iterator(chunk_size=2000)
