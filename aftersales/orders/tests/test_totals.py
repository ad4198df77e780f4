"""The daily order totals are kept by the order writes and equal a recount from the raw rows
after random activity (issue #10, scale; R8.1, R8.2).

Orders paid at random moments around Shanghai midnights, in live rooms, from videos and
elsewhere, with one to three lines (two of the same product at times), and lines added later
to orders already counted: after it, the stored totals equal the recount, and a rebuild
writes the same rows.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from aftersales import testing
from aftersales.catalog.models import Product, Sku
from aftersales.orders.models import Buyer, DailyOrderTotal, Order, OrderItem
from aftersales.orders.totals import (
    SHANGHAI,
    count_order,
    paid_day,
    rebuild_order_totals,
    recount_order_totals,
    stored_order_totals,
)

START = datetime(2026, 3, 1, 22, tzinfo=SHANGHAI)


def _skus(shop, n):
    skus = []
    for i in range(n):
        product = Product.objects.create(
            shop=shop, platform_product_id=testing.next_id("p"), name=f"商品{i}", category="home"
        )
        for spec in ("S", "M"):
            skus.append(
                Sku.objects.create(
                    shop=shop,
                    product=product,
                    platform_sku_id=testing.next_id("s"),
                    spec=spec,
                    list_price_fen=9900,
                )
            )
    return skus


def _item(order, sku, rng):
    return OrderItem.objects.create(
        shop_id=order.shop_id,
        order=order,
        sku=sku,
        platform_item_id=testing.next_id("i"),
        quantity=1,
        list_price_fen=9900,
        paid_amount_fen=rng.choice([990, 4900, 8800]),
    )


def walk(shop, seed: int, steps: int) -> list[Order]:
    rng = random.Random(seed)
    skus = _skus(shop, 4)
    buyer = Buyer.objects.create(shop=shop, platform_buyer_id=testing.next_id("b"))
    orders: list[Order] = []
    moment = START
    for _ in range(steps):
        moment += timedelta(minutes=rng.choice([3, 50, 170, 600]))
        if orders and rng.random() < 0.2:
            placed = rng.choice(orders)  # a line arrives later (a second sync)
            count_order(placed, [_item(placed, rng.choice(skus), rng)], new_order=False)
            continue
        room = rng.choice(["", "", "9001", "9002"])
        placed = Order.objects.create(
            shop=shop,
            buyer=buyer,
            platform_order_id=testing.next_id("o"),
            paid_at=moment,
            channel="live" if room else rng.choice(["", "video", "other"]),
            live_room_id=room,
        )
        lines = [_item(placed, rng.choice(skus), rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        count_order(placed, lines)
        orders.append(placed)
    return orders


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_r8_1_order_totals_equal_a_recount_after_random_activity(seed, shop_a, shop_b):
    walk(shop_a, seed, 120)
    walk(shop_b, seed + 50, 30)
    shops = [shop_a.pk, shop_b.pk]
    stored = stored_order_totals(shops)
    assert stored == recount_order_totals(shops)
    assert sum(stored[0].values()) == Order.objects.count()
    assert {key[1] for key in stored[0]} != {START.date()}  # the walk crossed midnights

    rebuild_order_totals(shops)
    assert stored_order_totals(shops) == stored


def test_r8_1_an_order_paid_at_2330_shanghai_is_that_days(shop_a):
    skus = _skus(shop_a, 1)
    buyer = Buyer.objects.create(shop=shop_a, platform_buyer_id="b1")
    late = datetime(2026, 5, 7, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC
    placed = Order.objects.create(shop=shop_a, buyer=buyer, platform_order_id="o1", paid_at=late)
    count_order(placed, [_item(placed, skus[0], random.Random(1))])
    (total,) = DailyOrderTotal.objects.filter(shop=shop_a)
    assert total.day == paid_day(late) == late.date()
    assert total.orders == 1


def test_r8_2_a_second_line_of_the_same_product_is_not_a_second_order(shop_a):
    skus = _skus(shop_a, 1)  # one product, two SKUs
    buyer = Buyer.objects.create(shop=shop_a, platform_buyer_id="b1")
    placed = Order.objects.create(shop=shop_a, buyer=buyer, platform_order_id="o1", paid_at=START)
    rng = random.Random(2)
    count_order(placed, [_item(placed, skus[0], rng)])
    count_order(placed, [_item(placed, skus[1], rng)], new_order=False)
    orders, paid, product_orders, _ = stored_order_totals([shop_a.pk])
    assert sum(orders.values()) == 1
    assert list(product_orders.values()) == [1]
    assert sum(paid.values()) == sum(OrderItem.objects.values_list("paid_amount_fen", flat=True))
