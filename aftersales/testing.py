"""Builders for tests, benchmarks and demo data. They go through the services."""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.catalog.models import Product, Sku
from aftersales.core.actors import Actor
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import Buyer, Order, OrderItem
from aftersales.orders.totals import count_order
from aftersales.shops.choices import Platform, Role
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user, add_member, create_shop

SYSTEM = Actor.system("test")
_counter = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}{next(_counter):08d}"


def make_shop(name: str = "测试店铺") -> Shop:
    return create_shop(
        platform=Platform.DOUYIN, platform_shop_id=next_id("shop"), name=name, by=SYSTEM
    )


def make_user(username: str, shop: Shop | None = None, role: str = Role.AGENT):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if shop is not None:
        add_member(shop=shop, user=user, role=role, by=SYSTEM)
    return user


def actor(user) -> Actor:
    return actor_for_user(user)


def png_bytes(
    width: int = 2,
    height: int = 2,
    *,
    top: tuple[int, int, int] = (200, 30, 30),
    bottom: tuple[int, int, int] | None = None,
    min_bytes: int = 0,
) -> bytes:
    """A small, real PNG (8-bit RGB) built by hand, no Pillow: one colour, `top`, or with
    `bottom` a vertical gradient from `top` to `bottom` (the demo's buyer photos).

    `min_bytes` makes a file of about that size: one row wide enough for that many bytes of
    pixels, stored uncompressed.
    """

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    if min_bytes:
        width, height = max(width, min_bytes // 3 + 1), 1
    end = top if bottom is None else bottom
    rows = []
    for y in range(height):
        mix = y / max(1, height - 1)
        pixel = bytes(round(a + (b - a) * mix) for a, b in zip(top, end, strict=True))
        rows.append(b"\x00" + pixel * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    level = 0 if min_bytes else zlib.Z_DEFAULT_COMPRESSION
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), level))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Line:
    """An order line: quantity, list unit price and what was actually paid for the line."""

    quantity: int = 1
    list_price_fen: int = 10000
    paid_amount_fen: int = 8800
    category: str = "apparel"
    name: str = "纯棉短袖T恤"


def make_order(
    shop: Shop,
    *,
    status: str = OrderStatus.DELIVERED,
    lines: Sequence[Line] = (Line(),),
    shipping_fee_fen: int = 1000,
    insured: bool = False,
    vip_level: int = 0,
    buyer: Buyer | None = None,
    paid_at: datetime | None = None,
) -> Order:
    paid_at = paid_at or timezone.now() - timedelta(days=5)
    if buyer is None:
        buyer = Buyer.objects.create(
            shop=shop,
            platform_buyer_id=next_id("buyer"),
            nickname="买家" + str(next(_counter)),
            phone="13812345678",
            vip_level=vip_level,
        )
    shipped = status in {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    delivered = status in {OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    order = Order.objects.create(
        shop=shop,
        buyer=buyer,
        platform_order_id=next_id("order"),
        status=status,
        paid_at=paid_at,
        shipped_at=paid_at + timedelta(days=1) if shipped else None,
        delivered_at=paid_at + timedelta(days=3) if delivered else None,
        shipping_fee_paid_fen=shipping_fee_fen,
        has_shipping_insurance=insured,
        receiver_name="张三丰",
        receiver_phone="13987654321",
        receiver_address="浙江省杭州市西湖区文三路100号",
    )
    items = []
    for line in lines:
        product = Product.objects.create(
            shop=shop,
            platform_product_id=next_id("prod"),
            name=line.name,
            category=line.category,
        )
        sku = Sku.objects.create(
            shop=shop,
            product=product,
            platform_sku_id=next_id("sku"),
            spec="默认",
            list_price_fen=line.list_price_fen,
        )
        items.append(
            OrderItem.objects.create(
                shop=shop,
                order=order,
                sku=sku,
                platform_item_id=next_id("item"),
                quantity=line.quantity,
                list_price_fen=line.list_price_fen,
                paid_amount_fen=line.paid_amount_fen,
            )
        )
    count_order(order, items)  # as every writer of orders does (the reports' daily totals)
    return order


def make_case(
    order: Order,
    *,
    type: str = "return_refund",
    reason: str = "no_reason",
    quantities: dict[int, int] | None = None,
    by: Actor = SYSTEM,
    **kwargs,
) -> Case:
    """Open a case on the order; by default for every item in full."""
    items = [
        case_services.RequestedItem(
            order_item=item, quantity=(quantities or {}).get(item.pk, item.quantity)
        )
        for item in order.items.order_by("pk")
        if quantities is None or item.pk in quantities
    ]
    return case_services.open_case(
        order=order, type=type, reason=reason, items=items, by=by, **kwargs
    )


# --- The browser (Debian's Chromium through Playwright) -------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def has_chromium() -> bool:
    return Path(CHROMIUM).exists()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, closed on leaving (a browser test's `browser` fixture).
    Playwright's sync API runs an event loop in the test's thread, so Django's check against
    database calls from async code is switched off first: the calls are synchronous."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
