"""R8.2 problem products: flagged only when a 95 % Wilson bound says so, with the cause named.

Shop A, orders paid in May 2026 (cases applied for a few days later):

- skirt (apparel): 40 orders, 16 with a case: 12 "size", 4 "changed mind". Rate 40 %, Wilson
  95 % interval 26.3 %–55.4 %; the rest of apparel (the blouse) is 20 / 200 = 10 %: flagged.
  Its size share is 12/16 = 75 % (lower bound 50.5 %) against the blouse's 5/20 = 25 %:
  the size chart;
- blouse (apparel): 200 orders, 20 with a case (5 size, 15 changed mind): 10 %, below the
  skirt-inflated rest: not flagged;
- lamp (home): 30 orders, 4 with a case ("damaged"): 13.3 %, interval 5.3 %–29.7 %; the
  home category has no other orders, so it is compared with every other product
  (36 / 240 = 15 %): not flagged, however bad "4 damaged" looks;
- mug (home): one order, one case: 100 %, and never flagged: not enough orders to tell.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aftersales import testing
from aftersales.analytics.periods import Period
from aftersales.analytics.problems import problem_products, wilson_interval
from aftersales.analytics.scope import scope_for
from aftersales.cases.models import Case

from .support import client_for, order, product, sh

MAY = Period(date(2026, 5, 1), date(2026, 5, 31))


def orders_with_cases(shop, sku, n, reasons):
    """n orders of the SKU in May; the first len(reasons) get a case with those reasons."""
    for i in range(n):
        paid = sh(2026, 5, 1 + i % 28, 10)
        placed = order(shop, sku, paid)
        if i < len(reasons):
            testing.make_case(placed, reason=reasons[i], applied_at=paid + timedelta(days=2))


@pytest.fixture
def catalogue(shop_a, shop_b):
    skirt = product(shop_a, "百褶半身裙", "apparel")
    blouse = product(shop_a, "雪纺衬衫", "apparel")
    lamp = product(shop_a, "台灯", "home")
    mug = product(shop_a, "马克杯", "home")
    orders_with_cases(shop_a, skirt, 40, ["wrong_size"] * 12 + ["changed_mind"] * 4)
    orders_with_cases(shop_a, blouse, 200, ["wrong_size"] * 5 + ["changed_mind"] * 15)
    orders_with_cases(shop_a, lamp, 30, ["damaged"] * 4)
    orders_with_cases(shop_a, mug, 1, ["quality_issue"])
    # Shop B's bad product must not appear in shop A's list, nor count in its comparisons.
    orders_with_cases(
        shop_b, product(shop_b, "劣质耳机", "electronics"), 40, ["quality_issue"] * 30
    )
    return {"skirt": skirt, "blouse": blouse, "lamp": lamp, "mug": mug}


def test_r8_2_the_wilson_interval_by_hand():
    low, high = wilson_interval(16, 40)
    assert round(low, 4) == 0.2635 and round(high, 4) == 0.5540
    assert wilson_interval(0, 0) is None
    assert wilson_interval(1, 1)[0] == pytest.approx(0.2065, abs=1e-4)


def test_r8_2_problem_products_flagged_by_the_bound_with_their_cause(catalogue, alice):
    findings = {f.name: f for f in problem_products(scope_for(testing.actor(alice)), MAY)}
    assert set(findings) == {"百褶半身裙", "雪纺衬衫", "台灯", "马克杯"}

    skirt = findings["百褶半身裙"]
    assert (skirt.orders, skirt.orders_with_case, skirt.cases) == (40, 16, 16)
    assert skirt.rate == 0.4
    assert skirt.compared_with == "category"
    assert (skirt.compared_orders, skirt.compared_with_case) == (200, 20)
    assert skirt.flagged_rate and skirt.flagged
    size = next(r for r in skirt.reasons if r.code == "wrong_size")
    assert (size.share, size.compared_share, size.flagged) == (0.75, 0.25, True)
    assert skirt.cause is not None and skirt.cause.key == "size_chart"

    blouse = findings["雪纺衬衫"]
    assert blouse.rate == 0.1 and not blouse.flagged

    lamp = findings["台灯"]
    assert lamp.compared_with == "shops"
    assert (lamp.compared_orders, lamp.compared_with_case) == (241, 37)
    assert not lamp.flagged_rate and lamp.cause is None

    mug = findings["马克杯"]
    assert mug.rate == 1.0 and not mug.enough_orders and not mug.flagged

    # Flagged first.
    assert next(iter(problem_products(scope_for(testing.actor(alice)), MAY))).name == "百褶半身裙"


def test_r8_2_a_damaged_product_names_packaging_when_the_data_supports_it(shop_a, alice):
    """60 mugs with 12 "damaged" cases (20 %, lower bound 11.8 %) against 100 cups with 2
    (2 %): flagged, packaging or the carrier."""
    mug = product(shop_a, "马克杯", "home")
    cup = product(shop_a, "玻璃杯", "home")
    orders_with_cases(shop_a, mug, 60, ["damaged"] * 12)
    orders_with_cases(shop_a, cup, 100, ["changed_mind"] * 2)
    findings = {f.name: f for f in problem_products(scope_for(testing.actor(alice)), MAY)}
    assert findings["马克杯"].flagged_rate
    assert findings["马克杯"].cause.key == "packaging"
    assert findings["玻璃杯"].cause is None


def test_r8_2_tenant_isolation_and_the_page(catalogue, alice, carol):
    carol_findings = problem_products(scope_for(testing.actor(carol)), MAY)
    assert [f.name for f in carol_findings] == ["劣质耳机"]
    html = (
        client_for(alice)
        .get(
            "/analytics/products/", {"period": "custom", "start": "2026-05-01", "end": "2026-05-31"}
        )
        .content.decode()
    )
    assert "百褶半身裙" in html and "劣质耳机" not in html
    assert "95% 置信区间" in html and "尺码表" in html
    body = (
        client_for(carol)
        .get(
            "/api/v1/analytics/problem-products",
            {"period": "custom", "start": "2026-05-01", "end": "2026-05-31"},
        )
        .json()
    )
    assert [p["name"] for p in body["products"]] == ["劣质耳机"]
    # Carol's shop has no other product to compare with: nothing can be said, and shop A's
    # products are not borrowed as the comparison.
    assert body["products"][0]["flagged"] is False
    assert body["products"][0]["likely_cause"] is None
    assert Case.objects.count() == 16 + 20 + 4 + 1 + 30
