"""R8.4 improvement tracking: a change on a product with its date, before against after with
a two-proportion z-test and an honest sentence; counted by hand.

A skirt's new size chart on 1 June 2026: 100 orders in the 30 days before (2–31 May), 20 of
them with a "size" case (20 %); 100 orders from 1 June (to 30 June), 5 with a "size" case
(5 %) and 10 with a "changed mind" case, which a size chart does not address. Pooled
p = 25/200, z = (0.05 − 0.20) / √(0.125 · 0.875 · (1/100 + 1/100)) = −3.21, two-sided
p = 0.0013: "−15.0 points (20.0% → 5.0%), p = 0.001: fewer cases since the change".
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from aftersales import testing
from aftersales.analytics.improvements import measure, two_proportion_test
from aftersales.analytics.models import Improvement
from aftersales.analytics.services import record_improvement
from aftersales.audit.models import AuditEvent
from aftersales.core.errors import NotFound, PermissionDenied

from .support import client_for, order, product, sh

TODAY = date(2026, 7, 15)


def orders(shop, sku, first: date, days: int, n: int, reasons: list[str]):
    for i in range(n):
        day = first + timedelta(days=i % days)
        placed = order(shop, sku, sh(day.year, day.month, day.day, 12))
        if i < len(reasons):
            testing.make_case(
                placed, reason=reasons[i], applied_at=sh(day.year, day.month, day.day, 15)
            )


@pytest.fixture
def skirt(shop_a):
    sku = product(shop_a, "百褶半身裙", "apparel")
    orders(shop_a, sku, date(2026, 5, 2), 30, 100, ["wrong_size"] * 20)
    orders(shop_a, sku, date(2026, 6, 1), 30, 100, ["wrong_size"] * 5 + ["changed_mind"] * 10)
    return sku.product


def test_r8_4_the_z_test_by_hand():
    z, p = two_proportion_test(20, 100, 5, 100)
    assert round(z, 2) == -3.21 and round(p, 4) == 0.0013
    assert two_proportion_test(0, 0, 1, 10) is None
    assert two_proportion_test(0, 10, 0, 10) is None  # no variance: nothing to test


def test_r8_4_a_size_chart_that_worked(skirt, alice):
    change = record_improvement(
        product_id=skirt.pk,
        kind="size_chart",
        description="新尺码表，按腰围分码",
        changed_on=date(2026, 6, 1),
        by=testing.actor(alice),
    )
    effect = measure(change, today=TODAY)
    assert (effect.before.orders, effect.before.with_case) == (100, 20)
    assert (effect.after.orders, effect.after.with_case) == (100, 5)
    assert effect.change_points == pytest.approx(-15.0)
    with translation.override("en"):
        assert effect.sentence == (
            "−15.0 points (20.0% → 5.0%), p = 0.001: fewer cases since the change, "
            "unlikely to be chance."
        )
    event = AuditEvent.objects.get(type="improvement_recorded")
    assert event.payload["product"] == skirt.pk and event.actor_user_id == alice.pk


def test_r8_4_not_enough_orders_and_no_clear_effect(shop_a, alice):
    a = testing.actor(alice)
    mug = product(shop_a, "马克杯", "home")
    orders(shop_a, mug, date(2026, 5, 20), 10, 10, ["damaged"] * 3)
    orders(shop_a, mug, date(2026, 6, 1), 10, 10, ["damaged"])
    few = measure(
        record_improvement(
            product_id=mug.product_id,
            kind="packaging",
            description="加厚气泡膜",
            changed_on=date(2026, 6, 1),
            by=a,
        ),
        today=TODAY,
    )
    with translation.override("en"):
        assert few.sentence.startswith("Not enough orders yet to tell: 10 before and 10 after")
    lamp = product(shop_a, "台灯", "home")
    orders(shop_a, lamp, date(2026, 5, 2), 30, 50, ["quality_issue"] * 5)
    orders(shop_a, lamp, date(2026, 6, 1), 30, 50, ["quality_issue"] * 4)
    unclear = measure(
        record_improvement(
            product_id=lamp.product_id,
            kind="supplier",
            description="换供应商",
            changed_on=date(2026, 6, 1),
            by=a,
        ),
        today=TODAY,
    )
    with translation.override("en"):
        assert unclear.sentence.endswith("no clear effect yet.")
        assert unclear.sentence.startswith("−2.0 points (10.0% → 8.0%)")


def test_r8_4_who_may_record_and_see(skirt, shop_a, audrey, carol, alice):
    with pytest.raises(PermissionDenied):
        record_improvement(
            product_id=skirt.pk,
            kind="size_chart",
            description="x",
            changed_on=date(2026, 6, 1),
            by=testing.actor(audrey),
        )
    with pytest.raises(NotFound):
        record_improvement(
            product_id=skirt.pk,
            kind="size_chart",
            description="x",
            changed_on=date(2026, 6, 1),
            by=testing.actor(carol),
        )
    assert Improvement.objects.count() == 0
    response = client_for(alice).post(
        "/analytics/improvements/",
        {
            "product": skirt.pk,
            "kind": "size_chart",
            "description": "按腰围分码",
            "changed_on": "2026-06-01",
        },
    )
    assert response.status_code == 302
    assert "按腰围分码" in client_for(alice).get("/analytics/improvements/").content.decode()
    assert "按腰围分码" not in client_for(carol).get("/analytics/improvements/").content.decode()
    foreign = client_for(carol).post(
        "/analytics/improvements/",
        {"product": skirt.pk, "kind": "size_chart", "description": "x", "changed_on": "2026-06-01"},
    )
    assert foreign.status_code == 404
