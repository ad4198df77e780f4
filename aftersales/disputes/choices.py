"""The disputes app's kinds and states (R5.1–R5.3)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OfferKind(models.TextChoices):
    FULL_REFUND = "full_refund", _("Full refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    EXCHANGE = "exchange", _("Exchange")
    RESEND = "resend", _("Resend")
    COMPENSATION = "compensation", _("Compensation")


# Kinds whose amount is typed (fen); a full refund is what the case may still refund.
KINDS_WITH_AMOUNT = frozenset({OfferKind.PARTIAL_REFUND, OfferKind.COMPENSATION})


class OfferSide(models.TextChoices):
    MERCHANT = "merchant", _("Shop")
    BUYER = "buyer", _("Buyer")


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    COUNTERED = "countered", _("Countered")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class InterventionStatus(models.TextChoices):
    OPEN = "open", _("Platform handling")
    AWAITING_EVIDENCE = "awaiting_evidence", _("Waiting for the shop's evidence")
    EVIDENCE_SUBMITTED = "evidence_submitted", _("Evidence submitted")
    RULED = "ruled", _("Ruled")
    CANCELLED = "cancelled", _("Cancelled by the buyer")


class Ruling(models.TextChoices):
    FOR_BUYER = "for_buyer", _("For the buyer")
    FOR_SHOP = "for_shop", _("For the shop")
    PARTIAL = "partial", _("Partly for the buyer")


class Responsible(models.TextChoices):
    """Who the platform holds responsible (Douyin `arbitrate_blame`)."""

    MERCHANT = "merchant", _("The shop")
    BUYER = "buyer", _("The buyer")
    BOTH = "both", _("Both")
    PLATFORM = "platform", _("The platform")
    INFLUENCER = "influencer", _("The influencer")


BLAME_TO_RESPONSIBLE = {
    1: Responsible.MERCHANT,
    2: Responsible.BUYER,
    3: Responsible.BOTH,
    4: Responsible.PLATFORM,
    5: Responsible.INFLUENCER,
}


class AppealOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for the platform")
    UPHELD = "upheld", _("Appeal won: ruling changed")
    REJECTED = "rejected", _("Appeal lost: ruling stands")
