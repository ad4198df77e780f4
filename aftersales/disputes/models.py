"""Disputes (争议处理, R5): negotiation offers, the platform's intervention tickets, the
evidence packages built for them, and appeals against rulings; the shop's dispute settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    AppealOutcome,
    InterventionStatus,
    OfferKind,
    OfferSide,
    OfferStatus,
    Responsible,
    Ruling,
)


class DisputeSettings(models.Model):
    """A shop's dispute handler (R5.2, R6.4) and its rejection guard's baseline."""

    shop = models.OneToOneField(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dispute handler"),
    )
    # The industry's rejection rate in per mille of cases, for every reason not named below.
    baseline_per_mille = models.PositiveIntegerField(_("industry rejection rate (‰)"), default=50)
    # Per reject reason code, per mille: {"no_evidence": 80, ...}.
    baseline_by_reason = models.JSONField(_("industry rate by reason (‰)"), default=dict)
    warn_multiple = models.PositiveSmallIntegerField(_("warn at this multiple"), default=5)

    class Meta:
        verbose_name = _("dispute settings")
        verbose_name_plural = _("dispute settings")


class Offer(models.Model):
    """One offer or counter-offer in the negotiation with the buyer (R5.1)."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="offers", verbose_name=_("case")
    )
    number = models.PositiveIntegerField(_("number"))
    side = models.CharField(_("offered by"), max_length=16, choices=OfferSide.choices)
    kind = models.CharField(_("offer"), max_length=20, choices=OfferKind.choices)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"), default=0)
    note = models.CharField(_("note"), max_length=500, blank=True)
    counter_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="counters",
        verbose_name=_("counter to"),
    )
    made_by = models.CharField(_("recorded by"), max_length=150)
    made_at = models.DateTimeField(_("made at"))
    status = models.CharField(
        _("status"), max_length=16, choices=OfferStatus.choices, default=OfferStatus.OPEN
    )
    answer_note = models.CharField(_("answer"), max_length=500, blank=True)
    answered_by = models.CharField(_("answer recorded by"), max_length=150, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    outcome = models.CharField(_("what was done"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="dispute_offer_number"),
            # At most one offer waits for an answer: a new one replaces it.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="open"), name="dispute_offer_one_open"
            ),
        ]


class Intervention(models.Model):
    """The platform's intervention ticket on a case (平台介入工单, R5.2) and its ruling (R5.3)."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="interventions",
        verbose_name=_("case"),
    )
    platform_ref = models.CharField(_("platform ticket"), max_length=64, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=InterventionStatus.choices,
        default=InterventionStatus.OPEN,
    )
    opened_at = models.DateTimeField(_("opened at"))
    evidence_due_at = models.DateTimeField(_("evidence due"), null=True, blank=True)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handler"),
    )
    evidence_submitted_at = models.DateTimeField(_("evidence submitted"), null=True, blank=True)
    ruling = models.CharField(_("ruling"), max_length=16, choices=Ruling.choices, blank=True)
    responsible = models.CharField(
        _("held responsible"), max_length=16, choices=Responsible.choices, blank=True
    )
    ruling_refund_fen = models.PositiveBigIntegerField(_("refund ruled (fen)"), default=0)
    ruling_shipping_fen = models.PositiveBigIntegerField(_("of it shipping (fen)"), default=0)
    ruled_at = models.DateTimeField(_("ruled at"), null=True, blank=True)
    ruling_executed_at = models.DateTimeField(_("ruling carried out"), null=True, blank=True)
    ruling_outcome = models.CharField(_("what was done"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("platform intervention")
        verbose_name_plural = _("platform interventions")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=["open", "awaiting_evidence", "evidence_submitted"]),
                name="dispute_one_live_intervention",
            )
        ]
        indexes = [models.Index(fields=["shop", "evidence_due_at"], name="dispute_iv_due")]

    @property
    def is_live(self) -> bool:
        return self.status in (
            InterventionStatus.OPEN,
            InterventionStatus.AWAITING_EVIDENCE,
            InterventionStatus.EVIDENCE_SUBMITTED,
        )


class EvidencePackage(models.Model):
    """The evidence assembled for the platform (R5.2): a PDF to read and a zip of the
    original files with their SHA-256, and what of it was submitted."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="evidence_packages",
        verbose_name=_("case"),
    )
    intervention = models.ForeignKey(
        Intervention,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="packages",
        verbose_name=_("intervention"),
    )
    number = models.PositiveIntegerField(_("number"))
    built_by = models.CharField(_("built by"), max_length=150)
    built_at = models.DateTimeField(_("built at"))
    pdf = models.FileField(_("PDF file"), upload_to="disputes/", max_length=200)
    pdf_sha256 = models.CharField(_("PDF file SHA-256"), max_length=64)
    archive = models.FileField(_("zip of the files"), upload_to="disputes/", max_length=200)
    archive_sha256 = models.CharField(_("zip SHA-256"), max_length=64)
    manifest = models.JSONField(_("files"), default=list)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.CharField(_("submitted by"), max_length=150, blank=True)
    submitted_evidence = models.JSONField(_("photos submitted"), default=list)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("evidence package")
        verbose_name_plural = _("evidence packages")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="dispute_package_number")
        ]


class Appeal(models.Model):
    """An appeal against a ruling (申诉, R5.3): within 7 days of it, with its outcome."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="appeals", verbose_name=_("case")
    )
    intervention = models.OneToOneField(
        Intervention,
        on_delete=models.PROTECT,
        related_name="appeal",
        verbose_name=_("intervention"),
    )
    statement = models.TextField(_("statement"))
    filed_by = models.CharField(_("filed by"), max_length=150)
    filed_at = models.DateTimeField(_("filed at"))
    due_at = models.DateTimeField(_("appeal deadline"))
    outcome = models.CharField(
        _("outcome"),
        max_length=16,
        choices=AppealOutcome.choices,
        default=AppealOutcome.PENDING,
    )
    outcome_note = models.CharField(_("outcome note"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
