"""Writing and verifying the per-shop hash chain of audit events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aftersales.core.actors import Actor
from aftersales.core.bulk import insert_all

from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


class UnknownKeyError(LookupError):
    """A link names a key that AUDIT_CHAIN_KEYS does not hold."""


def compute_hash(event: AuditEvent) -> str:
    """The link's hash covers every stored field and the previous link's hash.

    A keyed link (`key_id` set) is an HMAC-SHA256 under that key, which lives in the
    environment, not in the database: rewriting events and the head together cannot produce
    links that verify without it. Links written before keys were introduced stay plain SHA-256.
    """
    fields: dict[str, Any] = {
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
    if not event.key_id:
        return hashlib.sha256(_canonical(fields).encode()).hexdigest()
    fields["key"] = event.key_id
    try:
        key = settings.AUDIT_CHAIN_KEYS[event.key_id]
    except KeyError:
        raise UnknownKeyError(event.key_id) from None
    return hmac.new(key.encode(), _canonical(fields).encode(), hashlib.sha256).hexdigest()


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
        key_id=settings.AUDIT_CHAIN_KEY_ID,
    )
    event.hash = compute_hash(event)
    event.save()
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class NewEvent:
    """One event of `record_events`: what `record_event` takes, the shop aside."""

    type: str
    case_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None


def record_events(*, shop_id: int, by: Actor, events: list[NewEvent]) -> list[AuditEvent]:
    """Append many events of one actor to the shop's chain at once (a bulk import): the head
    locked once, the links hashed here in order, one INSERT. The chain is the same as
    `record_event` one at a time would have written. Must run inside the caller's
    transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events must run inside the transaction of the change")
    if not events:
        return []
    head = AuditChainHead.objects.select_for_update().filter(shop_id=shop_id).first()
    if head is None:
        AuditChainHead.objects.get_or_create(shop_id=shop_id)
        head = AuditChainHead.objects.select_for_update().get(shop_id=shop_id)
    seq = head.last_seq
    prev = head.last_hash or GENESIS
    now = timezone.now()
    written: list[AuditEvent] = []
    for new in events:
        seq += 1
        event = AuditEvent(
            shop_id=shop_id,
            seq=seq,
            case_id=new.case_id,
            type=new.type,
            actor_kind=by.kind,
            actor_label=by.label[:150],
            actor_user_id=by.user_id,
            before=json.loads(_canonical(new.before or {})),
            after=json.loads(_canonical(new.after or {})),
            payload=json.loads(_canonical(new.payload or {})),
            created_at=now,
            prev_hash=prev,
            key_id=settings.AUDIT_CHAIN_KEY_ID,
        )
        event.hash = compute_hash(event)
        prev = event.hash
        written.append(event)
    insert_all(AuditEvent, written)
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=seq, last_hash=prev)
    return written


@dataclass(frozen=True)
class BrokenLink:
    shop_id: int
    seq: int
    event_id: int | None
    problem: str


def verify_chain(shop_id: int, checkpoints: Mapping[int, str] | None = None) -> BrokenLink | None:
    """Walk one shop's chain from the start; return the first broken link, or None.

    `checkpoints` ({seq: hash}, read from the file outside the database; `audit/anchor.py`)
    catches a rewrite of events and head together, and a chain cut back below a checkpoint.
    """
    checkpoints = checkpoints or {}
    expected_prev = GENESIS
    expected_seq = 1
    keyed = False
    for event in _iter_events(shop_id):
        if event.seq != expected_seq:
            return BrokenLink(shop_id, expected_seq, None, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return BrokenLink(shop_id, event.seq, event.pk, "does not link to the previous event")
        if keyed and not event.key_id:
            # Once the chain is keyed, an unkeyed link is a forger's, who has no key.
            return BrokenLink(shop_id, event.seq, event.pk, "unkeyed link after keyed ones")
        try:
            matches = compute_hash(event) == event.hash
        except UnknownKeyError:
            return BrokenLink(shop_id, event.seq, event.pk, f"unknown key {event.key_id!r}")
        if not matches:
            return BrokenLink(shop_id, event.seq, event.pk, "content does not match its hash")
        anchored = checkpoints.get(event.seq)
        if anchored is not None and anchored != event.hash:
            return BrokenLink(shop_id, event.seq, event.pk, "differs from its checkpoint")
        keyed = keyed or bool(event.key_id)
        expected_prev = event.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    anchored_seq = max(checkpoints, default=0)
    if anchored_seq > last_seq:
        return BrokenLink(
            shop_id,
            last_seq + 1,
            None,
            f"chain ends at #{last_seq}, a checkpoint has #{anchored_seq}",
        )
    head = AuditChainHead.objects.filter(shop_id=shop_id).first()
    if head is not None and (head.last_seq, head.last_hash or GENESIS) != (last_seq, expected_prev):
        return BrokenLink(
            shop_id,
            expected_seq,
            None,
            f"chain ends at #{last_seq}, head says #{head.last_seq}"
            if head.last_seq != last_seq
            else "the head's hash is not the last link's",
        )
    return None


def _iter_events(shop_id: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(shop_id=shop_id).order_by("seq").iterator(chunk_size=2000)
