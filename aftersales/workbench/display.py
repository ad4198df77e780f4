"""Words for people: audit event types, policy recommendations, evidence kinds, carriers,
durations, event details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from aftersales.alerts.words import EVENT_LABELS as ALERT_EVENT_LABELS
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import (
    CaseStatus,
    CostKind,
    CostPayer,
    RefundStatus,
    ReturnStatus,
)
from aftersales.cases.events import CaseEvent
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.core.money import fen_to_yuan
from aftersales.incidents.words import EVENT_LABELS as INCIDENT_EVENT_LABELS
from aftersales.orders.carriers import carrier_label
from aftersales.policy.document import EVIDENCE_KINDS as POLICY_EVIDENCE_KINDS
from aftersales.signals.words import EVENT_LABELS as SIGNAL_EVENT_LABELS
from aftersales.sla.models import ClockKind

# The events on a shop's audit chain that are not about one case, by the type their service
# records (shops, team, policy, the Douyin link; the demo's history).
SHOP_EVENT_LABELS: dict[str, Any] = {
    "shop_created": _("Shop created"),
    "member_added": _("Member added or role changed"),
    "api_key_created": _("API key created"),
    "api_key_revoked": _("API key revoked"),
    "duty_changed": _("Duty switched"),
    "staff_skills_changed": _("Skills changed"),
    "staff_renamed": _("Display name changed"),
    "knowledge_article_created": _("Knowledge article created"),
    "knowledge_article_updated": _("Knowledge article edited"),
    "knowledge_article_retired": _("Knowledge article retired"),
    "knowledge_article_restored": _("Knowledge article back in use"),
    "buyer_link_issued": _("Link for the buyer's page created"),
    "buyer_links_revoked": _("Links for the buyer's page withdrawn"),
    "survey_answered": _("Satisfaction survey answered"),
    "callback_recorded": _("Callback to the buyer recorded"),
    "good_case_added": _("Added to the good-case library"),
    "policy_published": _("Policy version published"),
    "dispute_settings_changed": _("Dispute settings changed"),
    "douyin_linked": _("Connected to Douyin"),
    "douyin_link_changed": _("Douyin connection changed"),
    "demo_seed_started": _("Demo history being written"),
    "demo_seeded": _("Demo history written"),
    "backoffice_imported": _("Back-office export imported"),
    "personal_data_minimised": _("Personal data minimised after the retention period"),
    "access_log_exported": _("Access log exported"),
}
# Every event's words: the case events (`cases.events.CaseEvent`) for the timeline, and the
# shop's own. A test walks the code for every type recorded and checks it is here.
EVENT_LABELS: dict[str, Any] = (
    dict(CaseEvent.choices)
    | SHOP_EVENT_LABELS
    | INCIDENT_EVENT_LABELS
    | SIGNAL_EVENT_LABELS
    | ALERT_EVENT_LABELS
)

# The case's platform sync as a whole (`platforms.adapter.SyncState`): a failure anywhere wins, then
# anything still on its way. Words of their own: "Pending" and "Failed" mean other things
# elsewhere (a refund's status).
SYNC_STATES: dict[str, Any] = {
    "none": _("Nothing sent yet"),
    "pending": _("Waiting to sync"),
    "synced": _("Synced"),
    "failed": _("Sync failed"),
}

RECOMMENDATIONS: dict[str, Any] = {
    "approve_refund": _("Approve and refund"),
    "intercept_first": _("Intercept the parcel first"),
    "needs_review": _("A person decides"),
    "needs_evidence": _("Wait for the buyer's evidence"),
    "not_eligible_no_reason": _("Not eligible for a no-reason return"),
    "technical_support_first": _("Technical support first"),
}

COMPLEXITY: dict[str, Any] = {"simple": _("Simple"), "complex": _("Complex")}
PAYERS: dict[str, Any] = {
    "merchant": _("Merchant"),
    "buyer": _("Buyer"),
    "insurance": _("Shipping insurance"),
    "carrier": _("Carrier"),
    "none": _("Nobody"),
}
EVIDENCE_KINDS: dict[str, Any] = dict(POLICY_EVIDENCE_KINDS)

AXIS_LABELS = {
    "status": dict(CaseStatus.choices),
    "refund_status": dict(RefundStatus.choices),
    "return_status": dict(ReturnStatus.choices),
}


def event_label(event_type: str) -> str:
    label = EVENT_LABELS.get(event_type)
    return str(label) if label is not None else event_type


def duration(seconds: int | None) -> str:
    """3 d 4 h, 2 h 5 min, 12 min; negative is shown as overdue by the caller."""
    if seconds is None:
        return ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return ngettext("%(m)d min", "%(m)d min", minutes) % {"m": minutes}


def clock_text(seconds: int | None) -> str:
    """A countdown as countdown.js writes it: "2 d 03:04:05", "03:04:05", "overdue 00:12:00"."""
    if seconds is None:
        return ""
    prefix = f"{_('overdue')} " if seconds < 0 else ""
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    day_part = (_("%(days)d d") % {"days": days} + " ") if days else ""
    return f"{prefix}{day_part}{hours:02d}:{minutes:02d}:{secs:02d}"


def event_details(
    event: AuditEvent, *, explain_error: Callable[[str], str] | None = None
) -> list[tuple[str, str]]:
    """The few facts of an event worth a line on the timeline, as (label, value).

    `explain_error` (the case's platform adapter's) puts a platform error in the reader's
    words, with the platform's own beside it."""
    details: list[tuple[str, str]] = []
    for axis, labels in AXIS_LABELS.items():
        # Opening sets every axis; only the status is worth a line then.
        if axis in event.after and (axis in event.before or axis == "status"):
            before = labels.get(event.before.get(axis, ""), event.before.get(axis, ""))
            after = labels.get(event.after[axis], event.after[axis])
            details.append(
                (str(_("Status change")), f"{before} → {after}" if before else str(after))
            )
    p = event.payload or {}
    text_keys = {
        "note": _("Note"),
        "text": _("Text"),
        "notes": _("Notes"),
        "reject_note": _("Explanation"),
        "close_note": _("Note"),
        "repair_notes": _("Repair"),
        "message": _("Message to the buyer"),
        "reason": _("Reason"),
        "error": _("Error"),
        "remark": _("Remark"),
    }
    if "reject_reason" in p and p["reject_reason"] in REJECT_REASONS:
        details.append((str(_("Reject reason")), str(REJECT_REASONS[p["reject_reason"]].label)))
    if event.type == "case_opened" and p.get("reason") in REASONS:
        details.append((str(_("Reason")), str(REASONS[p["reason"]].label)))
    if event.type == "case_opened":
        text_keys.pop("reason")  # a code there, shown above as its label
    for key, label in text_keys.items():
        value = p.get(key)
        if isinstance(value, str) and value.strip():
            explained = explain_error(value) if key == "error" and explain_error else ""
            if explained:
                details.append((str(label), explained))
                details.append((str(_("The platform's words")), value))
            else:
                details.append((str(label), value))
    # A shipment names its carrier by code (an interception by the platform's field names).
    carrier = p.get("carrier") or p.get("company_code") or ""
    tracking = p.get("tracking_number") or p.get("tracking_no") or ""
    if carrier or tracking:
        details.append((str(_("Tracking")), f"{carrier_label(str(carrier))} {tracking}".strip()))
    for key, label in (
        ("goods_amount_fen", _("Goods")),
        ("shipping_amount_fen", _("Shipping")),
        ("amount_fen", _("Amount")),
    ):
        if isinstance(p.get(key), int) and p[key]:
            details.append((str(label), _("%(amount)s yuan") % {"amount": fen_to_yuan(p[key])}))
    if p.get("kind") in CostKind.values:
        details.append((str(_("Cost")), str(CostKind(p["kind"]).label)))
    if p.get("payer") in CostPayer.values:
        details.append((str(_("Paid by")), str(CostPayer(p["payer"]).label)))
    if p.get("clock") in ClockKind.values:
        details.append((str(_("Deadline")), str(ClockKind(p["clock"]).label)))
    if event.type == "deadline_extended" and p.get("hours"):
        details.append((str(_("Extended by")), _("%(h)d h") % {"h": p["hours"]}))
    if event.type == "policy_decided" and p.get("recommendation") in RECOMMENDATIONS:
        details.append((str(_("Recommendation")), str(RECOMMENDATIONS[p["recommendation"]])))
    if event.type == "return_inspected" and p.get("result"):
        passed = p["result"] == "pass"
        details.append((str(_("Result")), str(_("Pass") if passed else _("Fail"))))
    return details
