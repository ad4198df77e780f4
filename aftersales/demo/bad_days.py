"""The demo's bad day (issue 13): an incident declared on the product with the most open cases,
and a few abuse signals worth reviewing — the same return tracking number on two cases, the
same photo (resized and recompressed) on the claims of two buyers, and a return whose carrier
scans (a signed 快递100 push through the receiver) start in another city than the buyer's.
Written through the services at the end of the history, so the reactions raise the signals as
they would live."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef
from PIL import Image, ImageDraw

from aftersales.cases import services as case_services
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.models import Case, CaseItem
from aftersales.core.actors import Actor
from aftersales.incidents import services as incident_services
from aftersales.intake.services import settle_case
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import Order
from aftersales.platforms.kuaidi100 import services as tracking_services
from aftersales.platforms.kuaidi100.models import TrackingLink
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user
from aftersales.signals import services as signal_services
from aftersales.signals.models import Signal
from aftersales.signals.places import city_of

DEMO_TRACKING_SALT = "demo-kuaidi100-salt"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _photo(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256),) * 3)
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + rng.randrange(30, 200), y + rng.randrange(30, 200)], fill=colour)
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _claim(placed: Order, type: str, reason: str) -> Case:
    """A case for the whole order, opened by its buyer and given to a person on duty."""
    items = [
        case_services.RequestedItem(order_item=item, quantity=item.quantity)
        for item in placed.items.order_by("pk")
    ]
    case = case_services.open_case(
        order=placed,
        type=type,
        reason=reason,
        items=items,
        by=Actor.buyer(placed.buyer.nickname or "buyer"),
        buyer_statement="收到的商品有问题",
    )
    return settle_case(case, by=Actor.system("demo"), triage=False)


def _quiet_orders(shop: Shop, n: int) -> list[Order]:
    """Delivered orders of `n` different buyers that have no case yet, the latest first."""
    chosen: list[Order] = []
    buyers: set[int] = set()
    candidates = (
        Order.objects.filter(shop=shop, status=OrderStatus.DELIVERED)
        .exclude(Exists(Case.objects.filter(order=OuterRef("pk"))))
        .select_related("buyer")
        .order_by("-paid_at", "pk")[:200]
    )
    for placed in candidates:
        if placed.buyer_id not in buyers:
            chosen.append(placed)
            buyers.add(placed.buyer_id)
        if len(chosen) == n:
            break
    return chosen


def seed_bad_days(shops: Sequence[Shop], users: dict[str, Any], now: datetime) -> dict[str, int]:
    """One incident and a few signals in the first history shop. Returns what was made."""
    if not shops:
        return {"incidents": 0, "signals": 0}
    shop = shops[0]
    supervisor = actor_for_user(users["supervisor"])
    buyer = Actor.buyer("demo-buyer")
    made = {"incidents": 0, "signals": 0}
    before = Signal.objects.filter(shop=shop).count()

    open_cases = Case.objects.filter(shop=shop).exclude(status__in=TERMINAL_STATUSES)
    top = (
        CaseItem.objects.filter(case__in=open_cases)
        .values("order_item__sku__product_id", "order_item__sku__product__name")
        .annotate(n=Count("case", distinct=True))
        .order_by("-n", "order_item__sku__product_id")
        .first()
    )
    if top is not None:
        incident_services.declare_incident(
            shop=shop,
            kind="batch_defect",
            title=f"{top['order_item__sku__product__name']} 本周批次质量问题",
            description="多位买家反馈同一批次开线、色差，供应商已确认，统一安抚并加快处理。",
            scope=incident_services.Scope(product_id=top["order_item__sku__product_id"]),
            since=now - timedelta(days=14),
            target_hours=4,
            by=supervisor,
        )
        made["incidents"] += 1

    # New claims on quiet orders of four buyers, through the services: two returns sent under
    # the same tracking number, and the same photo (resized, recompressed) on two claims.
    orders = _quiet_orders(shop, 5)
    if len(orders) >= 4:
        for placed in orders[:2]:
            case = _claim(placed, "return_refund", "quality_issue")
            case_services.approve_case(case=case, by=supervisor)
            case_services.record_return_shipment(
                case=case, carrier="yunda", tracking_number="4318902765512", by=buyer
            )
        picture = _photo(13)
        photos = (_jpeg(picture, 90), _jpeg(picture.resize((240, 180)), 55))
        for placed, data in zip(orders[2:4], photos, strict=True):
            case = _claim(placed, "refund_shipped", "damaged")
            case_services.record_buyer_evidence(
                case=case,
                uploads=[case_services.Upload(io.BytesIO(data), "IMG_2041.jpg")],
                by=buyer,
                note="商品破损照片",
            )
            signal_services.check_reused_images(case.pk)  # the seed commits later

    if len(orders) == 5:
        _returned_from_elsewhere(orders[4], supervisor, buyer, now)

    signal_services.scan(now)
    made["signals"] = Signal.objects.filter(shop=shop).count() - before
    return made


def _returned_from_elsewhere(placed: Order, supervisor: Actor, buyer: Actor, now: datetime) -> None:
    """A return sent under a tracking number the carrier picked up far from the buyer: the
    shop's tracking subscription pushes its scans, signed, through the receiver."""
    case = _claim(placed, "return_refund", "not_as_described")
    case_services.approve_case(case=case, by=supervisor)
    number = f"YT{placed.pk:011d}"
    case_services.record_return_shipment(
        case=case, carrier="yuantong", tracking_number=number, by=buyer
    )
    link, _ = TrackingLink.objects.get_or_create(
        shop=placed.shop, defaults={"salt": DEMO_TRACKING_SALT}
    )
    far = "拉萨市" if city_of(placed.receiver_address) == "乌鲁木齐" else "乌鲁木齐市"
    region = "西藏" if far == "拉萨市" else "新疆"

    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

    scans = [  # newest first, as the aggregator pushes them
        (at(6), f"{region},{far}", "在途", f"快件离开【{far}转运中心】，发往下一站"),
        (at(20), f"{region},{far}", "揽收", f"【{far}】天山区网点 已揽收"),
    ]
    param = json.dumps(
        {
            "status": "polling",
            "message": "",
            "lastResult": {
                "nu": number,
                "com": "yuantong",
                "state": "0",
                "ischeck": "0",
                "data": [
                    {"context": text, "time": t, "ftime": t, "areaName": area, "status": word}
                    for t, area, word, text in scans
                ],
            },
        },
        ensure_ascii=False,
    )
    tracking_services.receive_tracking_push(
        shop_id=placed.shop_id, param=param, sign=tracking_services.sign_of(param, link.salt)
    )
