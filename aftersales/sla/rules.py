"""When each clock starts, stops, pauses and resumes: the one place that says so (R2.7).

docs/sla.md explains the same table in prose; tests/test_clock_rules.py checks both agree.
Events are the case's audit event types; statuses are the case status after the event.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import ClockKind

# Any of these ends every running clock of the case.
TERMINAL_EVENTS = frozenset({"case_closed", "case_withdrawn", "refund_executed", "buyer_received"})

# The merchant's first reply in any form ends the first-response clock.
MERCHANT_RESPONSES = frozenset(
    {
        "case_approved",
        "case_rejected",
        "evidence_requested",
        "technical_support_recorded",
        "buyer_message_sent",
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
            start_events=frozenset({"case_opened", "case_reopened"}),
            stop_events=MERCHANT_RESPONSES,
        ),
        ClockRule(
            ClockKind.PLAN,
            start_events=frozenset({"case_opened", "case_reopened"}),
            stop_events=frozenset({"case_approved", "case_rejected"}),
            # Waiting for the buyer's evidence is the buyer's time, not the merchant's.
            pause_events=frozenset({"evidence_requested"}),
            resume_events=frozenset({"buyer_evidence_recorded"}),
        ),
        ClockRule(
            ClockKind.REVIEW,
            start_events=frozenset({"case_opened", "case_reopened"}),
            stop_events=frozenset({"case_approved", "case_rejected"}),
            pause_events=frozenset({"evidence_requested"}),
            resume_events=frozenset({"buyer_evidence_recorded"}),
        ),
        ClockRule(
            ClockKind.RETURN_SHIPMENT,
            start_statuses=frozenset({"awaiting_return"}),
            stop_events=frozenset({"return_shipped", "return_received"}),
            buyer_clock=True,
        ),
        ClockRule(
            ClockKind.INSPECTION,
            start_statuses=frozenset({"awaiting_inspection"}),
            stop_events=frozenset({"return_inspected"}),
        ),
        ClockRule(
            ClockKind.FINAL_REVIEW,
            start_statuses=frozenset({"pending_final_review"}),
            stop_events=frozenset({"case_final_approved", "case_rejected"}),
        ),
        ClockRule(
            ClockKind.REFUND,
            start_statuses=frozenset({"awaiting_refund"}),
            stop_events=frozenset({"refund_executed"}),
        ),
        ClockRule(
            ClockKind.REPLACEMENT_SHIPMENT,
            start_statuses=frozenset({"awaiting_shipment"}),
            stop_events=frozenset(
                {
                    "replacement_shipped",
                    "items_resent",
                    "repaired_goods_shipped",
                    "converted_to_refund",
                }
            ),
        ),
    ]
}
