"""Abuse signals (issue 13): each rule with its threshold, its evidence, never a change to the
case; reviews (confirm / dismiss) and each rule's precision; tenant isolation."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from PIL import Image, ImageDraw

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.core.errors import Conflict, NotFound, PermissionDenied
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Buyer, Shipment
from aftersales.orders.services import update_shipment_status
from aftersales.shops.choices import Role
from aftersales.signals import hashing, services
from aftersales.signals.models import RuleCode, Signal

SYSTEM = testing.SYSTEM


@pytest.fixture
def sup_a(shop_a):
    return testing.make_user("suzy", shop_a, Role.SUPERVISOR)


def _buyer(shop, buyer_id="douyin-buyer-1", phone="13800000001"):
    return Buyer.objects.create(shop=shop, platform_buyer_id=buyer_id, nickname="买家", phone=phone)


def _signals(case, rule):
    return list(Signal.objects.filter(case=case, rule=rule))


def picture(seed: int, size=(640, 480)) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256),) * 3)
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + rng.randrange(40, 250), y + rng.randrange(40, 250)], fill=colour)
    return image


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def test_perceptual_hash_survives_resize_and_recompression_not_another_picture():
    original = hashing.picture_hash(jpeg(picture(1), quality=92))
    copy = hashing.picture_hash(jpeg(picture(1).resize((300, 225)), quality=45))
    other = hashing.picture_hash(jpeg(picture(2), quality=92))
    assert original and copy and other and original.informative
    assert original.distance(copy) <= 6 < 20 <= original.distance(other)
    plain = hashing.picture_hash(testing.png_bytes(96, 72, top=(200, 30, 30), bottom=(30, 30, 200)))
    assert plain is not None and not plain.informative  # a gradient is never compared


def test_issue13_many_refund_only_requests_of_one_buyer_across_the_merchants_shops(shop_a, shop_b):
    admin = testing.make_user("owner", shop_a, Role.ADMIN)
    from aftersales.shops.services import add_member

    add_member(shop=shop_b, user=admin, role=Role.ADMIN, by=SYSTEM)  # one merchant, two shops
    first = testing.make_case(
        testing.make_order(shop_a, buyer=_buyer(shop_a)),
        type="refund_shipped",
        reason="quality_issue",
    )
    second = testing.make_case(
        testing.make_order(shop_b, buyer=_buyer(shop_b)),
        type="refund_shipped",
        reason="quality_issue",
    )
    assert not Signal.objects.exists()
    third = testing.make_case(
        testing.make_order(shop_a, buyer=Buyer.objects.get(shop=shop_a)),
        type="refund_shipped",
        reason="quality_issue",
    )
    (signal,) = _signals(third, RuleCode.REFUND_ONLY_BUYER)
    assert signal.evidence["count"] == 3 and signal.evidence["shops"] == 2
    assert set(signal.evidence["cases"]) == {first.pk, second.pk, third.pk}
    third.refresh_from_db()
    assert third.status == "pending_review"  # a signal never decides


def test_issue13_refund_only_from_an_unrelated_shop_does_not_count(shop_a, shop_b):
    testing.make_case(
        testing.make_order(shop_b, buyer=_buyer(shop_b)),
        type="refund_shipped",
        reason="quality_issue",
    )
    testing.make_case(
        testing.make_order(shop_b, buyer=Buyer.objects.get(shop=shop_b)),
        type="refund_shipped",
        reason="quality_issue",
    )
    case = testing.make_case(
        testing.make_order(shop_a, buyer=_buyer(shop_a)),
        type="refund_shipped",
        reason="quality_issue",
    )
    assert _signals(case, RuleCode.REFUND_ONLY_BUYER) == []


def _returning(shop, **kwargs):
    case = testing.make_case(testing.make_order(shop, **kwargs), reason="quality_issue")
    case_services.approve_case(case=case, by=SYSTEM)
    return case


def test_issue13_the_same_return_tracking_number_on_two_cases(shop_a):
    one, two, three = _returning(shop_a), _returning(shop_a), _returning(shop_a)
    case_services.record_return_shipment(
        case=one, carrier="yunda", tracking_number="YD123456", by=SYSTEM
    )
    case_services.record_return_shipment(
        case=three, carrier="yunda", tracking_number="YD999999", by=SYSTEM
    )
    assert not Signal.objects.exists()
    case_services.record_return_shipment(
        case=two, carrier="yunda", tracking_number=" yd123456 ", by=SYSTEM
    )
    assert {s.case_id for s in Signal.objects.filter(rule=RuleCode.SHARED_RETURN_TRACKING)} == {
        one.pk,
        two.pk,
    }
    assert Signal.objects.get(case=two).evidence["tracking_number"] == "yd123456"


def test_issue13_a_return_tracking_number_that_never_moves(shop_a):
    still, moving = _returning(shop_a), _returning(shop_a)
    case_services.record_return_shipment(
        case=still, carrier="yunda", tracking_number="YD1", by=SYSTEM
    )
    case_services.record_return_shipment(
        case=moving, carrier="yunda", tracking_number="YD2", by=SYSTEM
    )
    update_shipment_status(
        shipment=Shipment.objects.get(case=moving, kind=ShipmentKind.RETURN),
        status=ShipmentStatus.IN_TRANSIT,
    )
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        assert services.scan()[0] == 0  # 3 days: not yet
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=False):
        assert services.scan()[0] == 1
        assert services.scan()[0] == 0  # once
    (signal,) = Signal.objects.all()
    assert signal.case_id == still.pk and signal.evidence["tracking_number"] == "YD1"


def test_issue13_an_inspection_that_finds_another_item(shop_a):
    wrong, fine = _returning(shop_a), _returning(shop_a)
    for case, condition in ((wrong, "not_sent_item"), (fine, "good")):
        case_services.receive_return(case=case, by=SYSTEM)
        case_services.inspect_return(
            case=case,
            result="fail" if condition != "good" else "pass",
            condition=condition,
            notes="寄回的是旧款" if condition != "good" else "",
            by=SYSTEM,
        )
    (signal,) = Signal.objects.filter(rule=RuleCode.INSPECTION_MISMATCH)
    assert signal.case_id == wrong.pk and signal.evidence["findings"] == ["not_sent_item"]


def test_issue13_the_same_photo_on_claims_of_different_buyers(
    shop_a, django_capture_on_commit_callbacks
):
    def claim(data: bytes):
        case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
        with django_capture_on_commit_callbacks(execute=True):
            case_services.record_buyer_evidence(
                case=case, uploads=[case_services.Upload(io.BytesIO(data), "photo.jpg")], by=SYSTEM
            )
        return case

    first = claim(jpeg(picture(7), quality=90))
    other_picture = claim(jpeg(picture(8), quality=90))
    copied = claim(jpeg(picture(7).resize((320, 240)), quality=50))
    assert _signals(other_picture, RuleCode.REUSED_IMAGE) == []
    (signal,) = _signals(copied, RuleCode.REUSED_IMAGE)
    assert signal.evidence["matches"][0]["case"] == first.pk
    assert signal.evidence["matches"][0]["other_buyer"] is True


def test_issue13_refund_only_right_after_an_interception(shop_a):
    placed = testing.make_order(shop_a, status="shipped")
    parcel = Shipment.objects.create(
        shop=shop_a,
        order=placed,
        kind=ShipmentKind.OUTBOUND,
        carrier="yunda",
        tracking_number="YD777",
        created_at=timezone.now() - timedelta(days=1),
    )
    update_shipment_status(shipment=parcel, status=ShipmentStatus.INTERCEPTED)
    with time_machine.travel(timezone.now() + timedelta(hours=5), tick=False):
        case = testing.make_case(placed, type="refund_shipped", reason="not_received")
    (signal,) = _signals(case, RuleCode.REFUND_AFTER_INTERCEPTION)
    assert 4.9 <= signal.evidence["hours"] <= 5.1 and signal.evidence["source"] == "parcel"


def test_issue13_review_feeds_precision_and_only_leads_review(shop_a, alice, carol, sup_a):
    cases = [_returning(shop_a) for _ in range(3)]
    for case in cases:
        case_services.record_return_shipment(
            case=case, carrier="yunda", tracking_number="SAME", by=SYSTEM
        )
    signals = list(Signal.objects.order_by("pk"))
    assert len(signals) == 3
    with pytest.raises(PermissionDenied):
        services.review_signal(signal=signals[0], verdict="confirm", by=testing.actor(alice))
    with pytest.raises(NotFound):
        services.get_signal_for_actor(testing.actor(carol), signals[0].pk)
    services.review_signal(signal=signals[0], verdict="confirm", by=testing.actor(sup_a))
    services.review_signal(
        signal=signals[1], verdict="dismiss", by=testing.actor(sup_a), note="同一快递员揽收"
    )
    with pytest.raises(Conflict):
        services.review_signal(signal=signals[1], verdict="confirm", by=testing.actor(sup_a))
    row = next(
        p
        for p in services.precision_by_rule(shop_a.pk)
        if p.rule.code == RuleCode.SHARED_RETURN_TRACKING
    )
    assert (row.confirmed, row.dismissed, row.open, row.precision) == (1, 1, 1, 0.5)
    for case in cases:
        case.refresh_from_db()
        assert case.status == "awaiting_return"


def test_issue13_a_rule_is_data_its_threshold_changes_what_fires(shop_a):
    admin = testing.make_user("owner", shop_a, Role.ADMIN)
    services.update_rule(
        shop=shop_a,
        code=RuleCode.REFUND_ONLY_BUYER,
        threshold=2,
        window_days=30,
        active=True,
        by=testing.actor(admin),
    )
    buyer = _buyer(shop_a)
    testing.make_case(
        testing.make_order(shop_a, buyer=buyer), type="refund_shipped", reason="quality_issue"
    )
    second = testing.make_case(
        testing.make_order(shop_a, buyer=buyer), type="refund_shipped", reason="quality_issue"
    )
    assert _signals(second, RuleCode.REFUND_ONLY_BUYER)
    services.update_rule(
        shop=shop_a,
        code=RuleCode.REFUND_ONLY_BUYER,
        threshold=2,
        window_days=30,
        active=False,
        by=testing.actor(admin),
    )
    third = testing.make_case(
        testing.make_order(shop_a, buyer=buyer), type="refund_shipped", reason="quality_issue"
    )
    assert _signals(third, RuleCode.REFUND_ONLY_BUYER) == []


# --- A return tracking number of another route ------------------------------------------------


def _linked(shop, address="浙江省杭州市余杭区仓前街道良睦路1号 退货仓"):
    from aftersales.platforms.douyin.models import DouyinShopLink

    DouyinShopLink.objects.create(
        shop=shop,
        app_key=f"key-{shop.pk}",
        app_secret="secret",
        platform_shop_id=shop.platform_shop_id,
        return_address=address,
    )


def _returned(shop, number, scans):
    """A return whose carrier scanned it at `scans` [(status, place)] before the warehouse
    took it in (the buyer's address is in Hangzhou: `testing.make_order`)."""
    case = _returning(shop)
    case_services.record_return_shipment(
        case=case, carrier="yunda", tracking_number=number, by=SYSTEM
    )
    shipment = Shipment.objects.get(case=case, kind=ShipmentKind.RETURN)
    for status, place in scans:
        update_shipment_status(shipment=shipment, status=status, place=place)
    case_services.receive_return(case=case, by=SYSTEM)
    return case


def test_city_of_addresses_and_scan_places():
    from aftersales.signals.places import city_of

    assert city_of("浙江省杭州市余杭区仓前街道") == city_of("【杭州市】余杭仓前网点") == "杭州"
    assert city_of("杭州") == "杭州" and city_of("上海市浦东新区") == "上海"
    assert city_of("新疆维吾尔自治区乌鲁木齐市天山区") == "乌鲁木齐"
    assert city_of("湖北省恩施土家族苗族自治州恩施市") == "恩施土家族苗族"
    assert city_of("余杭区仓前街道网点") == "" and city_of("") == ""


def test_issue13_a_return_tracking_number_of_another_route_signed_for_elsewhere(shop_a):
    _linked(shop_a)
    case = _returned(
        shop_a,
        "YD-OTHER",
        [
            (ShipmentStatus.IN_TRANSIT, "杭州市西湖区文三网点"),
            (ShipmentStatus.IN_TRANSIT, "广州转运中心"),
            (ShipmentStatus.DELIVERED, "【广州市】天河区石牌网点"),
        ],
    )
    (signal,) = _signals(case, RuleCode.TRACKING_OTHER_ROUTE)
    assert signal.value == 1 and signal.evidence["off"] == ["destination"]
    assert signal.evidence["signed"] == "【广州市】天河区石牌网点"
    assert signal.evidence["warehouse_city"] == "杭州" and signal.evidence["buyer_city"] == "杭州"
    case.refresh_from_db()
    assert case.status == "awaiting_inspection"  # a signal never decides
    assert services.scan()[0] == 0  # once per parcel


def test_issue13_a_return_tracking_number_picked_up_in_another_city(shop_a):
    _linked(shop_a)
    case = _returning(shop_a)
    case_services.record_return_shipment(
        case=case, carrier="yunda", tracking_number="YD-FAR", by=SYSTEM
    )
    update_shipment_status(
        shipment=Shipment.objects.get(case=case),
        status=ShipmentStatus.IN_TRANSIT,
        place="成都市武侯区网点",
    )
    assert _signals(case, RuleCode.TRACKING_OTHER_ROUTE) == []
    assert services.scan()[0] == 1  # the periodic scan sees the pick-up before any receipt
    (signal,) = _signals(case, RuleCode.TRACKING_OTHER_ROUTE)
    assert (
        signal.evidence["off"] == ["origin"] and signal.evidence["picked_up"] == "成都市武侯区网点"
    )


def test_issue13_other_route_must_not_fire_on_the_right_route_transit_hubs_or_no_places(shop_a):
    _linked(shop_a, "杭州 余杭区仓前街道良睦路1号")
    right = _returned(
        shop_a,
        "YD-RIGHT",
        [
            (ShipmentStatus.IN_TRANSIT, "【杭州市】西湖区文三网点"),
            (ShipmentStatus.IN_TRANSIT, "上海市青浦转运中心"),  # a hub on the way
            (ShipmentStatus.DELIVERED, "浙江省杭州市余杭区仓前网点"),
        ],
    )
    unplaced = _returned(shop_a, "YD-NOPLACE", [(ShipmentStatus.DELIVERED, "")])
    hub_only = _returning(shop_a)
    case_services.record_return_shipment(
        case=hub_only, carrier="yunda", tracking_number="YD-HUB", by=SYSTEM
    )
    shipment = Shipment.objects.get(case=hub_only)
    update_shipment_status(shipment=shipment, status=ShipmentStatus.IN_TRANSIT, place="杭州市网点")
    update_shipment_status(shipment=shipment, status=ShipmentStatus.IN_TRANSIT, place="南京市中转")
    assert services.scan()[0] == 0
    for case in (right, unplaced, hub_only):
        assert _signals(case, RuleCode.TRACKING_OTHER_ROUTE) == []


def test_issue13_other_route_without_a_return_address_judges_only_the_pick_up(shop_a):
    case = _returned(shop_a, "YD-NOADDR", [(ShipmentStatus.DELIVERED, "广州市天河区")])
    assert _signals(case, RuleCode.TRACKING_OTHER_ROUTE) == []  # where should it have gone?


def test_issue13_other_route_threshold_is_data_and_review_feeds_precision(shop_a, shop_b, sup_a):
    _linked(shop_a)
    admin = testing.make_user("owner", shop_a, Role.ADMIN)
    services.update_rule(
        shop=shop_a,
        code=RuleCode.TRACKING_OTHER_ROUTE,
        threshold=2,
        window_days=30,
        active=True,
        by=testing.actor(admin),
    )
    one_end = _returned(shop_a, "YD-ONE", [(ShipmentStatus.DELIVERED, "广州市天河区")])
    assert _signals(one_end, RuleCode.TRACKING_OTHER_ROUTE) == []  # 1 end < 2
    both = _returned(
        shop_a,
        "YD-BOTH",
        [(ShipmentStatus.IN_TRANSIT, "深圳市南山区"), (ShipmentStatus.DELIVERED, "广州市天河区")],
    )
    (signal,) = _signals(both, RuleCode.TRACKING_OTHER_ROUTE)
    assert signal.value == 2 and signal.threshold == 2
    # Another shop's people do not see it; the shop's supervisor reviews it.
    outsider = testing.make_user("bob", shop_b, Role.SUPERVISOR)
    with pytest.raises(NotFound):
        services.get_signal_for_actor(testing.actor(outsider), signal.pk)
    with pytest.raises(PermissionDenied):
        services.review_signal(signal=signal, verdict="confirm", by=testing.actor(outsider))
    services.review_signal(signal=signal, verdict="confirm", by=testing.actor(sup_a))
    (row,) = [
        p for p in services.precision_by_rule(shop_a.pk) if p.rule.code == "tracking_other_route"
    ]
    assert (row.confirmed, row.reviewed, row.precision) == (1, 1, 1.0)
    with pytest.raises(Conflict):
        services.review_signal(signal=signal, verdict="dismiss", by=testing.actor(sup_a))


def test_issue13_tenant_isolation_other_route_uses_each_shops_own_return_address(shop_a, shop_b):
    _linked(shop_a)  # Hangzhou
    _linked(shop_b, "广东省广州市天河区石牌路1号")
    scans = [(ShipmentStatus.DELIVERED, "广州市天河区网点")]
    in_a = _returned(shop_a, "YD-A", scans)
    in_b = _returned(shop_b, "YD-B", scans)
    assert len(_signals(in_a, RuleCode.TRACKING_OTHER_ROUTE)) == 1
    assert _signals(in_b, RuleCode.TRACKING_OTHER_ROUTE) == []
    assert not services.signals_for_actor(
        testing.actor(testing.make_user("bea", shop_b, Role.ADMIN))
    ).filter(rule=RuleCode.TRACKING_OTHER_ROUTE)


def test_issue13_other_route_on_the_case_page_in_chinese_and_english_and_in_the_api(
    shop_a, shop_b, sup_a
):
    from django.test import Client

    _linked(shop_a)
    case = _returned(shop_a, "YD-PAGE", [(ShipmentStatus.DELIVERED, "【广州市】天河区石牌网点")])
    (signal,) = _signals(case, RuleCode.TRACKING_OTHER_ROUTE)

    def client(user, language):
        c = Client(headers={"Accept-Language": language})
        c.force_login(user)
        return c

    zh = client(sup_a, "zh-hans").get(f"/cases/{case.pk}/").content.decode()
    assert 'data-rule="tracking_other_route"' in zh and "退货物流单号轨迹不符" in zh
    assert "在【广州市】天河区石牌网点签收，而非退货地址所在的杭州" in zh
    en = client(sup_a, "en").get(f"/cases/{case.pk}/").content.decode()
    assert "Return tracking number of another route" in en
    assert "signed for in 【广州市】天河区石牌网点, not in 杭州 of the return address" in en
    rules = client(sup_a, "zh-hans").get("/api/v1/signals/rules").json()
    row = next(r for r in rules if r["rule"] == "tracking_other_route")
    assert row["open"] == 1 and row["threshold"] == 1
    outsider = testing.make_user("sam", shop_b, Role.SUPERVISOR)
    assert client(outsider, "zh-hans").get(f"/api/v1/signals/{signal.pk}").status_code == 404
