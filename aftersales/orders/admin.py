"""Admin for buyers, orders and shipments.

Orders come from the platform; what was paid and refunded is never edited here (R3.2). The
buyer's and receiver's personal data appear masked only (R6.5): the raw phone, name and
address are not in any list or form of the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin, ReadOnlyInline, yuan

from .models import Order, OrderItem, Shipment, ShipmentEvent


class OrderItemInline(NoDeleteAdminMixin, admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = (
        "platform_item_id",
        "sku",
        "quantity",
        "list_price",
        "paid_amount",
        "refunded_amount",
        "return_exclusion_confirmed",
        "best_before",
    )
    # Quantity and amounts decide every refund cap; only the food date may be corrected.
    readonly_fields = (
        "platform_item_id",
        "sku",
        "quantity",
        "list_price",
        "paid_amount",
        "refunded_amount",
        "return_exclusion_confirmed",
    )
    list_price = yuan("list_price_fen", _("list unit price (yuan)"), ordering=False)
    paid_amount = yuan("paid_amount_fen", _("actually paid (yuan)"), ordering=False)
    refunded_amount = yuan("refunded_amount_fen", _("refunded (yuan)"), ordering=False)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fk_name = "order"
    fields = ("kind", "carrier", "tracking_number", "status", "case", "created_at")
    show_change_link = True


@admin.register(Order)
class OrderAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = (
        "platform_order_id",
        "shop",
        "buyer",
        "status",
        "paid_at",
        "shipping_fee_paid",
        "shipping_refunded",
    )
    list_filter = ("shop", "status", "has_shipping_insurance")
    list_select_related = ("shop", "buyer")
    search_fields = ("platform_order_id", "buyer__platform_buyer_id")
    date_hierarchy = "paid_at"
    show_full_result_count = False
    fields = (
        "shop",
        "platform_order_id",
        "buyer",
        "status",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "completed_at",
        "cancelled_at",
        "shipping_fee_paid",
        "shipping_refunded",
        "has_shipping_insurance",
        "receiver_masked",
    )
    readonly_fields = (
        "shop",
        "platform_order_id",
        "buyer",
        "paid_at",
        "shipping_fee_paid",
        "shipping_refunded",
        "has_shipping_insurance",
        "receiver_masked",
    )
    inlines = [OrderItemInline, ShipmentInline]
    shipping_fee_paid = yuan("shipping_fee_paid_fen", _("shipping fee paid (yuan)"))
    shipping_refunded = yuan("shipping_refunded_fen", _("shipping refunded (yuan)"))

    @admin.display(description=_("receiver"))
    def receiver_masked(self, obj: Order) -> str:
        receiver = obj.masked_receiver
        return " ".join(v for v in (receiver["name"], receiver["phone"], receiver["address"]) if v)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Orders come from the platform (sync or import), with what was actually paid.
        return False


class ShipmentEventInline(ReadOnlyInline):
    model = ShipmentEvent
    fields = ("status", "at", "note")


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Parcels change through the order and case services, which keep the status history."""

    list_display = ("tracking_number", "carrier", "kind", "status", "order", "case", "created_at")
    list_filter = ("shop", "kind", "status", "carrier")
    list_select_related = ("order", "case")
    search_fields = ("tracking_number", "order__platform_order_id", "case__platform_case_id")
    show_full_result_count = False
    inlines = [ShipmentEventInline]
