"""The queue: the actor's cases, most urgent first, with filters and counts per bucket.

Urgency is the nearest deadline among the case's **running merchant clocks** (R2.7): the
buyer's own clock (sending the return back) is the buyer's time, not work for the team, and
its expiry is handled by the system (docs/sla.md), so it neither orders the queue nor counts
as at risk or breached. Cases without a running merchant clock come after the others, oldest
application first.

- at risk: a running merchant clock past its at-risk moment, not yet due;
- breached: a running merchant clock past its due time (whether or not the sweep has
  recorded `breached_at` yet; a breached clock keeps running until the work is done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus
from aftersales.cases.fetch import cases_for_actor
from aftersales.cases.models import Case, CaseItem
from aftersales.core.actors import Actor
from aftersales.orders.models import Order
from aftersales.sla.models import ClockState, SlaClock

from .forms import ALL, OPEN

PAGE_SIZE = 50
OPEN_STATUSES = [s for s in CaseStatus.values if s not in TERMINAL_STATUSES]


def running_clocks() -> QuerySet[SlaClock]:
    """The running merchant clocks of the case in the outer query."""
    return SlaClock.objects.filter(
        case=OuterRef("pk"), state=ClockState.RUNNING, is_buyer_clock=False
    )


def at_risk_clocks(now: datetime) -> QuerySet[SlaClock]:
    return running_clocks().filter(at_risk_at__lte=now, due_at__gt=now)


def breached_clocks(now: datetime) -> QuerySet[SlaClock]:
    return running_clocks().filter(Q(due_at__lte=now) | Q(breached_at__isnull=False))


def filtered(actor: Actor, filters: dict[str, Any]) -> QuerySet[Case]:
    """The actor's cases matching the filters that are not buckets."""
    qs = cases_for_actor(actor)
    status = filters.get("status")
    if status == ALL:
        pass
    elif status and status != OPEN:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=OPEN_STATUSES)
    for name in ("type", "reason"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("shop"):
        qs = qs.filter(shop_id=filters["shop"])
    if filters.get("vip"):
        qs = qs.filter(order__buyer__vip_level__gt=0)
    if filters.get("category"):
        qs = qs.filter(
            Exists(
                CaseItem.objects.filter(
                    case=OuterRef("pk"), order_item__sku__product__category=filters["category"]
                )
            )
        )
    term = (filters.get("q") or "").strip()
    if term:
        # Each id through its own index: the order (or the buyer's orders) first, then
        # their cases; an OR across joined tables would scan them all.
        orders = Order.objects.filter(
            Q(platform_order_id=term) | Q(buyer__platform_buyer_id=term),
            shop_id__in=list(actor.shop_roles),
        )
        match = Q(platform_case_id=term) | Q(order_id__in=orders.values("pk"))
        if term.isdigit() and len(term) < 19:
            match |= Q(pk=int(term))
        qs = qs.filter(match)
    return qs


def in_buckets(qs: QuerySet[Case], actor: Actor, filters: dict[str, Any], now: datetime):
    if filters.get("assignee") == "mine":
        qs = qs.filter(assignee_id=actor.user_id)
    elif filters.get("assignee") == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.get("sla") == "at_risk":
        qs = qs.filter(Exists(at_risk_clocks(now)))
    elif filters.get("sla") == "breached":
        qs = qs.filter(Exists(breached_clocks(now)))
    return qs


def bucket_counts(qs: QuerySet[Case], actor: Actor, now: datetime) -> dict[str, int]:
    """How many cases each bucket holds, under the other filters: one pass over the rows."""
    return qs.aggregate(
        all=Count("pk"),
        mine=Count("pk", filter=Q(assignee_id=actor.user_id)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        at_risk=Count("pk", filter=Q(Exists(at_risk_clocks(now)))),
        breached=Count("pk", filter=Q(Exists(breached_clocks(now)))),
    )


def most_urgent_first(qs: QuerySet[Case]) -> QuerySet[Case]:
    nearest = running_clocks().order_by("due_at").values("due_at")[:1]
    return (
        qs.annotate(next_due_at=Subquery(nearest))
        .order_by(F("next_due_at").asc(nulls_last=True), "applied_at", "pk")
        .select_related("order__buyer", "shop", "assignee")
    )


@dataclass
class Row:
    """A case in the queue with its nearest deadline."""

    case: Case
    due_at: datetime | None
    clock_label: str
    at_risk: bool
    breached: bool
    seconds_left: int | None


def rows_for(cases: list[Case], now: datetime) -> list[Row]:
    """The page's rows with the nearest clock of each: one query for the whole page."""
    nearest: dict[int, SlaClock] = {}
    clocks = SlaClock.objects.filter(
        case_id__in=[c.pk for c in cases], state=ClockState.RUNNING, is_buyer_clock=False
    ).order_by("case_id", "due_at")
    for clock in clocks:
        nearest.setdefault(clock.case_id, clock)
    rows = []
    for case in cases:
        clock = nearest.get(case.pk)
        if clock is None:
            rows.append(Row(case, None, "", False, False, None))
            continue
        left: timedelta = clock.due_at - now
        rows.append(
            Row(
                case=case,
                due_at=clock.due_at,
                clock_label=str(clock.get_kind_display()),
                at_risk=clock.at_risk_at <= now < clock.due_at,
                breached=clock.due_at <= now or clock.breached_at is not None,
                seconds_left=int(left.total_seconds()),
            )
        )
    return rows
