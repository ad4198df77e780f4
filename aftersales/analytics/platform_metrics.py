"""The platform's own after-sales service metrics, counted by the platform's rules (issue #10).

The shop is judged by Douyin's experience score (体验分). Its after-sales metrics are mirrored
here as **versioned definitions with effective dates**: the platform changed them on
2026-07-14 (rule 103956 of the merchant school's experience-score rules), and a
figure is always computed by the definition in force on its days. A period that spans a
change is split at the change.

- review, until 2026-07-13: 售后处理时长达成率, the share of the merchant's review clocks met
  (the time waiting for the buyer excluded: the clock pauses);
- review, from 2026-07-14: 售后平均审核时长, the average time from application to the first
  approval or rejection; a request made 23:00–08:00 (Shanghai) counts from 08:00;
- help_rate: 平台求助率, cases applied for in which the platform was asked to intervene ÷
  cases applied for;
- merchant_fault_disputes: 纠纷商责率, disputes the platform ruled for the buyer (the merchant
  responsible) ÷ orders paid;
- quality_returns: 品退率, orders refunded for a quality reason (quality, does not work, not
  as described, expired) ÷ orders paid.

What the platform publishes for the last three before 2026-07-14 is not known to us [U]; the
same counting is used throughout and said so on screen. Each figure comes with the cases
and the agents that move it most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import DisputeStatus, ExecutionStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, RefundExecution
from aftersales.sla.models import ClockKind
from aftersales.workdays.calendar import SHANGHAI

from .overview import (
    DECISIONS,
    cut_cases,
    cut_orders,
    first_events,
    in_period,
    ratio,
    sla_compliance,
)
from .periods import Period
from .scope import Scope

CHANGE = date(2026, 7, 14)
QUALITY_REASONS = frozenset({"quality_issue", "functional_fault", "not_as_described", "expired"})
NIGHT_STARTS, DAY_STARTS = time(23), time(8)
TOP = 10
HOURS = "hours"
RATE = "rate"


def review_clock_start(applied_at: datetime) -> datetime:
    """When the platform starts counting a review: a request made 23:00–08:00 (Shanghai)
    counts from the following 08:00."""
    local = applied_at.astimezone(SHANGHAI)
    if local.time() >= NIGHT_STARTS:
        return datetime.combine(local.date() + timedelta(days=1), DAY_STARTS, tzinfo=SHANGHAI)
    if local.time() < DAY_STARTS:
        return datetime.combine(local.date(), DAY_STARTS, tzinfo=SHANGHAI)
    return applied_at


@dataclass
class Mover:
    """A case or an agent and how much it moves the figure (in the figure's unit)."""

    key: Any
    label: str
    count: int
    effect: float


@dataclass
class MetricValue:
    value: float | None
    numerator: float
    denominator: int
    unit: str
    cases: list[Mover] = field(default_factory=list)
    agents: list[Mover] = field(default_factory=list)


@dataclass(frozen=True)
class MetricVersion:
    metric: str
    name: str  # the platform's own name
    label: Promise
    definition: Promise
    effective_from: date
    effective_to: date | None  # inclusive; None: still in force
    unit: str
    compute: Callable[[Scope, Period], MetricValue]


def _agents(rows: list[tuple[int | None, str, float]]) -> list[Mover]:
    """Sum each agent's effect; rows are (assignee id, name, effect of one case)."""
    totals: dict[int | None, list[Any]] = {}
    for user_id, name, effect in rows:
        entry = totals.setdefault(user_id, [name, 0, 0.0])
        entry[1] += 1
        entry[2] += effect
    movers = [
        Mover(key=user_id, label=name or "—", count=count, effect=effect)
        for user_id, (name, count, effect) in totals.items()
    ]
    return sorted(movers, key=lambda m: -abs(m.effect))[:TOP]


def _case_label(case: Case) -> str:
    return f"#{case.pk}"


def average_review_time(scope: Scope, period: Period) -> MetricValue:
    decisions = list(
        first_events(scope, period, DECISIONS).select_related("case", "case__assignee")
    )
    hours: list[tuple[Case, float]] = []
    for event in decisions:
        case = event.case
        assert case is not None  # first_events reads case events only
        start = review_clock_start(case.applied_at)
        hours.append((case, max(0.0, (event.created_at - start).total_seconds() / 3600)))
    n = len(hours)
    if not n:
        return MetricValue(None, 0, 0, HOURS)
    mean = sum(h for _, h in hours) / n
    # A case moves the average by its excess over the mean, divided by the number of cases.
    slowest = sorted(hours, key=lambda item: -item[1])[:TOP]
    return MetricValue(
        value=mean,
        numerator=sum(h for _, h in hours),
        denominator=n,
        unit=HOURS,
        cases=[Mover(key=c.pk, label=_case_label(c), count=1, effect=h) for c, h in slowest],
        agents=_agents(
            [
                (c.assignee_id, c.assignee.get_username() if c.assignee else "", (h - mean) / n)
                for c, h in hours
            ]
        ),
    )


def review_time_achievement(scope: Scope, period: Period) -> MetricValue:
    row = next(r for r in sla_compliance(scope, period) if r.kind == ClockKind.REVIEW)
    return MetricValue(value=row.rate, numerator=row.met, denominator=row.total, unit=RATE)


def _share_of_cases(cases: Any, *, denominator: int) -> tuple[list[Mover], list[Mover]]:
    """The first cases that make up a share, and each agent's part of it (in the share's
    unit: one case is 1 / denominator)."""
    first = cases.order_by("applied_at", "pk")[:TOP]
    movers = [Mover(key=c.pk, label=_case_label(c), count=1, effect=1 / denominator) for c in first]
    counts = dict(
        cases.order_by()
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[k for k in counts if k is not None])
        .values_list("pk", "username")
    )
    agents = [
        Mover(key=uid, label=names.get(uid, "—"), count=n, effect=n / denominator)
        for uid, n in counts.items()
    ]
    return movers, sorted(agents, key=lambda m: -m.effect)[:TOP]


def intervened() -> Q:
    asked = AuditEvent.objects.filter(
        case_id=OuterRef("pk"),
        type=CaseEvent.DISPUTE_STATUS_CHANGED,
        after__dispute_status=DisputeStatus.PLATFORM_INTERVENING,
    )
    return Q(Exists(asked)) | Q(
        dispute_status__in=[
            DisputeStatus.PLATFORM_INTERVENING,
            DisputeStatus.RULED_FOR_BUYER,
            DisputeStatus.RULED_FOR_MERCHANT,
        ]
    )


def help_rate(scope: Scope, period: Period) -> MetricValue:
    applied = in_period(cut_cases(scope), "applied_at", period)
    total = applied.count()
    helped = applied.filter(intervened())
    k = helped.count()
    cases, agents = _share_of_cases(helped, denominator=total or 1)
    return MetricValue(ratio(k, total), k, total, RATE, cases, agents)


def merchant_fault_disputes(scope: Scope, period: Period) -> MetricValue:
    orders = in_period(cut_orders(scope), "paid_at", period).count()
    ruled = in_period(
        AuditEvent.objects.filter(
            shop_id__in=scope.shop_ids,
            case__in=cut_cases(scope),
            type=CaseEvent.DISPUTE_STATUS_CHANGED,
            after__dispute_status=DisputeStatus.RULED_FOR_BUYER,
        ),
        "created_at",
        period,
    ).values("case_id")
    disputes = Case.objects.filter(pk__in=ruled)
    k = disputes.count()
    cases, agents = _share_of_cases(disputes, denominator=orders or 1)
    return MetricValue(ratio(k, orders), k, orders, RATE, cases, agents)


def quality_returns(scope: Scope, period: Period) -> MetricValue:
    orders = in_period(cut_orders(scope), "paid_at", period).count()
    refunded = in_period(
        RefundExecution.objects.filter(
            shop_id__in=scope.shop_ids,
            status=ExecutionStatus.SUCCEEDED,
            decision__case__in=cut_cases(scope).filter(reason__in=QUALITY_REASONS),
        ),
        "executed_at",
        period,
    )
    cases_qs = Case.objects.filter(pk__in=refunded.values("decision__case_id"))
    k = refunded.values("decision__order_id").distinct().count()
    cases, agents = _share_of_cases(cases_qs, denominator=orders or 1)
    return MetricValue(ratio(k, orders), k, orders, RATE, cases, agents)


VERSIONS: list[MetricVersion] = [
    MetricVersion(
        "review",
        "售后处理时长达成率",
        _("After-sales processing time achievement rate"),
        _(
            "Share of the merchant's review clocks met, of those whose outcome fell in the "
            "period; time waiting for the buyer is excluded (the clock pauses)."
        ),
        date(2025, 1, 1),
        CHANGE - timedelta(days=1),
        RATE,
        review_time_achievement,
    ),
    MetricVersion(
        "review",
        "售后平均审核时长",
        _("Average after-sales review time"),
        _(
            "Average time from the buyer's application to the first approval or rejection, "
            "of the cases reviewed in the period; a request made 23:00–08:00 (Shanghai) "
            "counts from 08:00."
        ),
        CHANGE,
        None,
        HOURS,
        average_review_time,
    ),
    MetricVersion(
        "help_rate",
        "平台求助率",
        _("Platform help rate"),
        _(
            "Cases applied for in the period in which the platform was asked to intervene ÷ "
            "cases applied for in the period."
        ),
        date(2025, 1, 1),
        None,
        RATE,
        help_rate,
    ),
    MetricVersion(
        "merchant_fault_disputes",
        "纠纷商责率",
        _("Merchant-fault dispute rate"),
        _(
            "Disputes the platform ruled for the buyer in the period (the merchant "
            "responsible) ÷ orders paid in the period."
        ),
        date(2025, 1, 1),
        None,
        RATE,
        merchant_fault_disputes,
    ),
    MetricVersion(
        "quality_returns",
        "品退率",
        _("Quality return rate"),
        _(
            "Orders refunded in the period for a quality reason (quality problem, does not "
            "work, not as described, expired) ÷ orders paid in the period."
        ),
        date(2025, 1, 1),
        None,
        RATE,
        quality_returns,
    ),
]
METRICS = list(dict.fromkeys(v.metric for v in VERSIONS))


def versions_of(metric: str) -> list[MetricVersion]:
    return [v for v in VERSIONS if v.metric == metric]


def split_by_version(metric: str, period: Period) -> list[tuple[MetricVersion, Period]]:
    """The parts of the period and the version in force on each."""
    parts = []
    for version in versions_of(metric):
        first = max(period.first, version.effective_from)
        last = min(period.last, version.effective_to or period.last)
        if first <= last:
            parts.append((version, Period(first, last)))
    return parts


def weeks(period: Period) -> list[Period]:
    """Monday-to-Sunday weeks (Shanghai days) covering the period, cut to it."""
    result = []
    first = period.first
    while first <= period.last:
        last = min(period.last, first + timedelta(days=6 - first.weekday()))
        result.append(Period(first, last))
        first = last + timedelta(days=1)
    return result


@dataclass
class MetricReport:
    metric: str
    parts: list[tuple[MetricVersion, Period, MetricValue]]
    trend: list[tuple[MetricVersion, Period, MetricValue]]


def platform_metrics(scope: Scope, period: Period) -> list[MetricReport]:
    """Each metric over the period (by the version in force on each part) and by week."""
    reports = []
    for metric in METRICS:
        parts = [(v, p, v.compute(scope, p)) for v, p in split_by_version(metric, period)]
        trend = [
            (v, p, v.compute(scope, p))
            for week in weeks(period)
            for v, p in split_by_version(metric, week)
        ]
        reports.append(MetricReport(metric=metric, parts=parts, trend=trend))
    return reports
