"""R8.5, R11.1 the cost of after-sales by kind, who paid, cause, category, product and
carrier, and the damage-in-transit rate by carrier, counted by hand.

In May 2026: c1 (a dress shipped by 顺丰, "arrived damaged") costs 12.00 return shipping and
5.00 compensation, both the merchant's; c2 (a mug shipped by 中通, "size") 10.00 return
shipping paid by the shipping insurance. A cost recorded in June and shop B's costs are not
May's. 顺丰 carried two orders, one of them damaged: 50 %; 中通 one, none damaged.
"""

from __future__ import annotations

from datetime import date

import pytest

from aftersales import testing
from aftersales.analytics.costs import costs_by, damage_by_carrier
from aftersales.analytics.periods import Period
from aftersales.analytics.scope import scope_for
from aftersales.cases import services as case_services

from .support import at, client_for, open_case, order, product, sh

MAY = Period(date(2026, 5, 1), date(2026, 5, 31))


@pytest.fixture
def costs(shop_a, shop_b):
    dress, mug = product(shop_a, "连衣裙", "apparel"), product(shop_a, "马克杯", "home")
    c1 = open_case(
        order(shop_a, dress, sh(2026, 5, 1, 10), carrier="顺丰"),
        sh(2026, 5, 3, 10),
        reason="damaged",
    )
    order(shop_a, dress, sh(2026, 5, 2, 10), carrier="顺丰")
    c2 = open_case(
        order(shop_a, mug, sh(2026, 5, 2, 11), carrier="中通"),
        sh(2026, 5, 4, 10),
        reason="wrong_size",
    )
    other = open_case(
        order(shop_b, product(shop_b), sh(2026, 5, 2, 9), carrier="顺丰"),
        sh(2026, 5, 3, 9),
        reason="damaged",
    )
    s = testing.SYSTEM
    with at(sh(2026, 5, 10, 10)):
        case_services.add_cost(
            case=c1, kind="return_shipping", amount_fen=1200, payer="merchant", by=s
        )
        case_services.add_cost(case=c1, kind="compensation", amount_fen=500, payer="merchant", by=s)
        case_services.add_cost(
            case=c2, kind="return_shipping", amount_fen=1000, payer="insurance", by=s
        )
        case_services.add_cost(
            case=other, kind="compensation", amount_fen=99900, payer="merchant", by=s
        )
    with at(sh(2026, 6, 2, 10)):
        case_services.add_cost(
            case=c1, kind="goods_written_off", amount_fen=7000, payer="merchant", by=s
        )


def table(rows):
    return {row.key: (row.costs, row.fen, row.by_payer) for row in rows}


def test_r8_5_costs_by_kind_payer_cause_category_product_carrier(costs, alice):
    scope = scope_for(testing.actor(alice))
    assert table(costs_by(scope, MAY, "kind")) == {
        "return_shipping": (2, 2200, {"merchant": 1200, "insurance": 1000}),
        "compensation": (1, 500, {"merchant": 500}),
    }
    assert table(costs_by(scope, MAY, "payer")) == {
        "merchant": (2, 1700, {"merchant": 1700}),
        "insurance": (1, 1000, {"insurance": 1000}),
    }
    assert {k: v[1] for k, v in table(costs_by(scope, MAY, "reason")).items()} == {
        "damaged": 1700,
        "wrong_size": 1000,
    }
    assert {k: v[1] for k, v in table(costs_by(scope, MAY, "category")).items()} == {
        "apparel": 1700,
        "home": 1000,
    }
    assert {row.label: row.fen for row in costs_by(scope, MAY, "product")} == {
        "连衣裙": 1700,
        "马克杯": 1000,
    }
    assert {k: v[1] for k, v in table(costs_by(scope, MAY, "carrier")).items()} == {
        "顺丰": 1700,
        "中通": 1000,
    }


def test_r11_1_damage_in_transit_by_carrier(costs, alice):
    rows = {d.carrier: d for d in damage_by_carrier(scope_for(testing.actor(alice)), MAY)}
    assert (rows["顺丰"].orders, rows["顺丰"].damaged, rows["顺丰"].rate) == (2, 1, 0.5)
    assert (rows["中通"].orders, rows["中通"].damaged, rows["中通"].rate) == (1, 0, 0.0)


def test_r8_5_the_page_is_tenant_scoped(costs, alice, carol):
    params = {"period": "custom", "start": "2026-05-01", "end": "2026-05-31"}
    html = client_for(alice).get("/analytics/costs/", params).content.decode()
    assert "¥27.00" in html and "999.00" not in html
    theirs = client_for(carol).get("/analytics/costs/", params).content.decode()
    assert "¥999.00" in theirs and "27.00" not in theirs
