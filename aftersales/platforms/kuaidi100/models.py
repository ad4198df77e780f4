"""The carrier-tracking push of a tracking aggregator (快递100 subscription push): the salt
each shop signs its subscriptions with, every push received, kept before it is answered, and
each parcel the product asked the aggregator to follow (the subscription call)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackingLink(models.Model):
    """A shop's subscription to the aggregator's push: the salt the pushes are signed with
    (`sign` = MD5(param + salt), upper-case hex). A shop with no link, or an inactive one,
    has every push refused."""

    shop = models.OneToOneField(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    salt = models.CharField(_("tracking push salt"), max_length=64)
    # The shop's authorisation key at the aggregator (授权key): with it the product subscribes
    # every parcel of a case itself; without it the pushes come from subscriptions made
    # elsewhere (an ERP), and are received all the same.
    key = models.CharField(_("authorisation key"), max_length=64, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tracking push subscription")
        verbose_name_plural = _("tracking push subscriptions")

    def __str__(self) -> str:
        return f"shop {self.shop_id}"


class PushStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    RECEIVED = "received", _("Received, not applied yet")
    BAD_SIGNATURE = "bad_signature", _("Refused: signature does not match")
    MALFORMED = "malformed", _("Refused: unreadable")


class TrackingPush(models.Model):
    """One push as received. An accepted one is kept (committed) before it is answered and
    applied once: the same `param` delivered again is counted on the first, not applied."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("shop"),
    )
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    carrier = models.CharField(_("carrier"), max_length=32, blank=True)
    param = models.TextField(_("body"))
    sign = models.CharField(_("signature"), max_length=64, blank=True)
    # sha256 of the param of an accepted push (blank for a refused one): redelivery is found
    # by it.
    digest = models.CharField(_("body digest"), max_length=64, blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=PushStatus.choices)
    error = models.TextField(_("error"), blank=True)
    scans_applied = models.IntegerField(_("scans applied"), default=0)
    deliveries = models.IntegerField(_("deliveries"), default=1)
    received_at = models.DateTimeField(_("received at"))
    # The sender's address (a refused push's rate limit counts per source).
    source = models.CharField(_("sent from"), max_length=64, blank=True, default="")
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracking push")
        verbose_name_plural = _("tracking pushes")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "digest"],
                condition=~models.Q(digest=""),
                name="tracking_push_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number} ({self.status})"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SUBSCRIBED = "subscribed", _("Subscribed")
    FAILED = "failed", _("Failed")


class TrackingSubscription(models.Model):
    """One parcel the aggregator is asked to follow (快递100 订阅), so that its scans are pushed
    to the shop's address. Made in the transaction of the case event that recorded the parcel,
    sent by a task after commit and again, with growing waits, until the aggregator takes it or
    the tries run out. A parcel is subscribed once per carrier and number."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("parcel"),
    )
    # The aggregator's carrier code (`company`), mapped from the platform's.
    company = models.CharField(_("carrier code at the aggregator"), max_length=32)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))
    subscribed_at = models.DateTimeField(_("subscribed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracking subscription")
        verbose_name_plural = _("tracking subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "company", "tracking_number"], name="tracking_subscription_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="tracking_subscription_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.tracking_number} ({self.status})"
