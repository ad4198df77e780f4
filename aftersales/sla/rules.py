"""When each clock starts, stops, pauses and resumes: the one place that says so (R2.7).

docs/sla.md explains the same table in prose; tests/test_clock_rules.py checks both agree.
Events are `CaseEvent`s; statuses are the case status after the event.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.events import CaseEvent as E

from .models import ClockKind

# Any of these ends every running clock of the case.
TERMINAL_EVENTS = frozenset({E.CASE_CLOSED, E.CASE_WITHDRAWN, E.REFUND_EXECUTED, E.BUYER_RECEIVED})

# The merchant's first reply in any form ends the first-response clock.
MERCHANT_RESPONSES = frozenset(
    {
        E.CASE_APPROVED,
        E.CASE_REJECTED,
        E.EVIDENCE_REQUESTED,
        E.TECHNICAL_SUPPORT_RECORDED,
        E.BUYER_MESSAGE_SENT,
        E.OFFER_MADE,
        E.SETTLEMENT_AGREED,
    }
)


@dataclass(frozen=True)
class ClockRule:
    kind: str
    start_events: frozenset[str] = frozenset()  # start when one of these events happens
    start_statuses: frozenset[str] = frozenset()  # ...or when the case enters one of these
    stop_events: frozenset[str] = frozenset()
    pause_events: frozenset[str] = frozenset()
    resume_events: frozenset[str] = frozenset()
    buyer_clock: bool = False  # the buyer's deadline: no VIP factor, expiry acts on the case


CLOCK_RULES: dict[str, ClockRule] = {
    rule.kind: rule
    for rule in [
        ClockRule(
            ClockKind.FIRST_RESPONSE,
            start_events=frozenset({E.CASE_OPENED, E.CASE_REOPENED}),
            stop_events=MERCHANT_RESPONSES,
        ),
        ClockRule(
            ClockKind.PLAN,
            start_events=frozenset({E.CASE_OPENED, E.CASE_REOPENED}),
            stop_events=frozenset({E.CASE_APPROVED, E.CASE_REJECTED, E.SETTLEMENT_AGREED}),
            # Waiting for the buyer's evidence is the buyer's time, not the merchant's.
            pause_events=frozenset({E.EVIDENCE_REQUESTED}),
            resume_events=frozenset({E.BUYER_EVIDENCE_RECORDED}),
        ),
        ClockRule(
            ClockKind.REVIEW,
            start_events=frozenset({E.CASE_OPENED, E.CASE_REOPENED}),
            stop_events=frozenset({E.CASE_APPROVED, E.CASE_REJECTED, E.SETTLEMENT_AGREED}),
            pause_events=frozenset({E.EVIDENCE_REQUESTED}),
            resume_events=frozenset({E.BUYER_EVIDENCE_RECORDED}),
        ),
        ClockRule(
            ClockKind.RETURN_SHIPMENT,
            start_statuses=frozenset({S.AWAITING_RETURN}),
            stop_events=frozenset({E.RETURN_SHIPPED, E.RETURN_RECEIVED}),
            buyer_clock=True,
        ),
        ClockRule(
            ClockKind.INSPECTION,
            start_statuses=frozenset({S.AWAITING_INSPECTION}),
            stop_events=frozenset({E.RETURN_INSPECTED}),
        ),
        ClockRule(
            ClockKind.FINAL_REVIEW,
            start_statuses=frozenset({S.PENDING_FINAL_REVIEW}),
            stop_events=frozenset({E.CASE_FINAL_APPROVED, E.CASE_REJECTED, E.SETTLEMENT_AGREED}),
        ),
        ClockRule(
            ClockKind.REFUND,
            start_statuses=frozenset({S.AWAITING_REFUND}),
            stop_events=frozenset({E.REFUND_EXECUTED}),
        ),
        ClockRule(
            ClockKind.REPLACEMENT_SHIPMENT,
            start_statuses=frozenset({S.AWAITING_SHIPMENT}),
            stop_events=frozenset(
                {
                    E.REPLACEMENT_SHIPPED,
                    E.ITEMS_RESENT,
                    E.REPAIRED_GOODS_SHIPPED,
                    E.CONVERTED_TO_REFUND,
                }
            ),
        ),
        # The platform's own deadlines (R5.2, R5.3): started by the disputes app with the
        # platform's due time (`services.start_clock_until`), not by the policy.
        ClockRule(
            ClockKind.PLATFORM_EVIDENCE,
            stop_events=frozenset({E.PLATFORM_EVIDENCE_SUBMITTED, E.RULING_EXECUTED}),
        ),
        ClockRule(ClockKind.APPEAL, stop_events=frozenset({E.APPEAL_FILED})),
    ]
}

# Clocks whose due time is the platform's, given when they start: no policy deadline.
FIXED_CLOCKS = frozenset({ClockKind.PLATFORM_EVIDENCE, ClockKind.APPEAL})
# The window to appeal a ruling runs on after the case ended (the ruling's refund ends it).
OUTLIVES_CASE = frozenset({ClockKind.APPEAL})

# Every event some clock acts on, and every status some clock starts in: any other event
# leaves the clocks alone, so the SLA reaction returns before reading them.
CLOCK_EVENTS = TERMINAL_EVENTS | frozenset().union(
    *(
        rule.start_events | rule.stop_events | rule.pause_events | rule.resume_events
        for rule in CLOCK_RULES.values()
    )
)
CLOCK_START_STATUSES = frozenset().union(*(rule.start_statuses for rule in CLOCK_RULES.values()))
