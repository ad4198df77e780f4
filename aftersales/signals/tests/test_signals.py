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
