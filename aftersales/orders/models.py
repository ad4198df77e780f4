"""Buyers, orders, the items as actually paid, and shipments."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.privacy import mask_address, mask_name, mask_phone

from .choices import OrderChannel, OrderStatus, Packaging, ShipmentKind, ShipmentStatus


class PhoneTail(models.Func):
    """A phone's last four digits, the 4 written into the SQL rather than passed as a
    parameter: the expression index on it (`buyer_shop_phone_tail`) is then the very
    expression a search compares, which SQLite needs to use it."""

    output_field = models.CharField()
    template = "RIGHT(%(expressions)s, 4)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template="SUBSTR(%(expressions)s, -4)", **extra)


class Buyer(models.Model):
    """A buyer as one shop knows them. The phone is stored but shown masked (R6.5)."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="buyers",
        verbose_name=_("shop"),
    )
    platform_buyer_id = models.CharField(_("platform buyer id"), max_length=64)
    nickname = models.CharField(_("nickname"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    vip_level = models.PositiveSmallIntegerField(_("VIP level"), default=0)

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_buyer_id"], name="buyer_unique_platform_id"
            )
        ]
        # The queue's search (`cases.fetch.matching_buyer_ids`): a nickname or its
        # beginning (the pattern operator class lets PostgreSQL use the index for LIKE
        # 'x%'), the whole phone, the phone's last four digits.
        indexes = [
            models.Index(
                fields=["shop", "nickname"],
                name="buyer_shop_nickname",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["shop", "phone"], name="buyer_shop_phone"),
            models.Index(F("shop"), PhoneTail("phone"), name="buyer_shop_phone_tail"),
        ]

    def __str__(self) -> str:
        return self.nickname or self.platform_buyer_id

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_vip(self) -> bool:
        return self.vip_level > 0


class Order(models.Model):
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("shop"),
    )
    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("buyer"),
    )
    platform_order_id = models.CharField(_("platform order id"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.UNSHIPPED
    )
    paid_at = models.DateTimeField(_("paid at"))
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("signed for at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    shipping_fee_paid_fen = models.PositiveBigIntegerField(_("shipping fee paid (fen)"), default=0)
    shipping_refunded_fen = models.PositiveBigIntegerField(_("shipping refunded (fen)"), default=0)
    has_shipping_insurance = models.BooleanField(_("shipping insurance (运费险)"), default=False)
    receiver_name = models.CharField(_("receiver"), max_length=64, blank=True)
    receiver_phone = models.CharField(_("receiver phone"), max_length=32, blank=True)
    receiver_address = models.CharField(_("address"), max_length=255, blank=True)
    # Where the buyer bought (the platform's sku_order_list: room_id, video_id, author_name).
    channel = models.CharField(
        _("channel"), max_length=16, choices=OrderChannel.choices, blank=True, default=""
    )
    live_room_id = models.CharField(_("live room"), max_length=32, blank=True, default="")
    live_author = models.CharField(_("streamer"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_order_id"], name="order_unique_platform_id"
            ),
            # Shipping can be refunded at most once and never above what was paid (R3.3).
            models.CheckConstraint(
                condition=Q(shipping_refunded_fen__lte=F("shipping_fee_paid_fen")),
                name="order_shipping_refund_within_paid",
            ),
        ]
        indexes = [models.Index(fields=["shop", "-paid_at"], name="order_shop_paid")]

    def __str__(self) -> str:
        return self.platform_order_id

    @property
    def masked_receiver(self) -> dict[str, str]:
        return {
            "name": mask_name(self.receiver_name),
            "phone": mask_phone(self.receiver_phone),
            "address": mask_address(self.receiver_address),
        }


class OrderItem(models.Model):
    """A line of an order, with what the buyer **actually paid** after discounts (R3.2)."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="items")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    platform_item_id = models.CharField(_("sub-order id"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"))
    list_price_fen = models.PositiveBigIntegerField(_("list unit price (fen)"))
    paid_amount_fen = models.PositiveBigIntegerField(_("actually paid for the line (fen)"))
    refunded_amount_fen = models.PositiveBigIntegerField(_("refunded (fen)"), default=0)
    return_exclusion_confirmed = models.BooleanField(
        _("buyer confirmed no-reason-return exclusion at purchase"), default=False
    )
    best_before = models.DateField(_("best before"), null=True, blank=True)

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_item_id"], name="order_item_unique_platform_id"
            ),
            # The database itself refuses refunding more than was paid (R3.2).
            models.CheckConstraint(
                condition=Q(refunded_amount_fen__lte=F("paid_amount_fen")),
                name="order_item_refund_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform_item_id} × {self.quantity}"

    @property
    def refundable_fen(self) -> int:
        return self.paid_amount_fen - self.refunded_amount_fen


class Shipment(models.Model):
    """A parcel: the original delivery, a return, a replacement, a resend or a repair."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="shipments",
        verbose_name=_("order"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("case"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ShipmentKind.choices)
    carrier = models.CharField(_("carrier"), max_length=32)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATED
    )
    # How the parcel was packed (outbound parcels; the damage-in-transit report reads it).
    packaging = models.CharField(
        _("packaging"), max_length=16, choices=Packaging.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [models.Index(fields=["carrier", "tracking_number"], name="shipment_tracking")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentEvent(models.Model):
    """One step of a parcel's status history."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="history")
    status = models.CharField(_("status"), max_length=16, choices=ShipmentStatus.choices)
    at = models.DateTimeField(_("time"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    # Where the carrier scanned the parcel (a city or an outlet, as the carrier's tracking
    # writes it; blank when the step has no place). The abuse signal of a return tracking
    # number on another route compares its ends with the buyer's and the shop's addresses.
    place = models.CharField(_("place"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")


class DailyOrderTotal(models.Model):
    """Orders paid and the goods amount paid per shop, Shanghai day, channel and live room,
    kept by the writes of orders (`totals.count_order`) in their own transaction; equal to
    `totals.recount_order_totals` (the tests prove it after random activity)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16, default="")
    live_room_id = models.CharField(max_length=32, default="")
    orders = models.IntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "channel", "live_room_id"], name="daily_order_total_unique"
            )
        ]


class ProductDailyOrders(models.Model):
    """Orders with at least one item of the product, and what was paid for its items, per
    shop, product and Shanghai day of payment (the problem products' denominators)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    orders = models.IntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "product"], name="product_daily_orders_unique"
            )
        ]
