"""Every event a case goes through: the audit trail's event types for cases, with their words.

Platform-neutral: a platform adapter reacts to these events and maps them to its own
operations; nothing here names a platform. The values are the audit trail's stored
`AuditEvent.type`, so they never change once written.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseEvent(models.TextChoices):
    # The request and the merchant's review (R1.2, R1.3).
    CASE_OPENED = "case_opened", _("Case opened")
    # An after-sale already finished elsewhere, written as it ended (R13.3: the back-office
    # export's history).
    CASE_IMPORTED = "case_imported", _("Imported as finished from the back-office export")
    CASE_ASSIGNED = "case_assigned", _("Assigned")
    POLICY_DECIDED = "policy_decided", _("Policy decision")
    AUTOMATION_REFUSED = "automation_refused", _("Automatic handling refused")
    CASE_APPROVED = "case_approved", _("Approved")
    CASE_REJECTED = "case_rejected", _("Rejected")
    CASE_REOPENED = "case_reopened", _("Reopened")
    CASE_WITHDRAWN = "case_withdrawn", _("Buyer withdrew the request")
    CASE_CLOSED = "case_closed", _("Closed")
    # Evidence (R4.1).
    EVIDENCE_REQUESTED = "evidence_requested", _("Evidence requested from the buyer")
    BUYER_EVIDENCE_RECORDED = "buyer_evidence_recorded", _("Buyer's evidence received")
    EVIDENCE_ATTACHED = "evidence_attached", _("Evidence attached")
    # Goods coming back and the second review (R4.2).
    RETURN_SHIPPED = "return_shipped", _("Buyer shipped the return")
    RETURN_RECEIVED = "return_received", _("Returned goods received")
    RETURN_INSPECTED = "return_inspected", _("Returned goods inspected")
    CASE_FINAL_APPROVED = "case_final_approved", _("Approved after inspection")
    # Money (R1.4).
    REFUND_DECIDED = "refund_decided", _("Refund decided")
    REFUND_EXECUTED = "refund_executed", _("Refund paid")
    REFUND_FAILED = "refund_failed", _("Refund failed")
    REFUND_RETRIED = "refund_retried", _("Refund retried")
    REFUND_CANCELLED = "refund_cancelled", _("Refund cancelled before it was paid")
    COST_RECORDED = "cost_recorded", _("Cost recorded")
    # Exchange, resend, repair (R4.3, R7.3).
    TECHNICAL_SUPPORT_RECORDED = "technical_support_recorded", _("Technical support recorded")
    QUALITY_CHECKED = "quality_checked", _("Replacement quality-checked")
    REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement shipped")
    ITEMS_RESENT = "items_resent", _("Missing items resent")
    REPAIRED_GOODS_SHIPPED = "repaired_goods_shipped", _("Repaired goods shipped")
    BUYER_RECEIVED = "buyer_received", _("Buyer received the goods")
    BUYER_PARCEL_RESHIPPED = "buyer_parcel_reshipped", _("Parcel to the buyer sent again")
    CONVERTED_TO_REFUND = "converted_to_refund", _("Exchange converted to a refund")
    # Deadlines (R2).
    SLA_AT_RISK = "sla_at_risk", _("Deadline at risk")
    SLA_BREACHED = "sla_breached", _("Deadline breached")
    BUYER_DEADLINE_EXPIRED = "buyer_deadline_expired", _("Buyer's deadline expired")
    BUYER_REMINDED = "buyer_reminded", _("Buyer reminded")
    DEADLINE_EXTENDED = "deadline_extended", _("Deadline extended")
    # The conversation and the record (R3.5, R6.5).
    NOTE_ADDED = "note_added", _("Internal note")
    BUYER_MESSAGE_SENT = "buyer_message_sent", _("Message to the buyer")
    PII_REVEALED = "pii_revealed", _("Buyer's personal data viewed")
    # The buyer's self-service (R10.1, R8.6): the bot passed the buyer to a person; a rating.
    BUYER_HANDOVER_REQUESTED = "buyer_handover_requested", _("Bot handed the buyer to a person")
    SERVICE_RATED = "service_rated", _("Buyer rated the service")
    # The sales platform (R13.1, R2.6, R3.1, R5.2).
    INTERCEPTION_REQUESTED = "interception_requested", _("Parcel interception requested")
    PLATFORM_EXTENSION_REQUESTED = (
        "platform_extension_requested",
        _("Time extension requested from the platform"),
    )
    PLATFORM_REMARK_ADDED = "platform_remark_added", _("Remark added on the platform order")
    PLATFORM_SYNC_RETRIED = "platform_sync_retried", _("Platform sync retried")
    PLATFORM_OPERATION_FAILED = "platform_operation_failed", _("Platform operation failed")
    PLATFORM_DRIFT_DETECTED = "platform_drift_detected", _("Platform state differs from ours")
    DISPUTE_STATUS_CHANGED = "dispute_status_changed", _("Platform dispute status changed")
    # Disputes (R5.1–R5.3): negotiation, the platform's intervention, its ruling, the appeal.
    OFFER_MADE = "offer_made", _("Offer made")
    OFFER_ANSWERED = "offer_answered", _("Offer answered")
    SETTLEMENT_AGREED = "settlement_agreed", _("Refund agreed by settlement or ruling")
    INTERVENTION_ASSIGNED = "intervention_assigned", _("Intervention ticket opened")
    EVIDENCE_PACKAGE_BUILT = "evidence_package_built", _("Evidence package built")
    PLATFORM_EVIDENCE_SUBMITTED = (
        "platform_evidence_submitted",
        _("Evidence submitted to the platform"),
    )
    RULING_EXECUTED = "ruling_executed", _("Platform ruling carried out")
    APPEAL_FILED = "appeal_filed", _("Appeal filed")
    APPEAL_DECIDED = "appeal_decided", _("Appeal decided")


# Events that carry a text for the buyer, and the payload field that holds it: the shop's
# platform channel delivers it (R3.5). The field names are those already on the record.
BUYER_TEXT_FIELD: dict[str, str] = {
    CaseEvent.BUYER_MESSAGE_SENT: "text",
    CaseEvent.DEADLINE_EXTENDED: "message",
    CaseEvent.BUYER_REMINDED: "message",
    CaseEvent.OFFER_MADE: "text",
}
