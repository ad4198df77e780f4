"""Builders for the analytics tests: products shared by many orders, orders paid at a given
Shanghai time, and cases moved through the real services at given times."""

from __future__ import annotations

from datetime import datetime

import time_machine
from django.test import Client

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.catalog.models import Product, Sku
from aftersales.orders.choices import OrderStatus, ShipmentKind
from aftersales.orders.models import Buyer, Order, OrderItem, Shipment
from aftersales.orders.totals import count_order
from aftersales.workdays.calendar import SHANGHAI

SYSTEM = testing.SYSTEM


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on the Shanghai clock."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def product(shop, name: str = "连衣裙", category: str = "apparel", spec: str = "M") -> Sku:
    """A product with one SKU; returns the SKU (its `product` is the product)."""
    prod = Product.objects.create(
        shop=shop, platform_product_id=testing.next_id("p"), name=name, category=category
    )
    return Sku.objects.create(
        shop=shop,
        product=prod,
        platform_sku_id=testing.next_id("s"),
        spec=spec,
        list_price_fen=12000,
    )


def order(
    shop,
    sku: Sku,
    paid_at: datetime,
    *,
    paid_fen: int = 10000,
    quantity: int = 1,
    carrier: str = "",
    status: str = OrderStatus.DELIVERED,
    channel: str = "",
    live_room: str = "",
    packaging: str = "",
) -> Order:
    buyer = Buyer.objects.create(
        shop=shop,
        platform_buyer_id=testing.next_id("b"),
        nickname="买家",
        phone="13812345678",
    )
    placed = Order.objects.create(
        shop=shop,
        buyer=buyer,
        platform_order_id=testing.next_id("o"),
        status=status,
        paid_at=paid_at,
        shipped_at=paid_at if status != OrderStatus.UNSHIPPED else None,
        delivered_at=paid_at if status == OrderStatus.DELIVERED else None,
        shipping_fee_paid_fen=0,
        channel=channel or ("live" if live_room else ""),
        live_room_id=live_room,
        live_author=f"主播{live_room}" if live_room else "",
        receiver_name="张三丰",
        receiver_phone="13987654321",
        receiver_address="浙江省杭州市西湖区文三路100号",
    )
    item = OrderItem.objects.create(
        shop=shop,
        order=placed,
        sku=sku,
        platform_item_id=testing.next_id("i"),
        quantity=quantity,
        list_price_fen=12000,
        paid_amount_fen=paid_fen,
    )
    count_order(placed, [item])
    if carrier:
        Shipment.objects.create(
            shop=shop,
            order=placed,
            kind=ShipmentKind.OUTBOUND,
            carrier=carrier,
            tracking_number=testing.next_id("t"),
            packaging=packaging,
            created_at=paid_at,
        )
    return placed


def open_case(
    placed: Order, applied_at: datetime, *, reason: str = "no_reason", type="return_refund"
) -> Case:
    with at(applied_at):
        return testing.make_case(placed, type=type, reason=reason, applied_at=applied_at)


def refund_return(case: Case, *, approved: datetime, refunded: datetime, by=SYSTEM) -> Case:
    """Approve a return, receive and inspect it, approve again and pay the refund."""
    with at(approved):
        case_services.approve_case(case=case, by=by)
        case_services.receive_return(case=case, by=by)
        case_services.inspect_return(case=case, result="pass", condition="good", by=by)
        case_services.approve_after_inspection(case=case, by=by)
    with at(refunded):
        decision = case_services.refund_case(case=case, by=by)
        case_services.execute_refund(execution=decision.execution, by=by)
    case.refresh_from_db()
    return case


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
