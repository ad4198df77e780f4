"""R8.1 the overview, every figure against a hand-computed expectation on a small fixed shop.

Shop A, period 1–7 May 2026 (Shanghai days), the previous period 24–30 April:

- o0 dress, paid 30 Apr 23:50, 100.00, 顺丰: the previous period's only order;
- o1 dress, 1 May 10:00, 100.00, 顺丰: c1 "size" applied 3 May 09:00, approved at +1 h,
  100.00 refunded 5 May 11:00;
- o2 dress, 2 May 10:00, 100.00, 中通: no case;
- o3 earphones, 2 May 11:00, 200.00, 中通: c2 "quality" applied 4 May 10:00, rejected at +3 h;
- o4 mug (its one order), 7 May 23:30, 50.00, no parcel: c3 "damaged" applied 7 May 23:50,
  no answer;
- o5 dress, 8 May 00:10 (7 May 16:10 UTC), 100.00, 顺丰: after the period.

o4 and c3 are on the last Shanghai day although they are 15:30 and 15:50 UTC; o5 is on
8 May although it is still 7 May in UTC: a day is a Shanghai day.

Expected for the period: 4 orders, 3 cases, after-sales rate 3/4; 1 refunded order, refund
rate 1/4; refunded 100.00 of 450.00 paid; reasons size (buyer), quality (merchant), damaged
(carrier), one each; first response and decision: n=2, median 1 h, p90 3 h; refund time:
n=1, 50 h (applied 3 May 09:00, refunded 5 May 11:00).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aftersales import testing
from aftersales.analytics.overview import overview
from aftersales.analytics.periods import Period, preset_period
from aftersales.analytics.scope import Cuts, scope_for
from aftersales.core.errors import NotFound

from .conftest import NOW, PERIOD
from .support import at, client_for, sh

H = timedelta(hours=1)


def test_r8_1_every_figure_of_the_fixed_week(shop_world, alice):
    scope = scope_for(testing.actor(alice))
    ov = overview(scope, PERIOD, compare=True, now=NOW)
    t = ov.totals
    assert (t.orders, t.cases, t.refunded_orders) == (4, 3, 1)
    assert (t.paid_fen, t.refunded_fen) == (45000, 10000)
    assert t.after_sales_rate == 3 / 4
    assert t.refund_rate == 1 / 4
    assert t.refund_amount_rate == 10000 / 45000

    # The previous week had o0 only (30 April 23:50 Shanghai).
    assert ov.previous is not None
    assert (ov.previous.orders, ov.previous.cases, ov.previous.after_sales_rate) == (1, 0, 0)

    assert [(r.code, r.cases, r.responsible) for r in ov.reasons] == [
        ("damaged", 1, "carrier"),
        ("quality_issue", 1, "merchant"),
        ("wrong_size", 1, "buyer"),
    ]
    assert {r.code: r.cases for r in ov.responsible} == {"merchant": 1, "buyer": 1, "carrier": 1}

    times = {f.key: f for f in ov.times}
    assert (times["first_response"].count, times["first_response"].median) == (2, 1 * H)
    assert times["first_response"].p90 == 3 * H
    assert (times["decision"].count, times["decision"].median, times["decision"].p90) == (
        2,
        1 * H,
        3 * H,
    )
    assert (times["refund"].count, times["refund"].median) == (1, 50 * H)


def test_r8_1_a_day_is_a_shanghai_day(shop_world, alice):
    """o4 (7 May 23:30 Shanghai = 15:30 UTC) is the last day's; o5 (8 May 00:10 Shanghai,
    still 7 May in UTC) is not in the period at all."""
    ov = overview(scope_for(testing.actor(alice)), PERIOD, compare=False, now=NOW)
    days = {row.day: row for row in ov.days}
    assert len(days) == 7
    assert (days[date(2026, 5, 7)].orders, days[date(2026, 5, 7)].cases) == (1, 1)
    assert days[date(2026, 5, 1)].orders == 1
    assert days[date(2026, 5, 2)].orders == 2
    assert days[date(2026, 5, 5)].refunded_orders == 1
    assert sum(row.orders or 0 for row in ov.days) == 4
    # The 8 May order is the next period's.
    after = overview(
        scope_for(testing.actor(alice)), Period(date(2026, 5, 8), date(2026, 5, 8)), now=NOW
    )
    assert after.totals.orders == 1


def test_r8_1_an_empty_period_has_no_rates_rather_than_zero(shop_world, alice):
    ov = overview(
        scope_for(testing.actor(alice)), Period(date(2026, 1, 1), date(2026, 1, 31)), now=NOW
    )
    t = ov.totals
    assert (t.orders, t.cases, t.refunded_fen) == (0, 0, 0)
    assert t.after_sales_rate is None and t.refund_rate is None and t.refund_amount_rate is None
    assert all(f.count == 0 and f.median is None for f in ov.times)
    assert all(row.total == 0 and row.rate is None for row in ov.sla)
    assert ov.reasons == []


def test_r8_1_cuts_by_product_category_reason_agent_carrier(shop_world, alice):
    a = testing.actor(alice)
    dress = shop_world["dress"].product

    def totals(**cuts):
        return overview(scope_for(a, Cuts(**cuts)), PERIOD, compare=False, now=NOW).totals

    by_dress = totals(product=dress.pk)
    assert (by_dress.orders, by_dress.cases, by_dress.refunded_orders) == (2, 1, 1)
    assert (by_dress.paid_fen, by_dress.refunded_fen) == (20000, 10000)
    # The one-order product: 1 order, 1 case, rate 100 % (R8.2 decides whether it matters).
    mug = totals(product=shop_world["mug"].product_id)
    assert (mug.orders, mug.cases, mug.after_sales_rate) == (1, 1, 1.0)
    assert totals(category="electronics").cases == 1
    # A reason cut keeps every order: the reason's share of the rate.
    size = totals(reason="wrong_size")
    assert (size.orders, size.cases, size.after_sales_rate) == (4, 1, 1 / 4)
    assert totals(agent=alice.pk).cases == 1
    zto = totals(carrier="中通")
    assert (zto.orders, zto.cases, zto.refunded_orders) == (2, 1, 0)
    assert totals(type="exchange").cases == 0


def test_r8_1_breakdowns(shop_world, alice):
    a = testing.actor(alice)
    by_product = overview(scope_for(a), PERIOD, by="product", now=NOW).breakdown
    rows = {row.label: row for row in by_product}
    assert set(rows) == {"连衣裙", "蓝牙耳机", "马克杯"}
    assert (rows["连衣裙"].orders, rows["连衣裙"].cases, rows["连衣裙"].refunded_fen) == (
        2,
        1,
        10000,
    )
    assert rows["马克杯"].after_sales_rate == 1.0
    by_carrier = {
        row.label: row for row in overview(scope_for(a), PERIOD, by="carrier", now=NOW).breakdown
    }
    assert (by_carrier["顺丰"].orders, by_carrier["顺丰"].cases) == (1, 1)
    assert (by_carrier["中通"].orders, by_carrier["中通"].cases) == (2, 1)
    assert (by_carrier["—"].orders, by_carrier["—"].cases) == (1, 1)
    by_reason = {
        row.key: row for row in overview(scope_for(a), PERIOD, by="reason", now=NOW).breakdown
    }
    assert by_reason["wrong_size"].after_sales_rate == 1 / 4
    by_agent = overview(scope_for(a), PERIOD, by="agent", now=NOW).breakdown
    assert [(row.label, row.cases) for row in by_agent] == [("—", 2), ("alice", 1)]


def test_r8_1_sla_compliance_per_clock(shop_world, alice):
    """c1's first-response clock (2 h) stopped at +1 h: met; c2's stopped at +3 h: missed;
    c3's is still running and fell due on 8 May, after the period: not counted yet."""
    ov = overview(scope_for(testing.actor(alice)), PERIOD, now=NOW)
    first = next(row for row in ov.sla if row.kind == "first_response")
    assert (first.total, first.met) == (2, 1)
    assert first.rate == 1 / 2


def test_r8_1_the_presets_end_today_in_shanghai():
    # 1 May 2026 00:30 in Shanghai is still 30 April in UTC.
    with at(sh(2026, 5, 1, 0, 30)):
        assert preset_period("today") == Period(date(2026, 5, 1), date(2026, 5, 1))
        assert preset_period("7d") == Period(date(2026, 4, 25), date(2026, 5, 1))
    assert Period(date(2026, 5, 1), date(2026, 5, 7)).previous() == Period(
        date(2026, 4, 24), date(2026, 4, 30)
    )


def test_r8_1_tenant_isolation_carol_sees_nothing_of_shop_a(shop_world, shop_a, carol):
    c = testing.actor(carol)
    ov = overview(scope_for(c), PERIOD, by="product", now=NOW)
    assert (ov.totals.orders, ov.totals.cases) == (7, 7)
    assert {row.label for row in ov.breakdown} == {"手机壳"}
    with pytest.raises(NotFound):
        scope_for(c, Cuts(shop=shop_a.pk))
    # Shop A's product id as a cut matches nothing in carol's shop.
    cut = overview(scope_for(c, Cuts(product=shop_world["dress"].product_id)), PERIOD, now=NOW)
    assert (cut.totals.orders, cut.totals.cases) == (0, 0)


def test_r8_1_the_page_shows_each_figure_with_its_definition(shop_world, alice):
    response = client_for(alice).get(
        "/analytics/",
        {"period": "custom", "start": "2026-05-01", "end": "2026-05-07", "by": "product"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "75.00%" in html  # the after-sales rate
    assert "25.00%" in html  # the refund rate
    assert "售后率" in html
    assert "连衣裙" in html
    assert 'id="analytics-data"' in html and "<script>" not in html
    assert "echarts.min.js" in html


def test_r8_1_the_page_refuses_a_bad_range_and_another_shop(shop_world, alice, shop_b):
    client = client_for(alice)
    bad = client.get(
        "/analytics/", {"period": "custom", "start": "2026-05-07", "end": "2026-05-01"}
    )
    assert bad.status_code == 400
    assert client.get("/analytics/", {"shop": shop_b.pk}).status_code == 400  # not a choice
    assert client.get("/analytics/").status_code == 200


def test_r8_1_anonymous_is_sent_to_login(db):
    from django.test import Client

    response = Client().get("/analytics/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_r8_1_the_api_gives_the_same_figures_tenant_scoped(shop_world, alice, carol, shop_a):
    params = {"period": "custom", "start": "2026-05-01", "end": "2026-05-07", "by": "reason"}
    body = client_for(alice).get("/api/v1/analytics/overview", params).json()
    assert body["totals"]["orders"] == 4 and body["totals"]["cases"] == 3
    assert body["totals"]["after_sales_rate"] == 0.75
    assert body["times"]["first_response"]["median_seconds"] == 3600
    assert body["period"]["time_zone"] == "Asia/Shanghai"
    assert "after_sales_rate" in body["definitions"]
    carol_body = client_for(carol).get("/api/v1/analytics/overview", params).json()
    assert carol_body["totals"]["cases"] == 7
    foreign = client_for(carol).get("/api/v1/analytics/overview", {**params, "shop": shop_a.pk})
    assert foreign.status_code == 404
    bad = client_for(alice).get(
        "/api/v1/analytics/overview", {"period": "custom", "start": "2026-05-07"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
