"""The analytics app's one reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`,
last): keep the reports' facts, and ask the buyer for their satisfaction when a case ends."""

from __future__ import annotations

from aftersales.cases.ports import CaseChange

from .facts import record_case_facts
from .services import offer_survey


def on_case_event(change: CaseChange) -> None:
    record_case_facts(change)
    offer_survey(change)
