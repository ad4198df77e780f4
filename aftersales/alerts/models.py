"""The shop's group robots and the alerts they carry to the team (issue 13)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .robots import RobotKind


class AlertKind(models.TextChoices):
    SLA_BREACHED = "sla_breached", _("Deadline breached")
    INCIDENT_PROPOSED = "incident_proposed", _("Incident proposed")
    INCIDENT_DECLARED = "incident_declared", _("Incident declared")
    PLATFORM_WARNING = "platform_warning", _("Platform ticket warning")


class RobotChannel(models.Model):
    """One group robot of a shop and which alerts it carries. The webhook URL holds the
    robot's key (WeCom) or token (DingTalk, Feishu): it is a secret like `secret`, and
    screens show both masked."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    kind = models.CharField(_("robot"), max_length=16, choices=RobotKind.choices)
    name = models.CharField(_("name"), max_length=100)
    webhook_url = models.CharField(_("webhook URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    alert_kinds = models.JSONField(_("alerts"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        indexes = [models.Index(fields=["shop", "active"], name="alert_channel_shop")]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.kind}:{self.name}"


class Alert(models.Model):
    """Something the team must hear of, once: `key` names its source (a breached clock, an
    incident), so finding it again raises nothing twice."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    key = models.CharField(_("source"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=200)
    lines = models.JSONField(_("lines"), default=list)
    link = models.CharField(_("link"), max_length=300, blank=True)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["shop", "-created_at"], name="alert_shop_recent")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class AlertDelivery(models.Model):
    """One alert to one robot: tried by the task worker, again with growing waits, until the
    robot takes it or the tries run out."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.ForeignKey(RobotChannel, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="alert_delivery_due",
            )
        ]
