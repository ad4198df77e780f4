"""The carrier-tracking push receiver (快递100 subscription push, issue 13): every accepted push
kept before it is answered (R6.2), its scans recorded with their places on the shop's parcels
with that number and the return parcels judged by the other-route signal."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.test import Client

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Shipment, ShipmentEvent
from aftersales.platforms.douyin.models import DouyinShopLink
from aftersales.platforms.kuaidi100.models import PushStatus, TrackingLink, TrackingPush
from aftersales.platforms.kuaidi100.services import parse_param, place_of, sign_of
from aftersales.signals.models import RuleCode, Signal

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM
SALT = "s3cr3t-salt"
OK = {"result": True, "returnCode": "200", "message": "成功"}


def _subscribed(shop, salt=SALT):
    DouyinShopLink.objects.create(
        shop=shop,
        app_key=f"key-{shop.pk}",
        app_secret="secret",
        platform_shop_id=shop.platform_shop_id,
        return_address="浙江省杭州市余杭区仓前街道良睦路1号 退货仓",
    )
    return TrackingLink.objects.create(shop=shop, salt=salt)


def _return_shipment(shop, number):
    """A return the buyer sent back (the buyer lives in Hangzhou: `testing.make_order`)."""
    case = testing.make_case(testing.make_order(shop), reason="quality_issue")
    case_services.approve_case(case=case, by=SYSTEM)
    case_services.record_return_shipment(
        case=case, carrier="yunda", tracking_number=number, by=SYSTEM
    )
    return case, Shipment.objects.get(case=case, kind=ShipmentKind.RETURN)


def _param(number, scans, state="0", status="polling"):
    """`scans` oldest first [(time, areaName, status word, text)]; pushed newest first."""
    data = [
        {"context": text, "time": at, "ftime": at, "areaName": area, "status": word}
        for at, area, word, text in reversed(scans)
    ]
    body = {
        "status": status,
        "message": "",
        "lastResult": {"nu": number, "com": "yunda", "state": state, "ischeck": "0", "data": data},
    }
    return json.dumps(body, ensure_ascii=False)


def _push(shop, param, sign=None, salt=SALT):
    return Client().post(
        f"/webhooks/kuaidi100/{shop.pk}/",
        {"param": param, "sign": sign if sign is not None else sign_of(param, salt)},
    )


FAR_PICKUP = [
    ("2026-12-01 10:00:00", "四川,成都市", "揽收", "【成都市】武侯区网点 已揽收"),
    ("2026-12-01 20:00:00", "四川,成都市", "在途", "快件离开【成都转运中心】"),
]
RIGHT_ROUTE = [
    ("2026-12-01 10:00:00", "浙江,杭州市", "揽收", "【杭州市】西湖区文三网点 已揽收"),
    ("2026-12-01 18:00:00", "上海,上海", "在途", "快件到达【上海青浦转运中心】"),
    ("2026-12-02 09:00:00", "浙江,杭州市", "派件", "【杭州市】余杭仓前网点 派件中"),
    ("2026-12-02 15:00:00", "浙江,杭州市", "签收", "【杭州市】已签收，签收人：退货仓"),
]


def test_r6_2_a_signed_push_is_stored_its_places_recorded_and_the_other_route_signal_fires(shop_a):
    _subscribed(shop_a)
    case, shipment = _return_shipment(shop_a, "YD-FAR-1")
    response = _push(shop_a, _param("YD-FAR-1", FAR_PICKUP))
    assert response.status_code == 200 and response.json() == OK
    (push,) = TrackingPush.objects.all()
    assert push.shop == shop_a and push.status == PushStatus.APPLIED and push.scans_applied == 2
    assert push.tracking_number == "YD-FAR-1" and push.carrier == "yunda"
    events = list(shipment.history.exclude(place="").values_list("status", "place", "note"))
    assert events == [
        (ShipmentStatus.IN_TRANSIT, "成都市", "【成都市】武侯区网点 已揽收"),
        (ShipmentStatus.IN_TRANSIT, "成都市", "快件离开【成都转运中心】"),
    ]
    (signal,) = Signal.objects.filter(case=case, rule=RuleCode.TRACKING_OTHER_ROUTE)
    assert signal.evidence["off"] == ["origin"] and signal.evidence["picked_up"] == "成都市"
    case.refresh_from_db()
    assert case.status == "awaiting_return"  # a signal never decides


def test_issue13_the_right_route_signed_for_at_the_warehouse_raises_nothing(shop_a):
    _subscribed(shop_a)
    case, shipment = _return_shipment(shop_a, "YD-OK-1")
    assert _push(shop_a, _param("YD-OK-1", RIGHT_ROUTE, state="3")).json() == OK
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert list(shipment.history.exclude(place="").values_list("place", flat=True)) == [
        "杭州市",
        "上海",
        "杭州市",
        "杭州市",
    ]
    assert not Signal.objects.filter(rule=RuleCode.TRACKING_OTHER_ROUTE).exists()


def test_issue13_an_arriving_sign_for_elsewhere_is_judged_when_it_arrives(shop_a):
    _subscribed(shop_a)
    case, shipment = _return_shipment(shop_a, "YD-ELSE")
    first = RIGHT_ROUTE[:2]
    assert _push(shop_a, _param("YD-ELSE", first)).json() == OK
    assert not Signal.objects.exists()
    signed = [*first, ("2026-12-02 15:00:00", "广东,广州市", "签收", "【广州市】天河区已签收")]
    assert _push(shop_a, _param("YD-ELSE", signed, state="3", status="shutdown")).json() == OK
    (signal,) = Signal.objects.filter(case=case, rule=RuleCode.TRACKING_OTHER_ROUTE)
    assert signal.evidence["off"] == ["destination"] and signal.evidence["signed"] == "广州市"
    # The second push repeated the first two scans: each is recorded once.
    assert shipment.history.exclude(place="").count() == 3


def test_r6_2_a_bad_signature_is_refused_kept_and_applies_nothing(shop_a):
    _subscribed(shop_a)
    case, shipment = _return_shipment(shop_a, "YD-BAD")
    before = shipment.history.count()
    param = _param("YD-BAD", FAR_PICKUP)
    response = _push(shop_a, param, sign=sign_of(param, "wrong-salt"))
    assert response.status_code == 401
    body = response.json()
    assert body["result"] is False and body["message"] == "签名不符 / signature does not match"
    (push,) = TrackingPush.objects.all()
    assert push.status == PushStatus.BAD_SIGNATURE and push.applied_at is None
    assert shipment.history.count() == before
    assert not Signal.objects.exists()


def test_issue13_a_redelivered_push_changes_nothing_twice(shop_a):
    _subscribed(shop_a)
    case, shipment = _return_shipment(shop_a, "YD-AGAIN")
    param = _param("YD-AGAIN", FAR_PICKUP)
    assert _push(shop_a, param).json() == OK
    events = shipment.history.count()
    assert _push(shop_a, param).json() == OK
    assert shipment.history.count() == events
    (push,) = TrackingPush.objects.all()
    assert push.deliveries == 2 and push.scans_applied == 2
    assert Signal.objects.filter(case=case).count() == 1


def test_issue13_tenant_isolation_another_shops_same_tracking_number_untouched(shop_a, shop_b):
    _subscribed(shop_a)
    _subscribed(shop_b, salt="b-salt")
    _case_a, mine = _return_shipment(shop_a, "YD-SAME")
    case_b, theirs = _return_shipment(shop_b, "YD-SAME")
    before = theirs.history.count()
    assert _push(shop_a, _param("YD-SAME", FAR_PICKUP)).json() == OK
    assert mine.history.exclude(place="").count() == 2
    assert theirs.history.count() == before
    assert not Signal.objects.filter(case=case_b).exists()
    # Shop A's salt does not open shop B's address either.
    param = _param("YD-SAME", FAR_PICKUP[:1])
    assert _push(shop_b, param).status_code == 401
    assert theirs.history.count() == before


def test_issue13_buyer_bound_parcels_move_too(shop_a):
    _subscribed(shop_a)
    order = testing.make_order(shop_a)
    from aftersales.orders.services import create_shipment

    outbound = create_shipment(
        order=order, kind=ShipmentKind.OUTBOUND, carrier="yunda", tracking_number="YD-OUT"
    )
    assert _push(shop_a, _param("YD-OUT", RIGHT_ROUTE, state="3")).json() == OK
    outbound.refresh_from_db()
    assert outbound.status == ShipmentStatus.DELIVERED
    assert outbound.history.exclude(place="").count() == 4


@pytest.mark.parametrize(
    "form",
    [
        {"sign": "X"},  # no param
        {"param": "not json at all"},  # no sign
        {"param": "not json", "sign": None},
        {"param": json.dumps({"status": "polling"}), "sign": None},
        {
            "param": json.dumps({"lastResult": {"nu": "YD1", "data": [{"time": "soon"}]}}),
            "sign": None,
        },
    ],
)
def test_issue13_a_malformed_push_is_answered_400_in_chinese_and_english(shop_a, form):
    _subscribed(shop_a)
    if form.get("sign", "") is None:
        form = {**form, "sign": sign_of(form["param"], SALT)}
    response = Client().post(f"/webhooks/kuaidi100/{shop_a.pk}/", form)
    assert response.status_code == 400
    body = response.json()
    assert body["result"] is False and body["returnCode"] == "400"
    zh, en = body["message"].split(" / ", 1)
    assert any("\u4e00" <= c <= "\u9fff" for c in zh) and en.isascii()
    assert TrackingPush.objects.get().status == PushStatus.MALFORMED
    assert not ShipmentEvent.objects.exclude(place="").exists()


def test_issue13_a_shop_without_a_subscription_is_refused(shop_a):
    param = _param("YD1", FAR_PICKUP)
    response = _push(shop_a, param)
    assert response.status_code == 404 and response.json()["result"] is False
    assert Client().get(f"/webhooks/kuaidi100/{shop_a.pk}/").status_code == 405


def test_issue13_scan_places_and_status_words():
    assert place_of({"areaName": "浙江,杭州市", "context": "【杭州市】快件已揽收"}) == "杭州市"
    assert place_of({"areaName": "", "context": "【广州市】天河区已签收"}) == "广州市"
    assert place_of({"context": "快件已签收"}) == ""
    param = _param(
        "YD2",
        [
            ("2026-12-01 10:00:00", "", "揽收", "已揽收"),
            ("2026-12-02 10:00:00", "", "退签", "退回发件人"),
        ],
    )
    number, carrier, scans = parse_param(param)
    assert (number, carrier) == ("YD2", "yunda")
    assert [s.status for s in scans] == [ShipmentStatus.IN_TRANSIT, ShipmentStatus.RETURNED]
    assert scans[0].at.isoformat() == "2026-12-01T10:00:00+08:00"


# --- Pushes nobody signed: a bounded record (issue 13) ---------------------------------------


def test_issue13_a_4_mib_unsigned_push_keeps_at_most_the_cap(shop_a, settings):
    _subscribed(shop_a)
    settings.KUAIDI100_REFUSED_BODY_KEPT_BYTES = 4096
    param = _param("YD-BIG", FAR_PICKUP)[:-1] + ', "pad": "' + "x" * (4 << 20) + '"}'
    response = _push(shop_a, param, sign="0" * 32)
    assert response.status_code == 401
    assert response.json()["message"] == "签名不符 / signature does not match"
    (push,) = TrackingPush.objects.all()
    assert push.status == PushStatus.BAD_SIGNATURE
    assert len(push.param.encode("utf-8")) <= 4096
    assert param.startswith(push.param)
    assert f"{len(param.encode())} bytes" in push.error and "sha256" in push.error
    # Without a signature at all: the same bound.
    response = Client().post(f"/webhooks/kuaidi100/{shop_a.pk}/", {"param": param})
    assert response.status_code == 400
    unsigned = TrackingPush.objects.get(status=PushStatus.MALFORMED)
    assert len(unsigned.param.encode("utf-8")) <= 4096


def test_issue13_over_the_rate_limit_a_source_stores_nothing_more(shop_a, settings):
    _subscribed(shop_a)
    settings.KUAIDI100_REFUSED_PER_MINUTE = 3
    param = _param("YD-FLOOD", FAR_PICKUP)
    with time_machine.travel("2026-12-03 10:00:00+08:00", tick=False) as clock:
        answers = [_push(shop_a, param, sign="bad").status_code for _ in range(6)]
        assert answers == [401] * 6  # the answer stays the same clear error
        assert TrackingPush.objects.count() == 3
        # Another source has its own allowance; a minute later the first one again.
        other = Client(REMOTE_ADDR="10.0.0.9").post(
            f"/webhooks/kuaidi100/{shop_a.pk}/", {"param": param, "sign": "bad"}
        )
        assert other.status_code == 401
        assert TrackingPush.objects.filter(source="10.0.0.9").count() == 1
        clock.shift(61)
        assert _push(shop_a, param, sign="bad").status_code == 401
        assert TrackingPush.objects.filter(source="127.0.0.1").count() == 4
    # A signed push is never held back by the refusals' limit.
    assert _push(shop_a, param).status_code == 200
    assert TrackingPush.objects.filter(status=PushStatus.RECEIVED).exists() or (
        TrackingPush.objects.filter(status=PushStatus.APPLIED).exists()
    )
