"""Words of the incidents for people: their audit events and why a bulk action skipped a case."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# The incident's events on the shop's audit chain (the workbench shows them on case timelines).
EVENT_LABELS: dict[str, Any] = {
    "incident_proposed": _("Incident proposed"),
    "incident_declared": _("Incident declared"),
    "incident_dismissed": _("Incident proposal dismissed"),
    "incident_closed": _("Incident closed"),
    "incident_case_joined": _("Case joined an incident"),
    "incident_bulk_applied": _("Bulk action on an incident's cases"),
}

SKIP_REASONS: dict[str, Any] = {
    "done": _("done"),
    "not_found": _("not found"),
    "read_only": _("your role can only read it"),
    "not_permitted": _("only a supervisor or shop admin can assign"),
    "not_allowed_by_policy": _("the policy does not allow approving it"),
    "wrong_status": _("not awaiting review"),
    "does_not_fit": _("the message does not fit the case now"),
    "refused": _("refused"),
}


def event_label(event_type: str) -> str:
    label = EVENT_LABELS.get(event_type)
    return str(label) if label is not None else event_type


def bulk_skip_reason(outcome: str) -> str:
    return str(SKIP_REASONS.get(outcome, outcome))
