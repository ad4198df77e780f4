"""The disputes app's reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`)."""

from __future__ import annotations

from aftersales.cases.events import CaseEvent
from aftersales.cases.ports import CaseChange


def on_case_event(change: CaseChange) -> None:
    """The platform's intervention opens, moves or ends the case's ticket (R5.2, R5.3); every
    other event returns at once, before any query."""
    if change.event != CaseEvent.DISPUTE_STATUS_CHANGED:
        return
    from .services import follow_dispute

    follow_dispute(change.case, change.case.dispute_status, dict(change.payload), by=change.by)
