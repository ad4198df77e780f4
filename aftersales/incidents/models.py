"""Incidents (R12.1): a bad day that groups the cases it caused, until it is closed."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class IncidentKind(models.TextChoices):
    BATCH_DEFECT = "batch_defect", _("Batch defect")
    CARRIER_FAILURE = "carrier_failure", _("Carrier failure")
    VIRAL_COMPLAINT = "viral_complaint", _("Viral complaint")
    SURGE = "surge", _("Surge of cases")


class IncidentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    DISMISSED = "dismissed", _("Dismissed")


class Incident(models.Model):
    """The scope rule is the fields below that are set: a case belongs when it was applied
    for since `since` and matches every one of them (a product or SKU among its items, its
    reason, the carrier of its order's outbound parcel, a receiver address that begins with
    `region`, a buyer's statement that contains `keyword`)."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IncidentKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    sku = models.ForeignKey(
        "catalog.Sku",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SKU"),
    )
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    carrier = models.CharField(_("carrier"), max_length=32, blank=True)
    region = models.CharField(_("region"), max_length=32, blank=True)
    keyword = models.CharField(_("keyword"), max_length=64, blank=True)
    since = models.DateTimeField(_("cases applied since"))
    target_hours = models.PositiveSmallIntegerField(_("deadline hours for its cases"), default=4)
    # A proposal's numbers: the dimension, the count, the baseline, the bound it crossed.
    proposal = models.JSONField(_("why it was proposed"), default=dict, blank=True)
    created_by = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created at"))
    declared_at = models.DateTimeField(_("declared at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_note = models.TextField(_("closing note"), blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            models.Index(
                fields=["shop", "status"],
                condition=Q(status__in=["proposed", "open"]),
                name="incident_live",
            ),
            models.Index(fields=["shop", "-created_at"], name="incident_shop_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.pk}:{self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN


class IncidentCase(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="members")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(_("joined at"))

    class Meta:
        verbose_name = _("case of an incident")
        verbose_name_plural = _("cases of incidents")
        constraints = [
            models.UniqueConstraint(fields=["incident", "case"], name="incident_case_once")
        ]
        indexes = [models.Index(fields=["case"], name="incident_case_by_case")]
