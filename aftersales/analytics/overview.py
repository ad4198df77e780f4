"""The overview (R8.1): after-sales rate, refund rate, reasons, times and SLA compliance of a
period, cut and broken down by shop, category, product, SKU, reason, case type, agent and
carrier.

Every figure is an aggregate query in the database, never a loop over cases in Python. The
case-side figures (cases, reasons, refunds, the three times) are read from the facts the
case events keep (`facts.py`) whenever the cuts are the case's own (shop, reason, type,
agent); a cut by category, product, SKU or carrier, and `facts=False`, count them from the
raw rows (cases, refund lines, the audit trail) — the tests prove the two agree. Orders and
what was paid, and SLA compliance, are always read from their own tables. What each figure counts is
written once in `definitions.py` and shown beside it on screen and in the API.

Which rows a cut narrows:

- orders and what was paid are narrowed by the cuts orders have: shop, category, product,
  SKU, carrier (the carrier of the order's first outbound parcel). A cut by reason, case
  type or agent leaves the orders as they are: the after-sales rate then reads "cases for
  this reason per order", the reason's share of the whole rate;
- cases, by every cut (a case matches a product cut when one of its items is of that
  product);
- refunds, by every cut; a product, SKU or category cut counts only the refund lines of
  those items, so the refunded amount is never more than those items' share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseType, ExecutionStatus, ResponsibleParty
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, CaseItem, RefundExecution, RefundLine
from aftersales.cases.reasons import REASONS
from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product, Sku
from aftersales.orders.choices import OrderChannel, ShipmentKind
from aftersales.orders.models import DailyOrderTotal, Order, OrderItem, Shipment
from aftersales.shops.models import Shop
from aftersales.sla.models import ClockKind, ClockState, DailyClockOutcome, SlaClock
from aftersales.sla.outcomes import MET
from aftersales.sla.rules import MERCHANT_RESPONSES
from aftersales.workdays.calendar import SHANGHAI

from .facts import TIME_METRICS
from .models import CaseFact, DailyCaseFact, DailyRefundFact, DailyTimeBucket
from .periods import Period
from .scope import Cuts, Scope

PERCENTS = (50, 90)
DECISIONS = frozenset({CaseEvent.CASE_APPROVED, CaseEvent.CASE_REJECTED})
# The merchant's clocks; the buyer's return deadline is the buyer's time, not the shop's.
MERCHANT_CLOCKS = [kind for kind in ClockKind.values if kind != ClockKind.RETURN_SHIPMENT]


def ratio(part: int | None, whole: int | None) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as "—", never 0 %)."""
    if part is None or not whole:
        return None
    return part / whole


# --- Cuts and breakdowns ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """A way to break a report down: the lookup of its value from each kind of row."""

    key: str
    label: Promise
    order_item: str | None  # from OrderItem; None: an order has no such thing
    case_item: str  # from CaseItem
    refund_line: str  # from RefundLine


CARRIER = "carrier"  # an annotation: the carrier of the order's first outbound parcel

DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in [
        Dimension("shop", _("Shop"), "shop_id", "case__shop_id", "decision__shop_id"),
        Dimension(
            "category",
            _("Category"),
            "sku__product__category",
            "order_item__sku__product__category",
            "order_item__sku__product__category",
        ),
        Dimension(
            "product",
            _("Product"),
            "sku__product_id",
            "order_item__sku__product_id",
            "order_item__sku__product_id",
        ),
        Dimension("sku", _("SKU"), "sku_id", "order_item__sku_id", "order_item__sku_id"),
        Dimension("reason", _("Reason"), None, "case__reason", "decision__case__reason"),
        Dimension("type", _("Case type"), None, "case__type", "decision__case__type"),
        Dimension("agent", _("Agent"), None, "case__assignee_id", "decision__case__assignee_id"),
        Dimension("carrier", _("Carrier"), CARRIER, CARRIER, CARRIER),
        Dimension(
            "channel",
            _("Channel"),
            "order__channel",
            "case__order__channel",
            "decision__order__channel",
        ),
        Dimension(
            "live_room",
            _("Live room"),
            "order__live_room_id",
            "case__order__live_room_id",
            "decision__order__live_room_id",
        ),
    ]
}
DIMENSION_CHOICES = [(d.key, d.label) for d in DIMENSIONS.values()]


def _item_lookups(cuts: Cuts, prefix: str) -> dict[str, Any]:
    lookups: dict[str, Any] = {}
    if cuts.category:
        lookups[prefix + "sku__product__category"] = cuts.category
    if cuts.product is not None:
        lookups[prefix + "sku__product_id"] = cuts.product
    if cuts.sku is not None:
        lookups[prefix + "sku_id"] = cuts.sku
    return lookups


def _shipped_by(carrier: str, order_ref: str) -> Exists:
    return Exists(
        Shipment.objects.filter(
            order_id=OuterRef(order_ref), kind=ShipmentKind.OUTBOUND, carrier=carrier
        )
    )


def _carrier_of(order_ref: str) -> Subquery:
    return Subquery(
        Shipment.objects.filter(order_id=OuterRef(order_ref), kind=ShipmentKind.OUTBOUND)
        .order_by("pk")
        .values("carrier")[:1]
    )


def cut_cases(scope: Scope) -> QuerySet[Case]:
    """The scope's cases matching every cut (any time)."""
    cuts = scope.cuts
    qs = Case.objects.filter(shop_id__in=scope.shop_ids)
    if cuts.reason:
        qs = qs.filter(reason=cuts.reason)
    if cuts.type:
        qs = qs.filter(type=cuts.type)
    if cuts.agent is not None:
        qs = qs.filter(assignee_id=cuts.agent)
    items = _item_lookups(cuts, "order_item__")
    if items:
        qs = qs.filter(Exists(CaseItem.objects.filter(case=OuterRef("pk"), **items)))
    if cuts.carrier:
        qs = qs.filter(_shipped_by(cuts.carrier, "order_id"))
    return qs.filter(**_order_lookups(cuts, "order__"))


def _order_lookups(cuts: Cuts, prefix: str) -> dict[str, Any]:
    """The cuts an order carries itself: its channel and live room."""
    lookups: dict[str, Any] = {}
    if cuts.channel:
        lookups[prefix + "channel"] = cuts.channel
    if cuts.live_room:
        lookups[prefix + "live_room_id"] = cuts.live_room
    return lookups


def cut_orders(scope: Scope) -> QuerySet[Order]:
    """The scope's orders matching the cuts an order has (any time)."""
    cuts = scope.cuts
    qs = Order.objects.filter(shop_id__in=scope.shop_ids)
    items = _item_lookups(cuts, "")
    if items:
        qs = qs.filter(Exists(OrderItem.objects.filter(order=OuterRef("pk"), **items)))
    if cuts.carrier:
        qs = qs.filter(_shipped_by(cuts.carrier, "pk"))
    return qs.filter(**_order_lookups(cuts, ""))


def cut_order_items(scope: Scope) -> QuerySet[OrderItem]:
    cuts = scope.cuts
    # The order's shop as well as the item's: the period is a range of the orders' payment
    # times, and only (shop, paid_at) is indexed.
    qs = OrderItem.objects.filter(
        shop_id__in=scope.shop_ids,
        order__shop_id__in=scope.shop_ids,
        **_item_lookups(cuts, ""),
        **_order_lookups(cuts, "order__"),
    )
    if cuts.carrier:
        qs = qs.filter(_shipped_by(cuts.carrier, "order_id"))
    return qs


def cut_refund_lines(scope: Scope) -> QuerySet[RefundLine]:
    """Lines of refunds that were paid out (execution succeeded), matching every cut."""
    cuts = scope.cuts
    qs = RefundLine.objects.filter(
        decision__shop_id__in=scope.shop_ids,
        decision__execution__status=ExecutionStatus.SUCCEEDED,
        **_item_lookups(cuts, "order_item__"),
    )
    if cuts.reason:
        qs = qs.filter(decision__case__reason=cuts.reason)
    if cuts.type:
        qs = qs.filter(decision__case__type=cuts.type)
    if cuts.agent is not None:
        qs = qs.filter(decision__case__assignee_id=cuts.agent)
    if cuts.carrier:
        qs = qs.filter(_shipped_by(cuts.carrier, "decision__order_id"))
    return qs.filter(**_order_lookups(cuts, "decision__order__"))


def order_facts_apply(cuts: Cuts) -> bool:
    """The daily order totals carry the shop, the day, the channel and the live room; a cut
    by an item (category, product, SKU) or a carrier is answered from the raw rows."""
    return not (cuts.category or cuts.product is not None or cuts.sku is not None or cuts.carrier)


def facts_apply(cuts: Cuts) -> bool:
    """The case facts carry the case's own dimensions (shop, reason, type, agent); a cut by an
    item (category, product, SKU), a carrier, a channel or a live room is answered from the
    raw rows."""
    return order_facts_apply(cuts) and not (cuts.channel or cuts.live_room)


def daily_order_totals(scope: Scope, period: Period) -> QuerySet[DailyOrderTotal]:
    qs = DailyOrderTotal.objects.filter(
        shop_id__in=scope.shop_ids, day__gte=period.first, day__lte=period.last
    )
    if scope.cuts.channel:
        qs = qs.filter(channel=scope.cuts.channel)
    if scope.cuts.live_room:
        qs = qs.filter(live_room_id=scope.cuts.live_room)
    return qs


def case_facts(scope: Scope) -> QuerySet[CaseFact]:
    cuts = scope.cuts
    qs = CaseFact.objects.filter(shop_id__in=scope.shop_ids)
    if cuts.reason:
        qs = qs.filter(reason=cuts.reason)
    if cuts.type:
        qs = qs.filter(type=cuts.type)
    if cuts.agent is not None:
        qs = qs.filter(assignee_id=cuts.agent)
    return qs


def daily_facts(scope: Scope, period: Period) -> QuerySet[DailyCaseFact]:
    cuts = scope.cuts
    qs = DailyCaseFact.objects.filter(
        shop_id__in=scope.shop_ids, day__gte=period.first, day__lte=period.last
    )
    if cuts.reason:
        qs = qs.filter(reason=cuts.reason)
    if cuts.type:
        qs = qs.filter(type=cuts.type)
    if cuts.agent is not None:
        qs = qs.filter(assignee_id=cuts.agent)
    return qs


def _use_facts(scope: Scope, facts: bool) -> bool:
    return facts and facts_apply(scope.cuts)


def in_period(qs: QuerySet[Any], lookup: str, period: Period) -> QuerySet[Any]:
    return qs.filter(**{f"{lookup}__gte": period.start, f"{lookup}__lt": period.end})


# --- Figures ----------------------------------------------------------------------------------


@dataclass
class Totals:
    """The counts behind the rates; the rates are None when their denominator is 0."""

    orders: int | None = 0
    paid_fen: int | None = 0
    cases: int = 0
    refunded_orders: int = 0
    refunded_fen: int = 0

    @property
    def after_sales_rate(self) -> float | None:
        return ratio(self.cases, self.orders)

    @property
    def refund_rate(self) -> float | None:
        return ratio(self.refunded_orders, self.orders)

    @property
    def refund_amount_rate(self) -> float | None:
        return ratio(self.refunded_fen, self.paid_fen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "paid_fen": self.paid_fen,
            "cases": self.cases,
            "refunded_orders": self.refunded_orders,
            "refunded_fen": self.refunded_fen,
            "after_sales_rate": self.after_sales_rate,
            "refund_rate": self.refund_rate,
            "refund_amount_rate": self.refund_amount_rate,
        }


@dataclass
class BreakdownRow(Totals):
    key: Any = None
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **super().as_dict()}


@dataclass
class DayRow(Totals):
    day: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat() if self.day else None, **super().as_dict()}


@dataclass(frozen=True)
class ReasonRow:
    code: str
    label: str
    responsible: str
    responsible_label: str
    cases: int
    share: float | None


@dataclass(frozen=True)
class TimeFigure:
    """Median and 90th percentile (nearest rank) of a duration over `count` cases."""

    key: str
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class SlaRow:
    kind: str
    label: str
    total: int
    met: int

    @property
    def rate(self) -> float | None:
        return ratio(self.met, self.total)


@dataclass
class Overview:
    period: Period
    scope: Scope
    totals: Totals
    previous: Totals | None
    days: list[DayRow]
    reasons: list[ReasonRow]
    responsible: list[ReasonRow]
    times: list[TimeFigure]
    sla: list[SlaRow]
    by: str = ""
    breakdown: list[BreakdownRow] = field(default_factory=list)


def _orders_and_paid(scope: Scope, period: Period, facts: bool = True) -> dict[str, Any]:
    """The orders paid in the period and the goods amount paid: from the daily order totals
    the order writes keep, or in one pass over the items (an order is counted through its
    items: every order has at least one)."""
    if facts and order_facts_apply(scope.cuts):
        return daily_order_totals(scope, period).aggregate(
            orders=Sum("orders"), paid=Sum("paid_fen")
        )
    return in_period(cut_order_items(scope), "order__paid_at", period).aggregate(
        orders=Count("order_id", distinct=True), paid=Sum("paid_amount_fen")
    )


def daily_refunds(scope: Scope, period: Period) -> QuerySet[DailyRefundFact]:
    return DailyRefundFact.objects.filter(
        shop_id__in=scope.shop_ids, day__gte=period.first, day__lte=period.last
    )


def _refunds(scope: Scope, period: Period, facts: bool) -> dict[str, Any]:
    """Refunded orders (each once however many of its cases were refunded in the period)
    and the goods amount refunded. From the refund rows per day when the scope is whole
    shops: an order counts through its first refund of the period, the one whose previous
    refund was before the period's first day (`models.DailyRefundFact`)."""
    if facts and day_facts_apply(scope.cuts):
        return daily_refunds(scope, period).aggregate(
            orders=Sum("cases", filter=Q(previous_day__lt=period.first)), fen=Sum("refunded_fen")
        )
    if _use_facts(scope, facts):
        return in_period(case_facts(scope), "refund_executed_at", period).aggregate(
            orders=Count("order_id", distinct=True), fen=Sum("refunded_fen")
        )
    return in_period(cut_refund_lines(scope), "decision__execution__executed_at", period).aggregate(
        orders=Count("decision__order_id", distinct=True), fen=Sum("amount_fen")
    )


def totals(scope: Scope, period: Period, *, facts: bool = True) -> Totals:
    """Orders, paid, cases and refunds of the period (see `definitions.FIGURES`)."""
    bought = _orders_and_paid(scope, period, facts)
    if _use_facts(scope, facts):
        cases = daily_facts(scope, period).aggregate(n=Sum("cases"))["n"] or 0
    else:
        cases = in_period(cut_cases(scope), "applied_at", period).count()
    refunds = _refunds(scope, period, facts)
    return Totals(
        orders=bought["orders"] or 0,
        paid_fen=bought["paid"] or 0,
        cases=cases,
        refunded_orders=refunds["orders"] or 0,
        refunded_fen=refunds["fen"] or 0,
    )


def totals_of_days(scope: Scope, period: Period, days: list[DayRow], *, facts: bool) -> Totals:
    """The period's totals from its days: orders, paid and cases add up day by day (each has
    one day); refunded orders do not (an order refunded on two days is one order), so they
    are counted for the whole period."""
    refunds = _refunds(scope, period, facts)
    return Totals(
        orders=sum(day.orders or 0 for day in days),
        paid_fen=sum(day.paid_fen or 0 for day in days),
        cases=sum(day.cases for day in days),
        refunded_orders=refunds["orders"] or 0,
        refunded_fen=refunds["fen"] or 0,
    )


def by_day(scope: Scope, period: Period, *, facts: bool = True) -> list[DayRow]:
    """The period's figures for each Shanghai day, every day present (zeros included)."""
    rows = {day: DayRow(day=day) for day in period.each_day()}

    def per_day(qs: QuerySet[Any], lookup: str, **aggregates: Any) -> Iterable[dict[str, Any]]:
        return (
            in_period(qs, lookup, period)
            .annotate(_day=TruncDate(lookup, tzinfo=SHANGHAI))
            .values("_day")
            .annotate(**aggregates)
        )

    if facts and order_facts_apply(scope.cuts):
        bought: Iterable[dict[str, Any]] = (
            {"_day": row["day"], "n": row["n"], "s": row["s"]}
            for row in daily_order_totals(scope, period)
            .values("day")
            .annotate(n=Sum("orders"), s=Sum("paid_fen"))
        )
    else:
        bought = per_day(
            cut_order_items(scope),
            "order__paid_at",
            n=Count("order_id", distinct=True),
            s=Sum("paid_amount_fen"),
        )
    for row in bought:
        rows[row["_day"]].orders = row["n"]
        rows[row["_day"]].paid_fen = row["s"] or 0
    if _use_facts(scope, facts):
        for day, n in (
            daily_facts(scope, period)
            .values("day")
            .annotate(n=Sum("cases"))
            .values_list("day", "n")
        ):
            rows[day].cases = n
        refunds: Iterable[dict[str, Any]]
        if day_facts_apply(scope.cuts):
            # An order refunded on a day counts once: through its first refund of the day.
            refunds = (
                {"_day": row["day"], "n": row["n"] or 0, "s": row["s"]}
                for row in daily_refunds(scope, period)
                .values("day")
                .annotate(
                    n=Sum("cases", filter=Q(previous_day__lt=F("day"))), s=Sum("refunded_fen")
                )
            )
        else:
            refunds = per_day(
                case_facts(scope),
                "refund_executed_at",
                n=Count("order_id", distinct=True),
                s=Sum("refunded_fen"),
            )
    else:
        for row in per_day(cut_cases(scope), "applied_at", n=Count("pk")):
            rows[row["_day"]].cases = row["n"]
        refunds = per_day(
            cut_refund_lines(scope),
            "decision__execution__executed_at",
            n=Count("decision__order_id", distinct=True),
            s=Sum("amount_fen"),
        )
    for row in refunds:
        rows[row["_day"]].refunded_orders = row["n"]
        rows[row["_day"]].refunded_fen = row["s"] or 0
    return list(rows.values())


def reasons(
    scope: Scope, period: Period, *, facts: bool = True
) -> tuple[list[ReasonRow], list[ReasonRow]]:
    """Cases of the period by the buyer's reason, and by who is responsible for the reason."""
    if _use_facts(scope, facts):
        grouped = daily_facts(scope, period).values("reason").annotate(n=Sum("cases"))
    else:
        grouped = (
            in_period(cut_cases(scope), "applied_at", period)
            .values("reason")
            .annotate(n=Count("pk"))
        )
    counts = {reason: n for reason, n in grouped.values_list("reason", "n") if n}
    total = sum(counts.values())
    rows = [
        ReasonRow(
            code=code,
            label=str(REASONS[code].label) if code in REASONS else code,
            responsible=str(REASONS[code].responsible) if code in REASONS else "",
            responsible_label=(
                str(ResponsibleParty(REASONS[code].responsible).label) if code in REASONS else ""
            ),
            cases=n,
            share=ratio(n, total),
        )
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    by_party: dict[str, int] = {}
    for row in rows:
        by_party[row.responsible] = by_party.get(row.responsible, 0) + row.cases
    parties = [
        ReasonRow(
            code=party,
            label=str(ResponsibleParty(party).label) if party else "",
            responsible=party,
            responsible_label=str(ResponsibleParty(party).label) if party else "",
            cases=by_party.get(party, 0),
            share=ratio(by_party.get(party, 0), total),
        )
        for party in ResponsibleParty.values
    ]
    return rows, parties


class PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the first value whose cumulative share reaches p, which
    is the value at rank ⌈p·n⌉ — the nearest rank, in one pass."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(percent)s) WITHIN GROUP (ORDER BY %(expressions)s)"


def nearest_rank(
    qs: QuerySet[Any], value: str, percents: Iterable[int] = PERCENTS
) -> tuple[int, dict[int, Any]]:
    """(n, {p: the value at rank ⌈p·n/100⌉ of the sorted values}), in the database."""
    percents = list(percents)
    if connection.vendor == "postgresql":
        field = qs.query.annotations[value].output_field if value in qs.query.annotations else None
        aggregates: dict[str, Any] = {"n": Count("pk")}
        for p in percents:
            aggregates[f"p{p}"] = PercentileDisc(
                F(value), percent=f"{p / 100:.2f}", output_field=field
            )
        row = qs.order_by().aggregate(**aggregates)
        n = row["n"]
        return n, ({p: row[f"p{p}"] for p in percents} if n else {})
    n = qs.count()
    picked: dict[int, Any] = {}
    if n:
        ordered = qs.order_by(F(value).asc(), "pk").values_list(value, flat=True)
        for p in percents:
            picked[p] = ordered[math.ceil(p * n / 100) - 1]
    return n, picked


def first_events(scope: Scope, period: Period, types: Iterable[str]) -> QuerySet[AuditEvent]:
    """Each case's first event of these types, if it happened in the period, with `elapsed`
    since the buyer's application. By anyone: a policy's automatic answer is an answer."""
    types = list(types)
    earlier = AuditEvent.objects.filter(
        case_id=OuterRef("case_id"), type__in=types, seq__lt=OuterRef("seq")
    )
    return (
        in_period(
            AuditEvent.objects.filter(
                shop_id__in=scope.shop_ids, case__in=cut_cases(scope), type__in=types
            ),
            "created_at",
            period,
        )
        .filter(~Exists(earlier))
        .annotate(
            elapsed=ExpressionWrapper(
                F("created_at") - F("case__applied_at"), output_field=DurationField()
            )
        )
    )


def refund_times(scope: Scope, period: Period) -> QuerySet[RefundExecution]:
    return in_period(
        RefundExecution.objects.filter(
            shop_id__in=scope.shop_ids,
            status=ExecutionStatus.SUCCEEDED,
            decision__case__in=cut_cases(scope),
        ),
        "executed_at",
        period,
    ).annotate(
        elapsed=ExpressionWrapper(
            F("executed_at") - F("decision__case__applied_at"), output_field=DurationField()
        )
    )


def fact_times(scope: Scope, period: Period, moment: str) -> QuerySet[CaseFact]:
    """The cases whose `moment` (first response, decision, refund) fell in the period, with
    `elapsed` since the application: the same cases and times as the audit trail's."""
    return in_period(case_facts(scope), moment, period).annotate(
        elapsed=ExpressionWrapper(F(moment) - F("applied_at"), output_field=DurationField())
    )


def nearest_rank_of(p: int, n: int) -> int:
    """The rank `nearest_rank` picks for p of n values, computed as the database does:
    PostgreSQL's percentile_disc takes ⌈p·n⌉ in double precision (0.9 × 70 is 63.000…01,
    so rank 64), the other databases the exact ⌈p·n/100⌉."""
    if connection.vendor == "postgresql":
        return max(1, math.ceil(float(f"{p / 100:.2f}") * n))
    return max(1, math.ceil(p * n / 100))


def histogram_times(scope: Scope, period: Period) -> list[TimeFigure]:
    """The three times from the daily histogram: the buckets' counts over the period's days
    say which bucket holds the value at each rank and its rank inside it; one indexed query
    per figure then reads that exact value among the bucket's cases of the period. The same
    figures as sorting every case of the period (`fact_times`), without the sort."""
    counts: dict[str, dict[int, int]] = {metric: {} for metric in TIME_METRICS}
    for metric, bucket, n in (
        DailyTimeBucket.objects.filter(
            shop_id__in=scope.shop_ids, day__gte=period.first, day__lte=period.last
        )
        .values("metric", "bucket")
        .annotate(n=Sum("cases"))
        .values_list("metric", "bucket", "n")
    ):
        if n:
            counts[metric][bucket] = n
    figures = []
    for metric, (moment_field, bucket_field) in TIME_METRICS.items():
        buckets = sorted(counts[metric].items())
        total = sum(n for _bucket, n in buckets)
        picked: dict[int, Any] = {}
        for p in PERCENTS if total else ():
            rank = nearest_rank_of(p, total)
            below = 0
            for bucket, n in buckets:
                if below + n >= rank:
                    picked[p] = (
                        in_period(
                            case_facts(scope).filter(**{bucket_field: bucket}), moment_field, period
                        )
                        .annotate(
                            elapsed=ExpressionWrapper(
                                F(moment_field) - F("applied_at"), output_field=DurationField()
                            )
                        )
                        .order_by("elapsed", "pk")
                        .values_list("elapsed", flat=True)[rank - below - 1]
                    )
                    break
                below += n
        figures.append(
            TimeFigure(key=metric, count=total, median=picked.get(50), p90=picked.get(90))
        )
    return figures


def day_facts_apply(cuts: Cuts) -> bool:
    """The time histogram, the refund rows and the clock outcomes are kept per shop and day:
    a cut by the case's reason, type or agent reads that cut's case facts instead (a
    fraction of the shop's), any other cut the raw rows."""
    return facts_apply(cuts) and not (cuts.reason or cuts.type or cuts.agent is not None)


def times(scope: Scope, period: Period, *, facts: bool = True) -> list[TimeFigure]:
    if facts and day_facts_apply(scope.cuts):
        return histogram_times(scope, period)
    if _use_facts(scope, facts):
        sources: list[tuple[str, QuerySet[Any]]] = [
            ("first_response", fact_times(scope, period, "first_response_at")),
            ("decision", fact_times(scope, period, "decided_at")),
            ("refund", fact_times(scope, period, "refund_executed_at")),
        ]
    else:
        sources = [
            ("first_response", first_events(scope, period, MERCHANT_RESPONSES)),
            ("decision", first_events(scope, period, DECISIONS)),
            ("refund", refund_times(scope, period)),
        ]
    figures = []
    for key, qs in sources:
        n, picked = nearest_rank(qs, "elapsed")
        figures.append(TimeFigure(key=key, count=n, median=picked.get(50), p90=picked.get(90)))
    return figures


def sla_compliance(
    scope: Scope, period: Period, now: datetime | None = None, *, facts: bool = True
) -> list[SlaRow]:
    """Per merchant clock, the clocks whose outcome fell in the period, and how many were met.

    A clock is met when it stopped with no breach recorded and not after its due time (a
    clock stopped while paused had its time frozen: met). A clock still running or paused
    whose due time passed in the period is missed: the worst cases are not left out because
    nobody has finished them.

    The stopped clocks of whole shops are read from the days' outcomes the clock stops keep
    (`sla.outcomes`); a cut, or `facts=False`, counts them from the clocks.
    """
    now = now or timezone.now()
    clocks = SlaClock.objects.filter(shop_id__in=scope.shop_ids, kind__in=MERCHANT_CLOCKS)
    cut = bool(scope.cuts.as_params().keys() - {"shop"})
    if cut:
        clocks = clocks.filter(case__in=cut_cases(scope))
    if facts and not cut:
        stopped = dict(
            (kind, (total, ok))
            for kind, total, ok in DailyClockOutcome.objects.filter(
                shop_id__in=scope.shop_ids,
                kind__in=MERCHANT_CLOCKS,
                day__gte=period.first,
                day__lte=period.last,
            )
            .values("kind")
            .annotate(total=Sum("clocks"), ok=Sum("met"))
            .values_list("kind", "total", "ok")
        )
    else:
        stopped = dict(
            (kind, (total, ok))
            for kind, total, ok in in_period(
                clocks.filter(state=ClockState.STOPPED), "stopped_at", period
            )
            .values("kind")
            .annotate(total=Count("pk"), ok=Count("pk", filter=MET))
            .values_list("kind", "total", "ok")
        )
    overdue = dict(
        clocks.exclude(state=ClockState.STOPPED)
        .filter(due_at__gte=period.start, due_at__lt=min(period.end, now))
        .values("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    rows = []
    for kind in MERCHANT_CLOCKS:
        total, ok = stopped.get(kind, (0, 0))
        rows.append(
            SlaRow(
                kind=kind,
                label=str(ClockKind(kind).label),
                total=total + overdue.get(kind, 0),
                met=ok,
            )
        )
    return rows


def breakdown(scope: Scope, period: Period, dimension: str) -> list[BreakdownRow]:
    """The period's figures for each value of the dimension, most cases first."""
    dim = DIMENSIONS[dimension]
    rows: dict[Any, BreakdownRow] = {}

    def row(key: Any) -> BreakdownRow:
        if key not in rows:
            rows[key] = BreakdownRow(
                key=key,
                orders=0 if dim.order_item else None,
                paid_fen=0 if dim.order_item else None,
            )
        return rows[key]

    def grouped(qs: QuerySet[Any], lookup: str, order_ref: str) -> QuerySet[Any]:
        if lookup == CARRIER:
            qs = qs.annotate(carrier=_carrier_of(order_ref))
        return qs.values(lookup)

    if dim.order_item:
        items = in_period(cut_order_items(scope), "order__paid_at", period)
        for r in grouped(items, dim.order_item, "order_id").annotate(
            orders=Count("order_id", distinct=True), paid=Sum("paid_amount_fen")
        ):
            target = row(r[dim.order_item])
            target.orders, target.paid_fen = r["orders"], r["paid"] or 0
    case_items = CaseItem.objects.filter(
        case__in=in_period(cut_cases(scope), "applied_at", period),
        **_item_lookups(scope.cuts, "order_item__"),
    )
    for r in grouped(case_items, dim.case_item, "case__order_id").annotate(
        n=Count("case_id", distinct=True)
    ):
        row(r[dim.case_item]).cases = r["n"]
    lines = in_period(cut_refund_lines(scope), "decision__execution__executed_at", period)
    for r in grouped(lines, dim.refund_line, "decision__order_id").annotate(
        orders=Count("decision__order_id", distinct=True), fen=Sum("amount_fen")
    ):
        target = row(r[dim.refund_line])
        target.refunded_orders, target.refunded_fen = r["orders"], r["fen"] or 0
    if not dim.order_item:
        # Orders have no reason, type or agent: each row's rates are per order of the scope.
        whole = totals(scope, period)  # (also reason/type/agent: orders have none)
        for target in rows.values():
            target.orders, target.paid_fen = whole.orders, whole.paid_fen
    labels = dimension_labels(dimension, [k for k in rows if k is not None], scope)
    for key, target in rows.items():
        target.label = labels.get(key, "—" if key is None else str(key))
    return sorted(rows.values(), key=lambda r: (-r.cases, -(r.orders or 0), r.label, str(r.key)))


def dimension_labels(dimension: str, keys: list[Any], scope: Scope) -> dict[Any, str]:
    """Words for the values of a dimension, looked up only in the scope's shops."""
    shops = scope.shop_ids
    if dimension == "shop":
        return dict(
            Shop.objects.filter(pk__in=[k for k in keys if k in shops]).values_list("pk", "name")
        )
    if dimension == "category":
        return {k: str(Category(k).label) for k in keys if k in Category.values}
    if dimension == "product":
        return dict(
            Product.objects.filter(shop_id__in=shops, pk__in=keys).values_list("pk", "name")
        )
    if dimension == "sku":
        return {
            sku.pk: str(sku)
            for sku in Sku.objects.filter(shop_id__in=shops, pk__in=keys).select_related("product")
        }
    if dimension == "reason":
        return {k: str(REASONS[k].label) for k in keys if k in REASONS}
    if dimension == "type":
        return {k: str(CaseType(k).label) for k in keys if k in CaseType.values}
    if dimension == "channel":
        return {k: str(OrderChannel(k).label) if k in OrderChannel.values else "—" for k in keys}
    if dimension == "live_room":
        names = dict(
            Order.objects.filter(shop_id__in=shops, live_room_id__in=[k for k in keys if k])
            .exclude(live_author="")
            .values_list("live_room_id", "live_author")
        )
        return {k: (f"{names[k]} ({k})" if k in names else k) if k else "—" for k in keys}
    if dimension == "agent":
        users = get_user_model().objects.filter(pk__in=keys, memberships__shop_id__in=shops)
        return {user.pk: user.get_username() for user in users.distinct()}
    return {k: str(k) for k in keys}


def overview(
    scope: Scope,
    period: Period,
    *,
    compare: bool = True,
    by: str = "",
    now: datetime | None = None,
    facts: bool = True,
) -> Overview:
    """Every figure of the overview for the scope and period (and the period before).

    With `facts` (the default) what the facts carry is read from them; `facts=False` counts
    everything from the raw rows (the tests compare the two)."""
    reason_rows, parties = reasons(scope, period, facts=facts)
    days = by_day(scope, period, facts=facts)
    return Overview(
        period=period,
        scope=scope,
        totals=totals_of_days(scope, period, days, facts=facts),
        previous=totals(scope, period.previous(), facts=facts) if compare else None,
        days=days,
        reasons=reason_rows,
        responsible=parties,
        times=times(scope, period, facts=facts),
        sla=sla_compliance(scope, period, now=now, facts=facts),
        by=by,
        breakdown=breakdown(scope, period, by) if by else [],
    )
