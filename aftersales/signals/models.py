"""Abuse signals (issue 13): rules as data, their hits with the evidence, and the reviews that
measure each rule's precision. A signal never changes a case: people decide."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleCode(models.TextChoices):
    REFUND_ONLY_BUYER = "refund_only_buyer", _("Many refund-only requests from one buyer")
    HIGH_RETURN_RATE = "high_return_rate", _("High after-sales rate of one buyer")
    SHARED_RETURN_TRACKING = (
        "shared_return_tracking",
        _("One return tracking number on several cases"),
    )
    TRACKING_NEVER_MOVES = "tracking_never_moves", _("Return tracking number that never moves")
    TRACKING_OTHER_ROUTE = (
        "tracking_other_route",
        _("Return tracking number of another route"),
    )
    INSPECTION_MISMATCH = "inspection_mismatch", _("Inspection found another item or weight")
    REUSED_IMAGE = "reused_image", _("The same photo on claims of different buyers or orders")
    REFUND_AFTER_INTERCEPTION = (
        "refund_after_interception",
        _("Refund only right after a parcel interception"),
    )


class SignalRule(models.Model):
    """A shop's setting of one rule: on or off and its threshold (the defaults are in
    `rules.RULES`, written here the first time the shop's rules are read)."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    code = models.CharField(_("rule"), max_length=32, choices=RuleCode.choices)
    threshold = models.PositiveIntegerField(_("threshold"))
    window_days = models.PositiveIntegerField(_("days looked back"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("signal rule")
        verbose_name_plural = _("signal rules")
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="signal_rule_once")]


class SignalStatus(models.TextChoices):
    OPEN = "open", _("To review")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Signal(models.Model):
    """One hit of one rule on one case, with what it saw (`evidence`: counts, the other
    cases, the tracking number, the distances). `key` makes a hit once per rule and case."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )
    buyer = models.ForeignKey(
        "orders.Buyer", on_delete=models.PROTECT, related_name="+", verbose_name=_("buyer")
    )
    rule = models.CharField(_("rule"), max_length=32, choices=RuleCode.choices)
    key = models.CharField(max_length=120, unique=True)
    value = models.FloatField(_("measured"))
    threshold = models.PositiveIntegerField(_("threshold"))
    evidence = models.JSONField(_("evidence"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=SignalStatus.choices, default=SignalStatus.OPEN
    )
    created_at = models.DateTimeField(_("found at"))
    reviewed_by = models.CharField(_("reviewed by"), max_length=150, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("signal")
        verbose_name_plural = _("signals")
        indexes = [
            models.Index(fields=["case"], name="signal_by_case"),
            models.Index(fields=["buyer"], name="signal_by_buyer"),
            models.Index(
                fields=["shop", "-created_at"],
                condition=Q(status="open"),
                name="signal_open_recent",
            ),
            models.Index(fields=["shop", "rule", "status"], name="signal_rule_status"),
        ]


class EvidenceHash(models.Model):
    """The perceptual hashes of one photo of a claim (`hashing.py`), with whose claim it is."""

    evidence = models.OneToOneField(
        "cases.Evidence", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey("orders.Buyer", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    dhash = models.CharField(max_length=16)
    phash = models.CharField(max_length=16)
    informative = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["shop", "-created_at"],
                condition=Q(informative=True),
                name="evidence_hash_recent",
            )
        ]
