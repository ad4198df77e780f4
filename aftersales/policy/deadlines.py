"""How long each clock of a case runs under a policy, and when it is due (R2.1–R2.5, R2.8).

The one source of deadlines. The SLA app starts its clocks with `due_at`; the engine reports
the same deadlines in every decision (`case_deadlines`). Both work from facts, not from a
saved case, so a what-if check gets the same answer as the clock a real case would run.

Clock names are the SLA app's `ClockKind` values (`sla/tests/test_clock_rules.py` checks that
they agree, and that the clocks listed here for each case type are the ones it runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from aftersales.cases.choices import REFUND_TYPES, RETURNING_TYPES, CaseType
from aftersales.workdays.calendar import WorkCalendar, get_calendar

from .document import Policy

FIRST_RESPONSE = "first_response"
PLAN = "plan"
REVIEW = "review"
RETURN_SHIPMENT = "return_shipment"
INSPECTION = "inspection"
FINAL_REVIEW = "final_review"
REFUND = "refund"
REPLACEMENT_SHIPMENT = "replacement_shipment"

# The buyer's own clock: never shortened for a VIP buyer (R2.8).
BUYER_CLOCKS = frozenset({RETURN_SHIPMENT})
# Inspected as soon as they arrive (R2.5, R7.1).
FOOD_CATEGORIES = frozenset({"food", "fresh"})

# The policy setting that gives each plain hour-based clock its limit.
HOURS_SETTING: dict[str, str] = {
    FIRST_RESPONSE: "first_response_hours",
    PLAN: "plan_hours",
    FINAL_REVIEW: "final_review_hours",
    REFUND: "refund_hours",
    REPLACEMENT_SHIPMENT: "replacement_shipment_hours",
}

# What a clock counts from.
APPLICATION = "application"
APPROVAL = "approval"
RECEIPT = "receipt"
INSPECTED = "inspection"
FINAL_APPROVAL = "final_approval"


class DeadlineFacts(Protocol):
    """What a case's time limits depend on. The engine passes `ClockFacts`; the SLA app reads
    them from a stored case, each only when a clock needs it."""

    @property
    def vip(self) -> bool: ...  # the buyer's VIP level is above 0

    @property
    def is_complex(self) -> bool: ...  # the policy's complexity class (R2.3)

    @property
    def categories(self) -> frozenset[str]: ...  # of the case's items


class ClockFacts(NamedTuple):
    vip: bool
    is_complex: bool
    categories: frozenset[str]


class Limit(NamedTuple):
    """How long one clock runs: hours (shop overrides and the VIP factor applied), or working
    days on the Chinese calendar."""

    hours: float | None = None
    working_days: int | None = None
    buyer_clock: bool = False

    def due(self, start: datetime, calendar: WorkCalendar | None = None) -> datetime:
        if self.working_days is not None:
            return (calendar or get_calendar()).add_working_days(start, self.working_days)
        assert self.hours is not None
        return start + timedelta(hours=self.hours)


def clock_limit(kind: str, facts: DeadlineFacts, policy: Policy) -> Limit:
    """How long a clock of this kind runs for a case with these facts under this policy."""
    sla = policy.sla
    if kind == RETURN_SHIPMENT:
        # R2.4: the buyer's 7 working days.
        return Limit(working_days=sla["return_shipment_working_days"], buyer_clock=True)
    if kind == REVIEW:
        hours = sla["review_complex_hours" if facts.is_complex else "review_simple_hours"]
    elif kind == INSPECTION:
        food = bool(facts.categories & FOOD_CATEGORIES)
        hours = sla["inspection_hours_food" if food else "inspection_hours"]
    else:
        hours = sla[HOURS_SETTING[kind]]
    buyer_clock = kind in BUYER_CLOCKS
    if not buyer_clock and facts.vip:
        hours = hours * sla["vip_factor"]  # R2.8: tighter internal targets for VIP buyers
    return Limit(hours=hours, buyer_clock=buyer_clock)


def due_at(
    kind: str,
    start: datetime,
    facts: DeadlineFacts,
    policy: Policy,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """When a clock of this kind started at `start` is due. The working-day calendar (the
    admin's, by default) is read only for a working-day clock."""
    return clock_limit(kind, facts, policy).due(start, calendar)


def _clocks_for(case_type: str) -> tuple[tuple[str, str], ...]:
    clocks = [(FIRST_RESPONSE, APPLICATION), (PLAN, APPLICATION), (REVIEW, APPLICATION)]
    if case_type in RETURNING_TYPES:
        last = REFUND if case_type in REFUND_TYPES else REPLACEMENT_SHIPMENT
        clocks += [
            (RETURN_SHIPMENT, APPROVAL),
            (INSPECTION, RECEIPT),
            (FINAL_REVIEW, INSPECTED),
            (last, FINAL_APPROVAL),
        ]
    elif case_type == CaseType.RESEND:
        clocks.append((REPLACEMENT_SHIPMENT, APPROVAL))
    else:
        clocks.append((REFUND, APPROVAL))
    return tuple(clocks)


# Every clock a case of each type runs on its way, with what each counts from: the case's
# path (`cases/services.py`) through the clocks' start rules (`sla/rules.py`).
CLOCKS_FOR_TYPE: dict[str, tuple[tuple[str, str], ...]] = {
    case_type: _clocks_for(case_type) for case_type in CaseType.values
}


@dataclass
class Deadline:
    """One clock of a case as a decision reports it."""

    counts_from: str  # application, approval, receipt, inspection, final_approval
    hours: float | None
    working_days: int | None
    buyer_clock: bool
    due_at: str | None  # ISO 8601; None while the time it counts from is not known


def case_deadlines(
    case_type: str,
    facts: DeadlineFacts,
    policy: Policy,
    starts: Mapping[str, datetime | None],
    calendar: WorkCalendar | None = None,
) -> dict[str, Deadline]:
    """Every clock of the case, due from the times in `starts` (what each counts from → when
    it happened); a clock whose start is not known says what it counts from instead."""
    deadlines = {}
    for kind, counts_from in CLOCKS_FOR_TYPE[case_type]:
        limit = clock_limit(kind, facts, policy)
        start = starts.get(counts_from)
        deadlines[kind] = Deadline(
            counts_from=counts_from,
            hours=limit.hours,
            working_days=limit.working_days,
            buyer_clock=limit.buyer_clock,
            due_at=None if start is None else limit.due(start, calendar).isoformat(),
        )
    return deadlines
