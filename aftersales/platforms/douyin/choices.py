"""The Douyin adapter's own states and kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class OperationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    ALREADY_DONE = "already_done", _("Already done on the platform")
    TRANSIENT_ERROR = "transient_error", _("Transient error (will retry)")
    BUSINESS_ERROR = "business_error", _("Refused by the platform")
    WAITING = "waiting", _("Waiting for an earlier operation")
    ABANDONED = "abandoned", _("Abandoned (worker stopped)")


class NotificationEvent(models.TextChoices):
    """The steps at which the buyer is told of progress (R3.5)."""

    CASE_OPENED = "case_opened", _("Request received")
    CASE_APPROVED = "case_approved", _("Request approved")
    CASE_REJECTED = "case_rejected", _("Request rejected")
    RETURN_RECEIVED = "return_received", _("Returned goods received")
    REFUNDED = "refund_executed", _("Refunded")
    REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement shipped")
    ITEMS_RESENT = "items_resent", _("Missing items sent")
    REPAIRED_SHIPPED = "repaired_goods_shipped", _("Repaired goods sent back")
