"""Per-agent numbers for supervisors (R9.3), from aggregate queries in the database.

For one shop and a period [start, end):

- **handled**: cases assigned to the person whose `resolved_at` falls in the period
  (completed or closed) and that a person worked on: some event on the case's audit trail
  was made by a person (not the policy, the platform or a task), beyond assigning it,
  reading the buyer's data or a note. The assignee at resolution gets the credit. A case the
  policy refunded by itself (R3.1) is nobody's work: it is counted apart, per shop
  (`resolved_without_a_person`), and neither its resolution time nor its clocks count for
  the person it was assigned to.
- **first response**: for each case, its first merchant response on the audit trail
  (`sla.rules.MERCHANT_RESPONSES`: approve, reject, ask for evidence, technical support,
  a message to the buyer), from the buyer's `applied_at`. It counts for the person who
  made it, if it happened in the period. A case's first response is a property of the
  case: a colleague answering later does not get a second, longer "first" response.
  Responses by the policy or an integration's key have no person and count for nobody.
- **resolution time**: `applied_at` → `resolved_at` of the handled cases.
- Both times as median and 90th percentile, by the nearest-rank method (the value at rank
  ⌈p·n⌉ of the sorted values), computed with window functions on both SQLite and
  PostgreSQL — never by pulling every case into Python.
- **SLA hit rate**: of the merchant clocks (not the buyer's own return deadline) of cases
  assigned to the person and worked on by a person that stopped in the period, the share
  that stopped in time: no
  `breached_at`, and not stopped after `due_at` while running (a breach the sweep had not
  yet marked still counts as missed; a clock stopped while paused had its time frozen).
- **open**: open cases (status not completed or closed) assigned to the person now.

CSAT (R9.3) waits for the satisfaction surveys of R8.6, which do not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.shops.choices import WRITE_ROLES
from aftersales.shops.models import Membership, Shop
from aftersales.sla.models import ClockState, SlaClock
from aftersales.sla.rules import MERCHANT_RESPONSES

PERCENTS = (50, 90)


@dataclass
class AgentNumbers:
    """One person's numbers for a period. Times are None when there is nothing to measure."""

    user_id: int
    username: str
    role: str
    name: str = ""  # the display name, else the username
    handled: int = 0
    first_response: dict[int, timedelta | None] = field(default_factory=dict)
    first_response_count: int = 0
    resolution: dict[int, timedelta | None] = field(default_factory=dict)
    sla_total: int = 0
    sla_met: int = 0
    open_cases: int = 0

    @property
    def first_response_median(self) -> timedelta | None:
        return self.first_response.get(50)

    @property
    def first_response_p90(self) -> timedelta | None:
        return self.first_response.get(90)

    @property
    def resolution_median(self) -> timedelta | None:
        return self.resolution.get(50)

    @property
    def resolution_p90(self) -> timedelta | None:
        return self.resolution.get(90)

    @property
    def sla_hit_rate(self) -> float | None:
        """Share of clocks met, 0..1; None when no clock stopped in the period."""
        return self.sla_met / self.sla_total if self.sla_total else None


def percentiles(
    rows: QuerySet[Any], *, group: str, value: str, percents: Iterable[int] = PERCENTS
) -> dict[int, dict[int, Any]]:
    """{group value: {p: value at rank ⌈p·n/100⌉}} for each group, one query per percent.

    `rows` must already carry `value` (an annotation or column); ranking is done in the
    database with ROW_NUMBER() and COUNT() OVER (PARTITION BY group).
    """
    ranked = rows.annotate(
        _rank=Window(RowNumber(), partition_by=[F(group)], order_by=[F(value).asc(), F("pk")]),
        _n=Window(Count("pk"), partition_by=[F(group)]),
    )
    result: dict[int, dict[int, Any]] = {}
    for p in percents:
        # ⌈p·n/100⌉ in integer arithmetic, the same on both databases.
        target = ExpressionWrapper((F("_n") * p + 99) / 100, output_field=IntegerField())
        picked = ranked.annotate(_target=target).filter(_rank=F("_target"))
        for key, picked_value in picked.values_list(group, value):
            result.setdefault(key, {})[p] = picked_value
    return result


# Events by a person that are not working the case: who gets it, reading it, a note.
NOT_HANDLING = frozenset({CaseEvent.CASE_ASSIGNED, CaseEvent.PII_REVEALED, CaseEvent.NOTE_ADDED})


def worked_by_a_person(case_ref: str = "pk") -> Exists:
    """True for a case some person worked on (see the module's "handled")."""
    return Exists(
        AuditEvent.objects.filter(case_id=OuterRef(case_ref), actor_user__isnull=False).exclude(
            type__in=NOT_HANDLING
        )
    )


def first_responses(shop: Shop, start: datetime, end: datetime) -> QuerySet[AuditEvent]:
    """Each case's first merchant response, made by a person within the period, with
    `response_time` from the buyer's application."""
    earlier = AuditEvent.objects.filter(
        case_id=OuterRef("case_id"), type__in=MERCHANT_RESPONSES, seq__lt=OuterRef("seq")
    )
    return (
        AuditEvent.objects.filter(
            shop=shop,
            case__isnull=False,
            type__in=MERCHANT_RESPONSES,
            actor_user__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .filter(~Exists(earlier))
        .annotate(
            response_time=ExpressionWrapper(
                F("created_at") - F("case__applied_at"), output_field=DurationField()
            )
        )
    )


def resolved_cases(shop: Shop, start: datetime, end: datetime) -> QuerySet[Case]:
    """Cases resolved in the period that had an assignee and that a person worked on, with
    `resolution_time`."""
    return (
        Case.objects.filter(
            shop=shop, assignee__isnull=False, resolved_at__gte=start, resolved_at__lt=end
        )
        .filter(worked_by_a_person())
        .annotate(
            resolution_time=ExpressionWrapper(
                F("resolved_at") - F("applied_at"), output_field=DurationField()
            )
        )
    )


def resolved_without_a_person(shop: Shop, start: datetime, end: datetime) -> int:
    """Cases resolved in the period that no person worked on: the policy's automatic
    refunds, and what the platform finished by itself."""
    return (
        Case.objects.filter(shop=shop, resolved_at__gte=start, resolved_at__lt=end)
        .filter(~worked_by_a_person())
        .count()
    )


def sla_counts(shop: Shop, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """{assignee id: (clocks stopped in the period, of which met)}."""
    met = Q(breached_at__isnull=True) & (
        Q(paused_at__isnull=False) | Q(stopped_at__lte=F("due_at"))
    )
    rows = (
        SlaClock.objects.filter(
            shop=shop,
            is_buyer_clock=False,
            state=ClockState.STOPPED,
            stopped_at__gte=start,
            stopped_at__lt=end,
            case__assignee__isnull=False,
        )
        .filter(worked_by_a_person("case_id"))
        .values("case__assignee_id")
        .annotate(total=Count("pk"), met=Count("pk", filter=met))
        .values_list("case__assignee_id", "total", "met")
    )
    return {user_id: (total, met_count) for user_id, total, met_count in rows}


def agent_numbers(*, shop: Shop, start: datetime, end: datetime) -> list[AgentNumbers]:
    """The numbers of every member of the shop who may work cases, by username."""
    members = (
        Membership.objects.filter(shop=shop, role__in=WRITE_ROLES)
        .select_related("user")
        .order_by("user__username")
    )
    numbers = {
        m.user_id: AgentNumbers(
            user_id=m.user_id,
            username=m.user.get_username(),
            role=m.role,
            name=m.user.get_full_name() or m.user.get_username(),
        )
        for m in members
    }

    resolved = resolved_cases(shop, start, end)
    for user_id, handled in (
        resolved.values("assignee_id").annotate(n=Count("pk")).values_list("assignee_id", "n")
    ):
        if user_id in numbers:
            numbers[user_id].handled = handled
    for user_id, values in percentiles(
        resolved, group="assignee_id", value="resolution_time"
    ).items():
        if user_id in numbers:
            numbers[user_id].resolution = values

    responses = first_responses(shop, start, end)
    for user_id, count in (
        responses.values("actor_user_id").annotate(n=Count("pk")).values_list("actor_user_id", "n")
    ):
        if user_id in numbers:
            numbers[user_id].first_response_count = count
    for user_id, values in percentiles(
        responses, group="actor_user_id", value="response_time"
    ).items():
        if user_id in numbers:
            numbers[user_id].first_response = values

    for user_id, (total, met) in sla_counts(shop, start, end).items():
        if user_id in numbers:
            numbers[user_id].sla_total, numbers[user_id].sla_met = total, met

    open_rows = (
        Case.objects.filter(shop=shop, assignee_id__in=list(numbers))
        .exclude(status__in=TERMINAL_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    for user_id, count in open_rows:
        numbers[user_id].open_cases = count
    return list(numbers.values())
