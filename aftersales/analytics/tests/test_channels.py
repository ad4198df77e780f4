"""R8.1 cuts by live room and channel: orders carry where they were placed (orderDetail's
sku_order_list `room_id`, `author_name`, `video_id`), the overview and the API cut and break
down by them, and the Douyin import maps them.

Shop A, 1–7 May 2026: live room 7001 (主播7001) sells two dresses, one returned for size;
live room 7002 one dress, no case; a short video one mug, returned damaged; one order from the
shop page, no case.
"""

from __future__ import annotations

from django.utils import translation

from aftersales import testing
from aftersales.analytics.overview import overview
from aftersales.analytics.scope import Cuts, scope_for
from aftersales.platforms.douyin.ingest import channel_of

from .conftest import NOW, PERIOD
from .support import client_for, open_case, order, product, sh


def world(shop):
    dress, mug = product(shop, "连衣裙"), product(shop, "马克杯", "home")
    a = order(shop, dress, sh(2026, 5, 1, 20), live_room="7001")
    order(shop, dress, sh(2026, 5, 1, 21), live_room="7001", paid_fen=12000)
    order(shop, dress, sh(2026, 5, 2, 20), live_room="7002")
    v = order(shop, mug, sh(2026, 5, 3, 12), channel="video", paid_fen=5000)
    order(shop, mug, sh(2026, 5, 3, 13), channel="other", paid_fen=5000)
    open_case(a, sh(2026, 5, 4, 9), reason="wrong_size")
    open_case(v, sh(2026, 5, 5, 9), reason="damaged")


def test_r8_1_the_overview_cut_by_live_room_and_channel(shop_a, shop_b, alice, carol):
    world(shop_a)
    world(shop_b)  # the same rooms' ids in another shop: never counted for alice
    actor = testing.actor(alice)
    room = overview(scope_for(actor, Cuts(live_room="7001")), PERIOD, now=NOW)
    assert (room.totals.orders, room.totals.paid_fen, room.totals.cases) == (2, 22000, 1)
    assert room.totals.after_sales_rate == 1 / 2
    live = overview(scope_for(actor, Cuts(channel="live")), PERIOD, now=NOW)
    assert (live.totals.orders, live.totals.cases) == (3, 1)
    video = overview(scope_for(actor, Cuts(channel="video")), PERIOD, now=NOW)
    assert (video.totals.orders, video.totals.cases) == (1, 1)
    assert [r.code for r in video.reasons] == ["damaged"]

    by_room = overview(scope_for(actor, Cuts(shop=shop_a.pk)), PERIOD, by="live_room", now=NOW)
    rows = {r.key: (r.label, r.orders, r.cases) for r in by_room.breakdown}
    assert rows["7001"] == ("主播7001 (7001)", 2, 1)
    assert rows["7002"] == ("主播7002 (7002)", 1, 0)
    assert rows[""] == ("—", 2, 1)  # not from a live room
    with translation.override("zh-hans"):
        by_channel = overview(scope_for(actor), PERIOD, by="channel", now=NOW)
    labels = {r.key: (r.label, r.orders, r.cases) for r in by_channel.breakdown}
    assert labels["live"] == ("直播间", 3, 1)
    assert labels["video"] == ("短视频", 1, 1)


def test_r8_1_the_api_and_page_cut_by_live_room(shop_a, alice, carol):
    world(shop_a)
    params = {"period": "custom", "start": "2026-05-01", "end": "2026-05-07"}
    body = (
        client_for(alice)
        .get("/api/v1/analytics/overview", {**params, "live_room": "7001", "by": "channel"})
        .json()
    )
    assert body["totals"]["orders"] == 2 and body["totals"]["cases"] == 1
    assert (
        client_for(carol)
        .get("/api/v1/analytics/overview", {**params, "live_room": "7001"})
        .json()["totals"]["orders"]
        == 0
    )  # carol's shop has no such room
    bad = client_for(alice).get("/api/v1/analytics/overview", {**params, "channel": "tv"})
    assert bad.status_code in (400, 422)
    page = client_for(alice).get(
        "/analytics/",
        {**params, "channel": "live", "by": "live_room"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert page.status_code == 200
    assert "主播7001 (7001)" in page.content.decode()


def test_r8_1_the_douyin_import_maps_room_and_video():
    live = {"sku_order_list": [{"room_id": 0}, {"room_id": 7001, "author_name": "小美"}]}
    assert channel_of(live) == {"channel": "live", "live_room_id": "7001", "live_author": "小美"}
    video = {"sku_order_list": [{"room_id": 0, "video_id": "v123"}]}
    assert channel_of(video)["channel"] == "video"
    assert channel_of({"sku_order_list": [{"sku_id": "1"}]})["channel"] == "other"
    assert channel_of({})["channel"] == ""
