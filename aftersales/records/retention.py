"""Records kept, personal data minimised after the retention period (R6.2, 个人信息保护法).

Nothing is deleted, ever, by this job or anyone: cases, orders, refunds, messages and the
audit trail stay. What changes after the period is the buyers' personal data on them:

- **When** (`due_orders`): an order is due once it and every case on it have been quiet for
  `AFTERSALES_RETENTION["years"]` whole years (never under three; the settings refuse less):
  its last activity is the latest of its payment, shipping, signing and completion, and of
  each case's application, resolution and last change. An order with a case still open is
  never due, however old.
- **What** (`AFTERSALES_RETENTION["rule"]`): `buyer` — the buyer's nickname and phone, once
  every order of that buyer is minimised; `receiver` — the receiver's name and phone emptied,
  the address cut to its region (the first six characters: province and city, as the mask
  shows it, so reports by region still work); `texts` — in the buyer's statements, the stored
  messages to the buyer and the bot conversations of those cases, phone numbers and the
  receiver's name and address are replaced by `*`.
- **How**: one transaction per order, with a `personal_data_minimised` event on the shop's
  audit trail that names the order and the counts and carries no personal data. The audit
  trail itself is never rewritten (it is append-only, and its payloads name buyers by their
  platform id, never by name, phone or address), so `verify_audit` still passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from aftersales.audit.chain import record_event
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.privacy import mask_address
from aftersales.knowledge.models import Turn
from aftersales.orders.models import Buyer, Order
from aftersales.platforms.models import StoredBuyerMessage

from .models import Minimisation

logger = logging.getLogger(__name__)

MINIMISED_EVENT = "personal_data_minimised"
RETENTION = Actor.system("retention")
RULES = frozenset({"buyer", "receiver", "texts"})
MINIMUM_YEARS = 3
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")


@dataclass(frozen=True)
class Retention:
    years: int
    rule: frozenset[str]


def configured() -> Retention:
    """The rule and period from the settings, checked: never under three years (R6.2)."""
    config: dict[str, Any] = settings.AFTERSALES_RETENTION
    years = int(config.get("years", MINIMUM_YEARS))
    if years < MINIMUM_YEARS:
        raise ValueError(f"AFTERSALES_RETENTION years must be at least {MINIMUM_YEARS}")
    rule = frozenset(config.get("rule", RULES))
    if not rule <= RULES:
        raise ValueError(f"unknown AFTERSALES_RETENTION rule {sorted(rule - RULES)}")
    return Retention(years=years, rule=rule)


def cutoff(now: datetime, years: int) -> datetime:
    """The same wall-clock moment `years` whole years before (29 February → 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def last_activity(order: Order) -> datetime:
    moments = [
        order.paid_at,
        order.shipped_at,
        order.delivered_at,
        order.completed_at,
        order.cancelled_at,
    ]
    cases = Case.objects.filter(order=order).aggregate(
        applied=Max("applied_at"), resolved=Max("resolved_at"), updated=Max("updated_at")
    )
    moments += list(cases.values())
    return max(m for m in moments if m is not None)


def due_orders(now: datetime, years: int) -> Iterator[Order]:
    """Orders quiet for the whole period, no case open, not minimised yet."""
    before = cutoff(now, years)
    open_case = Case.objects.exclude(status__in=TERMINAL_STATUSES).values("order_id")
    recent_case = Case.objects.filter(
        Q(applied_at__gte=before) | Q(resolved_at__gte=before) | Q(updated_at__gte=before)
    ).values("order_id")
    done = Minimisation.objects.values("order_id")
    candidates = (
        Order.objects.filter(paid_at__lt=before)
        .exclude(pk__in=open_case)
        .exclude(pk__in=recent_case)
        .exclude(pk__in=done)
        .order_by("pk")
    )
    for order in candidates.iterator(chunk_size=500):
        if last_activity(order) < before:
            yield order


def scrub(text: str, *, words: list[str]) -> str:
    """The text with phone numbers and the given words (a name, an address) starred out."""
    result = PHONE.sub(lambda m: "*" * len(m.group()), text)
    for word in sorted({w.strip() for w in words if len(w.strip()) >= 2}, key=len, reverse=True):
        result = result.replace(word, "*" * len(word))
    return result


@transaction.atomic
def minimise_order(*, order: Order, retention: Retention, now: datetime) -> Minimisation:
    """Minimise one order's personal data, its cases' and its messages', by the rule."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    activity = last_activity(order)
    words = [order.receiver_name, order.receiver_address, order.buyer.nickname]
    texts = 0
    if "texts" in retention.rule:
        for case in Case.objects.filter(order=order).only("pk", "buyer_statement"):
            cleaned = scrub(case.buyer_statement, words=words)
            if cleaned != case.buyer_statement:
                Case.objects.filter(pk=case.pk).update(buyer_statement=cleaned)
                texts += 1
        for message in StoredBuyerMessage.objects.filter(case__order=order):
            cleaned = scrub(message.text, words=words)
            if cleaned != message.text:
                StoredBuyerMessage.objects.filter(pk=message.pk).update(text=cleaned)
                texts += 1
        turns = Turn.objects.filter(
            Q(conversation__order=order) | Q(conversation__case__order=order)
        )
        for turn in turns.distinct():
            cleaned = scrub(turn.text, words=words)
            if cleaned != turn.text:
                Turn.objects.filter(pk=turn.pk).update(text=cleaned)
                texts += 1
    if "receiver" in retention.rule:
        region = mask_address(order.receiver_address) if order.receiver_address else ""
        Order.objects.filter(pk=order.pk).update(
            receiver_name="", receiver_phone="", receiver_address=region
        )
    record = Minimisation.objects.create(
        shop_id=order.shop_id,
        order=order,
        rule=sorted(retention.rule),
        years=retention.years,
        last_activity_at=activity,
        texts_changed=texts,
        at=now,
    )
    buyer_done = False
    if "buyer" in retention.rule:
        others = Order.objects.filter(buyer_id=order.buyer_id).exclude(
            pk__in=Minimisation.objects.values("order_id")
        )
        if not others.exists():
            Buyer.objects.filter(pk=order.buyer_id).update(nickname="", phone="")
            buyer_done = True
    record_event(
        shop_id=order.shop_id,
        type=MINIMISED_EVENT,
        by=RETENTION,
        payload={
            "order": order.platform_order_id,
            "rule": sorted(retention.rule),
            "years": retention.years,
            "last_activity": activity.isoformat(),
            "texts_changed": texts,
            "buyer_minimised": buyer_done,
        },
    )
    return record


@dataclass(frozen=True)
class RetentionRun:
    minimised: int
    due: int


def minimise_personal_data(
    *, now: datetime | None = None, limit: int | None = None, dry_run: bool = False
) -> RetentionRun:
    """The scheduled job: every due order, each in its own transaction."""
    retention = configured()
    now = now or timezone.now()
    done = due = 0
    for order in due_orders(now, retention.years):
        due += 1
        if dry_run:
            continue
        minimise_order(order=order, retention=retention, now=now)
        done += 1
        if limit is not None and done >= limit:
            break
    if done:
        logger.info("minimised the personal data of %s orders", done)
    return RetentionRun(minimised=done, due=due)
