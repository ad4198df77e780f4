"""The Douyin adapter's tables: the shop's connection, what came in, what goes out.

Every row carries its shop (directly or through the link), like the rest of the product.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    AttemptOutcome,
    MessageStatus,
    NotificationEvent,
    OperationKind,
    OperationStatus,
    SignMethod,
)

PRODUCTION_GATEWAY = "https://openapi-fxg.jinritemai.com"


class DouyinShopLink(models.Model):
    """How one shop is connected to the open platform: the app, the gateway, the tokens."""

    shop = models.OneToOneField(
        "shops.Shop", on_delete=models.PROTECT, related_name="douyin_link", verbose_name=_("shop")
    )
    app_key = models.CharField(_("app key"), max_length=64, db_index=True)
    # Kept in the database so the demo and the tests are self-contained. Production should
    # hold the secret in environment/secret storage (a `*_FILE` secret, a vault or KMS) and
    # keep only a reference here; the client reads it through `DouyinShopLink.secret()`.
    app_secret = models.CharField(_("app secret"), max_length=128)
    platform_shop_id = models.CharField(_("platform shop id"), max_length=64)
    # The simulator's address in the demo and tests; PRODUCTION_GATEWAY in production.
    gateway_url = models.URLField(_("gateway base URL"), default=PRODUCTION_GATEWAY)
    sign_method = models.CharField(
        _("sign method"), max_length=16, choices=SignMethod.choices, default=SignMethod.MD5
    )
    access_token = models.CharField(_("access token"), max_length=256, blank=True)
    refresh_token = models.CharField(_("refresh token"), max_length=256, blank=True)
    token_expires_at = models.DateTimeField(_("token expires at"), null=True, blank=True)
    # Agreeing a return (operate 101) needs the merchant's return address id on the platform.
    receiver_address_id = models.CharField(_("return address id"), max_length=64, blank=True)
    # The same address in words, for the buyer's message when a return is agreed (R3.5).
    return_address = models.CharField(
        _("return address (as the buyer reads it)"), max_length=255, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Douyin shop link")
        verbose_name_plural = _("Douyin shop links")
        constraints = [
            # One app may serve several shops (an ISV app); pushes say which by shop_id.
            models.UniqueConstraint(
                fields=["app_key", "platform_shop_id"], name="douyin_link_unique_app_shop"
            )
        ]

    def __str__(self) -> str:
        return f"{self.shop} ({self.app_key})"

    def secret(self) -> str:
        return self.app_secret


class InboundMessage(models.Model):
    """One push message, kept as it arrived, before the push is answered (R13.1).

    A valid message is one row per `msg_id`; a redelivery is counted, not stored again.
    Refused pushes (bad signature, unreadable body) are kept too, whole, for inspection.
    """

    link = models.ForeignKey(
        DouyinShopLink,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("Douyin shop link"),
    )
    app_key = models.CharField(_("app key"), max_length=64, blank=True)
    msg_id = models.CharField(_("message id"), max_length=128, null=True, blank=True)
    tag = models.CharField(_("tag"), max_length=16, blank=True)
    body = models.TextField(_("raw body"))
    headers = models.JSONField(_("headers"), default=dict)
    data = models.JSONField(_("data"), null=True, blank=True)
    aftersale_id = models.CharField(_("after-sale id"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.RECEIVED
    )
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    deliveries = models.PositiveIntegerField(_("times delivered"), default=1)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    claimed_at = models.DateTimeField(_("processing started"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound push message")
        verbose_name_plural = _("inbound push messages")
        constraints = [
            models.UniqueConstraint(
                fields=["app_key", "msg_id"],
                condition=Q(msg_id__isnull=False),
                name="douyin_message_unique_msg_id",
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="douyin_message_status")]

    def __str__(self) -> str:
        return f"{self.tag} {self.msg_id or '-'} ({self.status})"


class DouyinAftersale(models.Model):
    """The platform's view of one after-sale as last read from Detail, beside its case.

    `update_time` orders what we learn: a Detail older than the one already applied is
    ignored, so pushes arriving out of order cannot move a case backwards.
    """

    link = models.ForeignKey(
        DouyinShopLink,
        on_delete=models.PROTECT,
        related_name="aftersales",
        verbose_name=_("Douyin shop link"),
    )
    case = models.OneToOneField(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="douyin",
        null=True,
        blank=True,
        verbose_name=_("case"),
    )
    aftersale_id = models.CharField(_("after-sale id"), max_length=64)
    order_id = models.CharField(_("order id"), max_length=64)
    platform_status = models.IntegerField(_("platform status"))
    # The status before the last change we saw: tells a buyer re-applying after a refusal
    # (27 → 6) from a refusal that never reached the platform.
    previous_status = models.IntegerField(_("previous platform status"), null=True, blank=True)
    refund_status = models.IntegerField(_("platform refund status"), null=True, blank=True)
    arbitrate_status = models.IntegerField(_("arbitration status"), null=True, blank=True)
    update_time = models.BigIntegerField(_("platform update time (unix)"))
    status_deadline = models.DateTimeField(_("platform deadline"), null=True, blank=True)
    detail = models.JSONField(_("last Detail"), default=dict)
    synced_at = models.DateTimeField(_("last read"))

    class Meta:
        verbose_name = _("Douyin after-sale")
        verbose_name_plural = _("Douyin after-sales")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "aftersale_id"], name="douyin_aftersale_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.aftersale_id} ({self.platform_status})"


class OutboxOperation(models.Model):
    """One thing the product tells the platform, written in the transaction of the decision.

    A worker delivers it; each attempt is an `OutboxAttempt`. Operations of one case go out
    in the order they were decided (an agreement before the second review); a message to
    the buyer never holds anything up.
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
        related_name="platform_operations",
        verbose_name=_("case"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=OperationKind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    cause = models.CharField(_("caused by event"), max_length=48, blank=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=OperationStatus.choices,
        default=OperationStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("platform operation")
        verbose_name_plural = _("platform operations")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="douyin_outbox_due"),
            models.Index(fields=["case", "status"], name="douyin_outbox_case"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} case #{self.case_id} ({self.status})"


class OutboxAttempt(models.Model):
    """One try at delivering an operation: when, how it ended, the platform's log id."""

    operation = models.ForeignKey(
        OutboxOperation, on_delete=models.PROTECT, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=AttemptOutcome.choices, blank=True
    )
    log_id = models.CharField(_("platform log id"), max_length=128, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["operation", "number"]


class ApiCallLog(models.Model):
    """Every HTTP call to the gateway, one row per try (R13.1: every call logged)."""

    link = models.ForeignKey(
        DouyinShopLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Douyin shop link"),
    )
    method = models.CharField(_("method"), max_length=64)
    log_id = models.CharField(_("platform log id"), max_length=128, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    code = models.IntegerField(_("code"), null=True, blank=True)
    sub_code = models.CharField(_("sub code"), max_length=128, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    attempt = models.PositiveSmallIntegerField(_("try"), default=1)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")


class SyncCursor(models.Model):
    """How far the incremental sync has read the shop's after-sales (by update_time)."""

    link = models.OneToOneField(
        DouyinShopLink,
        on_delete=models.CASCADE,
        related_name="cursor",
        verbose_name=_("Douyin shop link"),
    )
    last_window_end = models.BigIntegerField(_("last window end (unix)"), default=0)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_run_items = models.PositiveIntegerField(_("items in last run"), default=0)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")


class BuyerMessageTemplate(models.Model):
    """The text sent to the buyer at a step (R3.5), with {variables}; editable in the admin.

    A shop's own template wins over the installation's default (shop empty).
    """

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shop"),
    )
    event = models.CharField(_("step"), max_length=32, choices=NotificationEvent.choices)
    text = models.TextField(
        _("text"),
        help_text=_(
            "Variables: {case_id} {order_id} {aftersale_id} {buyer} {amount_yuan} "
            "{carrier} {tracking_number} {reason} {shop} {next_step} {note} {return_by} "
            "{return_address}"
        ),
    )
    is_active = models.BooleanField(_("send"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("buyer message template")
        verbose_name_plural = _("buyer message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "event"], name="douyin_template_unique_shop_event"
            ),
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(shop__isnull=True),
                name="douyin_template_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.shop or '默认'})"
