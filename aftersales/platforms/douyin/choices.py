"""The Douyin adapter's own states and kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.cases.events import CaseEvent


class SignMethod(models.TextChoices):
    MD5 = "md5", _("MD5")
    HMAC_SHA256 = "hmac-sha256", _("HMAC-SHA256")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    MALFORMED = "malformed", _("Malformed")
    BAD_SIGNATURE = "bad_signature", _("Bad signature")


class OperationKind(models.TextChoices):
    AGREE = "agree", _("Agree")
    REJECT = "reject", _("Reject")
    INTERCEPT = "intercept", _("Logistics interception")
    CONFIRM_RECEIPT = "confirm_receipt", _("Confirm return received")
    SECOND_REVIEW = "second_review", _("Second review: refund")
    RESHIP = "reship", _("Second review: ship goods back")
    EXTEND = "extend", _("Extend the deadline")
    REMARK = "remark", _("Order remark")
    NOTIFY_BUYER = "notify_buyer", _("Message to the buyer")
    SUBMIT_EVIDENCE = "submit_evidence", _("Evidence for the platform's intervention")


class OperationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")
    # A failed decision the merchant took back (the case was reopened), or one made moot by
    # the platform closing the after-sale: never sent, holds nothing up, kept on the record.
    SUPERSEDED = "superseded", _("Superseded")


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    ALREADY_DONE = "already_done", _("Already done on the platform")
    TRANSIENT_ERROR = "transient_error", _("Transient error (will retry)")
    BUSINESS_ERROR = "business_error", _("Refused by the platform")
    WAITING = "waiting", _("Waiting for an earlier operation")
    ABANDONED = "abandoned", _("Abandoned (worker stopped)")


class NotificationEvent(models.TextChoices):
    """The steps at which the buyer is told of progress (R3.5): case events, by value."""

    CASE_OPENED = CaseEvent.CASE_OPENED.value, _("Request received")
    CASE_APPROVED = CaseEvent.CASE_APPROVED.value, _("Request approved")
    CASE_REJECTED = CaseEvent.CASE_REJECTED.value, _("Request rejected")
    # Steps that wait for the buyer: the buyer is told what to do, and by when.
    EVIDENCE_REQUESTED = CaseEvent.EVIDENCE_REQUESTED.value, _("Evidence requested from the buyer")
    INTERCEPTION_REQUESTED = CaseEvent.INTERCEPTION_REQUESTED.value, _("Parcel being stopped")
    RETURN_RECEIVED = CaseEvent.RETURN_RECEIVED.value, _("Returned goods received")
    REFUNDED = CaseEvent.REFUND_EXECUTED.value, _("Refunded")
    REPLACEMENT_SHIPPED = CaseEvent.REPLACEMENT_SHIPPED.value, _("Replacement shipped")
    ITEMS_RESENT = CaseEvent.ITEMS_RESENT.value, _("Missing items sent")
    REPAIRED_SHIPPED = CaseEvent.REPAIRED_GOODS_SHIPPED.value, _("Repaired goods sent back")
