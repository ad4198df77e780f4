"""Durable SLA clocks, deadline extensions and notifications (R2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    PLAN = "plan", _("Clear plan")
    REVIEW = "review", _("Refund review")
    RETURN_SHIPMENT = "return_shipment", _("Buyer's return shipment")
    INSPECTION = "inspection", _("Inspection of returned goods")
    FINAL_REVIEW = "final_review", _("Second review")
    REFUND = "refund", _("Refund after approval")
    REPLACEMENT_SHIPMENT = "replacement_shipment", _("Merchant's shipment")
    PLATFORM_EVIDENCE = "platform_evidence", _("Evidence for the platform")
    APPEAL = "appeal", _("Appeal window")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")


class SlaClock(models.Model):
    """One deadline of one case. A row, not a sleep: it survives restarts (R2.7).

    `due_at` already includes pauses and extensions; while paused it is frozen and
    `remaining_at_pause` holds the time that was left.
    """

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="clocks",
        verbose_name=_("case"),
    )
    kind = models.CharField(_("clock"), max_length=24, choices=ClockKind.choices)
    state = models.CharField(
        _("state"), max_length=8, choices=ClockState.choices, default=ClockState.RUNNING
    )
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"))
    at_risk_at = models.DateTimeField(_("at risk from"))
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    remaining_at_pause = models.DurationField(_("time left when paused"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    at_risk_notified_at = models.DateTimeField(_("warning sent at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    is_buyer_clock = models.BooleanField(_("buyer's deadline"), default=False)
    policy_version = models.CharField(_("policy version"), max_length=64)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        constraints = [
            # At most one live clock of a kind per case; stopped clocks are history.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=~Q(state="stopped"),
                name="sla_clock_one_live_per_kind",
            )
        ]
        indexes = [
            # The sweeper's two questions: what turned at-risk, what breached.
            models.Index(
                fields=["at_risk_at"],
                condition=Q(state="running", at_risk_notified_at__isnull=True),
                name="sla_clock_due_warning",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(state="running", breached_at__isnull=True),
                name="sla_clock_due_breach",
            ),
            # The reports' overdue clocks of a period: live clocks whose due time passed.
            models.Index(
                fields=["shop", "due_at"],
                condition=~Q(state="stopped"),
                name="sla_clock_live_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}"


class DailyClockOutcome(models.Model):
    """The clocks stopped per shop, Shanghai day of the stop and kind, and how many of them
    were met (`outcomes.MET`): SLA compliance of a period read from its days, not from
    every clock (the analytics overview). Kept by `services._stop`, the one place a clock
    stops, in its transaction; a stopped clock never changes again, so its count never moves.
    """

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    day = models.DateField(_("day"))  # of the stop, Asia/Shanghai
    kind = models.CharField(_("clock"), max_length=24, choices=ClockKind.choices)
    clocks = models.IntegerField(_("clocks stopped"), default=0)
    met = models.IntegerField(_("clocks met"), default=0)

    class Meta:
        verbose_name = _("clock outcomes of a day")
        verbose_name_plural = _("clock outcomes of a day")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "kind"], name="daily_clock_outcome_unique"
            )
        ]


class DeadlineExtension(models.Model):
    """A deadline moved with a recorded reason and a message to the buyer (R2.6)."""

    clock = models.ForeignKey(
        SlaClock,
        on_delete=models.PROTECT,
        related_name="extensions",
        verbose_name=_("deadline"),
    )
    hours = models.PositiveIntegerField(_("hours"))
    reason = models.TextField(_("reason"))
    message_to_buyer = models.TextField(_("message to the buyer"))
    extended_by = models.CharField(_("extended by"), max_length=150)
    extended_at = models.DateTimeField(_("extended at"))

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")


class Notification(models.Model):
    """A warning or escalation for a person, written once per clock and kind."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk", _("Deadline at risk")
        BREACHED = "breached", _("Deadline breached")

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    clock = models.ForeignKey(SlaClock, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The unread count shown on every page of the workbench.
            models.Index(fields=["recipient", "read_at"], name="notification_inbox"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind", "recipient"], name="notification_once_per_clock"
            )
        ]
