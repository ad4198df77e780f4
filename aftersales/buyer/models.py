"""What the buyer's self-service page keeps: one-time codes, access attempts and withdrawn
links (the buyer's rating is the case's `analytics.Survey`).

Codes are stored only as a keyed hash; an attempt row is what the rate limits count, in the
database so that every web process sees the same counts (R10.2).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AccessCode(models.Model):
    """A one-time code for one order: hashed, single-use, expiring, a few tries."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    code_hash = models.CharField(max_length=64)
    channel = models.CharField(_("channel"), max_length=32)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    failed_tries = models.PositiveSmallIntegerField(_("failed tries"), default=0)

    class Meta:
        verbose_name = _("access code")
        verbose_name_plural = _("access codes")
        indexes = [
            models.Index(
                fields=["order", "expires_at"],
                condition=Q(used_at__isnull=True),
                name="buyer_code_live",
            )
        ]


class AccessAttempt(models.Model):
    """One request for a code or one try of a code, counted by the rate limits."""

    class Scope(models.TextChoices):
        ORDER = "order", _("Order number")
        ADDRESS = "address", _("Client address")

    scope = models.CharField(max_length=8, choices=Scope.choices)
    # A keyed hash of the order number as typed, or the client address: never the raw value.
    key = models.CharField(max_length=64)
    action = models.CharField(max_length=8)  # "request" | "verify"
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("access attempt")
        verbose_name_plural = _("access attempts")
        indexes = [
            models.Index(fields=["scope", "key", "action", "at"], name="buyer_attempt_window")
        ]


class LinkRevocation(models.Model):
    """The shop withdrew the signed links of one order (sent to the wrong person, forwarded):
    every link issued before `revoked_at`, and every page session opened by one, stops
    working. A link made afterwards works again."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(_("withdrawn at"))
    revoked_by = models.CharField(_("withdrawn by"), max_length=150)

    class Meta:
        verbose_name = _("withdrawn buyer links")
        verbose_name_plural = _("withdrawn buyer links")
