"""What the buyer is told about their case, in plain words (R10.2): where it is, what happens
next and by when (the running clocks), the refund, and what the policy decided — said at
once and honestly after applying."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from aftersales.audit.models import AuditEvent
from aftersales.cases.events import BUYER_TEXT_FIELD, CaseEvent
from aftersales.cases.models import Case
from aftersales.policy.services import latest_decision
from aftersales.sla.models import ClockState, SlaClock

# Events the buyer sees on their timeline; notes, assignments, clocks and platform plumbing
# stay inside the shop.
BUYER_EVENTS: dict[str, Callable[[], str]] = {
    CaseEvent.CASE_OPENED: lambda: _("You applied"),
    CaseEvent.CASE_APPROVED: lambda: _("The shop agreed"),
    CaseEvent.CASE_REJECTED: lambda: _("The shop refused the request"),
    CaseEvent.CASE_REOPENED: lambda: _("The request was reopened"),
    CaseEvent.CASE_WITHDRAWN: lambda: _("You withdrew the request"),
    CaseEvent.CASE_CLOSED: lambda: _("The request was closed"),
    CaseEvent.EVIDENCE_REQUESTED: lambda: _("The shop asked you for photos or a video"),
    CaseEvent.BUYER_EVIDENCE_RECORDED: lambda: _("Your photos or video were received"),
    CaseEvent.RETURN_SHIPPED: lambda: _("You sent the goods back"),
    CaseEvent.RETURN_RECEIVED: lambda: _("The shop received the goods"),
    CaseEvent.RETURN_INSPECTED: lambda: _("The shop checked the goods"),
    CaseEvent.CASE_FINAL_APPROVED: lambda: _("The shop approved after the check"),
    CaseEvent.REFUND_DECIDED: lambda: _("A refund was approved"),
    CaseEvent.REFUND_EXECUTED: lambda: _("The refund was paid"),
    CaseEvent.REPLACEMENT_SHIPPED: lambda: _("The replacement was sent"),
    CaseEvent.ITEMS_RESENT: lambda: _("The missing items were sent"),
    CaseEvent.REPAIRED_GOODS_SHIPPED: lambda: _("The repaired goods were sent"),
    CaseEvent.BUYER_RECEIVED: lambda: _("You received the goods"),
    CaseEvent.CONVERTED_TO_REFUND: lambda: _("The exchange became a refund"),
    CaseEvent.DEADLINE_EXTENDED: lambda: _("The shop extended a deadline"),
    CaseEvent.BUYER_MESSAGE_SENT: lambda: _("Message from the shop"),
    CaseEvent.BUYER_REMINDED: lambda: _("Reminder from the shop"),
    CaseEvent.BUYER_HANDOVER_REQUESTED: lambda: _("Passed to a person at the shop"),
    CaseEvent.SERVICE_RATED: lambda: _("You rated the service"),
}

STATUS_WORDS = {
    "pending_review": lambda: _("The shop is reviewing your request."),
    "awaiting_evidence": lambda: _("The shop needs photos or a video from you."),
    "awaiting_return": lambda: _("The shop agreed: please send the goods back."),
    "awaiting_inspection": lambda: _("The goods are back with the shop and will be checked."),
    "pending_final_review": lambda: _("The goods were checked; the shop is deciding."),
    "awaiting_refund": lambda: _("Approved: the refund is being paid."),
    "awaiting_shipment": lambda: _("Approved: the shop will send the goods to you."),
    "awaiting_buyer_receipt": lambda: _("The shop has sent the goods; they are on the way."),
    "completed": lambda: _("Done."),
    "rejected": lambda: _("The shop refused the request."),
    "closed": lambda: _("Closed."),
}

CLOCK_WORDS = {
    "first_response": lambda: _("The shop answers by"),
    "plan": lambda: _("The shop proposes a solution by"),
    "review": lambda: _("The shop decides by"),
    "return_shipment": lambda: _("Please send the goods back by"),
    "inspection": lambda: _("The shop checks the returned goods by"),
    "final_review": lambda: _("The shop decides after the check by"),
    "refund": lambda: _("The refund is paid by"),
    "replacement_shipment": lambda: _("The shop sends the goods by"),
}


@dataclass(frozen=True)
class Step:
    words: str
    due_at: datetime
    yours: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    words: str
    text: str  # the shop's message, if the event carries one


def status_words(case: Case) -> str:
    return STATUS_WORDS.get(case.status, lambda: case.get_status_display())()


def next_steps(case: Case) -> list[Step]:
    clocks = SlaClock.objects.filter(case=case, state=ClockState.RUNNING).order_by("due_at")
    return [
        Step(words=CLOCK_WORDS[c.kind](), due_at=c.due_at, yours=c.is_buyer_clock)
        for c in clocks
        if c.kind in CLOCK_WORDS
    ]


def timeline(case: Case) -> list[TimelineEntry]:
    events = AuditEvent.objects.filter(case=case, type__in=list(BUYER_EVENTS)).order_by("seq")
    entries = []
    for event in events:
        field = BUYER_TEXT_FIELD.get(event.type)
        text = str((event.payload or {}).get(field) or "") if field else ""
        entries.append(
            TimelineEntry(at=event.created_at, words=BUYER_EVENTS[event.type](), text=text)
        )
    return entries


def policy_outlook(case: Case) -> list[str]:
    """The policy's decision in the buyer's words: what will happen, and who pays shipping."""
    decision = latest_decision(case)
    if decision is None:
        return []
    payload: dict[str, Any] = decision.payload
    rules = {hit.get("rule") for hit in payload.get("trace", [])}
    said: list[str] = []
    if decision.recommendation == "approve_refund":
        if case.refund_status in {"pending", "refunded"} and decision.auto_approve:
            said.append(_("Not shipped yet: you are refunded automatically."))
        else:
            said.append(_("Not shipped yet: the shop confirms, then you are refunded."))
    elif decision.recommendation == "intercept_first":
        said.append(
            _(
                "Already shipped: the shop asks the carrier to stop the parcel; once it is "
                "stopped, you are refunded."
            )
        )
    elif decision.recommendation == "not_eligible_no_reason":
        if rules & {"no_reason.excluded_category", "no_reason.confirmed_unsuitable"}:
            said.append(
                _(
                    "Custom-made and similar goods have no 7-day no-reason return. If the goods "
                    "are faulty, choose a quality reason and add photos."
                )
            )
        elif "no_reason.window_passed" in rules:
            said.append(
                _("The 7-day no-reason return window ended on %(day)s.")
                % {"day": payload.get("no_reason_last_day")}
            )
        else:
            said.append(_("This request does not meet the 7-day no-reason return conditions."))
    elif decision.recommendation == "needs_evidence":
        said.append(_("Please add photos or a video that show the problem."))
    elif decision.recommendation == "technical_support_first":
        said.append(_("The shop will first help you fix the problem, then decide."))
    else:
        said.append(_("A person at the shop reviews your request."))
    payer = payload.get("return_shipping_payer")
    if payer == "buyer":
        said.append(
            _(
                "7-day no-reason return: you pay the return shipping unless you bought shipping "
                "insurance."
            )
        )
    elif payer == "insurance":
        said.append(_("Your shipping insurance pays the return shipping."))
    elif payer == "merchant":
        said.append(_("The shop pays the return shipping."))
    return said
