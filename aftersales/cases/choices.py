"""Case types and the four separate status axes (R1.1, R1.2)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseType(models.TextChoices):
    REFUND_UNSHIPPED = "refund_unshipped", _("Refund only, not shipped")
    REFUND_SHIPPED = "refund_shipped", _("Refund only, shipped")
    RETURN_REFUND = "return_refund", _("Return and refund")
    EXCHANGE = "exchange", _("Exchange")
    RESEND = "resend", _("Resend missing items")
    REPAIR = "repair", _("Repair")


# Types whose goods come back to the merchant before the second review (R1.3).
RETURNING_TYPES = frozenset({CaseType.RETURN_REFUND, CaseType.EXCHANGE, CaseType.REPAIR})
# Types that end in a refund rather than a parcel to the buyer.
REFUND_TYPES = frozenset(
    {CaseType.REFUND_UNSHIPPED, CaseType.REFUND_SHIPPED, CaseType.RETURN_REFUND}
)


class CaseStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", _("Awaiting review")
    AWAITING_EVIDENCE = "awaiting_evidence", _("Awaiting buyer's evidence")
    AWAITING_RETURN = "awaiting_return", _("Awaiting buyer's return")
    AWAITING_INSPECTION = "awaiting_inspection", _("Returned, awaiting inspection")
    PENDING_FINAL_REVIEW = "pending_final_review", _("Awaiting second review")
    AWAITING_REFUND = "awaiting_refund", _("Approved, awaiting refund")
    AWAITING_SHIPMENT = "awaiting_shipment", _("Awaiting merchant's shipment")
    AWAITING_BUYER_RECEIPT = "awaiting_buyer_receipt", _("Shipped, awaiting buyer's receipt")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")


TERMINAL_STATUSES = frozenset({CaseStatus.COMPLETED, CaseStatus.CLOSED})


class RefundStatus(models.TextChoices):
    NONE = "none", _("No refund")
    PENDING = "pending", _("Refund in progress")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Refund failed")


class ReturnStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("No return")
    AWAITING_SHIPMENT = "awaiting_shipment", _("Awaiting buyer's shipment")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    INSPECTED = "inspected", _("Inspected")


class DisputeStatus(models.TextChoices):
    NONE = "none", _("No dispute")
    NEGOTIATING = "negotiating", _("Negotiating")
    PLATFORM_INTERVENING = "platform_intervening", _("Platform intervening")
    RULED_FOR_BUYER = "ruled_for_buyer", _("Ruled for buyer")
    RULED_FOR_MERCHANT = "ruled_for_merchant", _("Ruled for merchant")
    CANCELLED = "cancelled", _("Cancelled")


class Priority(models.IntegerChoices):
    NORMAL = 0, _("Normal")
    HIGH = 1, _("High")
    URGENT = 2, _("Urgent")


class ResponsibleParty(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    BUYER = "buyer", _("Buyer")
    CARRIER = "carrier", _("Carrier")


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    EXECUTING = "executing", _("Executing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # The refund will never be paid (the case closed before it left): its booking on the
    # items and the order is released.
    CANCELLED = "cancelled", _("Cancelled")


class CostKind(models.TextChoices):
    RETURN_SHIPPING = "return_shipping", _("Return shipping")
    OUTBOUND_SHIPPING = "outbound_shipping", _("Outbound shipping")
    INTERCEPTION_FEE = "interception_fee", _("Interception fee")
    GOODS_WRITTEN_OFF = "goods_written_off", _("Goods written off")
    COMPENSATION = "compensation", _("Compensation")


class CostPayer(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    BUYER = "buyer", _("Buyer")
    INSURANCE = "insurance", _("Shipping insurance")
    PLATFORM = "platform", _("Platform")


class EvidenceKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class EvidenceSource(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    MERCHANT = "merchant", _("Merchant")
    INSPECTION = "inspection", _("Inspection")


class InspectionResult(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class ItemCondition(models.TextChoices):
    GOOD = "good", _("Good")
    DAMAGED = "damaged", _("Damaged")
    NOT_SENT_ITEM = "not_sent_item", _("Not the item sent")
