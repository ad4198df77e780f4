"""`core.bulk.insert_all`: the bulk import's writer (COPY on PostgreSQL) leaves the same rows,
with the same primary keys on the objects, as `bulk_create`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.catalog.models import Product, Sku
from aftersales.core.bulk import insert_all
from aftersales.orders.models import Buyer, Order, OrderItem

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 11, 2, 30, tzinfo=UTC)


def _orders(shop, prefix: str, count: int) -> tuple[list[Order], list[OrderItem]]:
    buyer = Buyer.objects.create(shop=shop, platform_buyer_id=f"{prefix}-buyer")
    product = Product.objects.create(shop=shop, platform_product_id=f"{prefix}-p", name="T恤")
    sku = Sku.objects.create(
        shop=shop, product=product, platform_sku_id=f"{prefix}-s", list_price_fen=8900
    )
    orders = [
        Order(shop=shop, buyer=buyer, platform_order_id=f"{prefix}-{n}", paid_at=AT)
        for n in range(count)
    ]
    # Items point at their order before it has an id, as the import builds them.
    items = [
        OrderItem(
            shop=shop,
            order=order,
            sku=sku,
            platform_item_id=f"{order.platform_order_id}-1",
            quantity=1,
            list_price_fen=8900 + n,
            paid_amount_fen=7900 + n,
        )
        for n, order in enumerate(orders)
    ]
    return orders, items


def _cases(orders: list[Order]) -> list[Case]:
    return [
        Case(
            shop_id=order.shop_id,
            order=order,
            platform_case_id=f"as-{order.platform_order_id}",
            type="refund_shipped",
            reason="no_reason",
            buyer_statement="不想要了\t\\ 换行\n第二行",  # COPY's own escapes in the text
            requested_amount_fen=7900,
            order_snapshot={"items": [{"sku": "TS-001", "name": "纯棉T恤"}], "n": None},
            applied_at=AT,
        )
        for order in orders
    ]


@time_machine.travel(AT, tick=False)
def test_r13_3_insert_all_writes_what_bulk_create_writes():
    shop = testing.make_shop()
    orders, items = _orders(shop, "copy", 3)
    insert_all(Order, orders)
    insert_all(OrderItem, items)
    cases = insert_all(Case, _cases(orders))

    twins, twin_items = _orders(shop, "bulk", 3)
    Order.objects.bulk_create(twins)
    for item in twin_items:
        item.order = item.order  # bulk_create needs the id set again
    OrderItem.objects.bulk_create(twin_items)
    twin_cases = Case.objects.bulk_create(_cases(twins))

    assert all(obj.pk is not None and not obj._state.adding for obj in [*orders, *cases])
    assert [i.order_id for i in items] == [o.pk for o in orders]
    skip = {"id", "order", "order_id", "platform_case_id"}

    def row(case: Case) -> dict:
        values = Case.objects.filter(pk=case.pk).values().get()
        return {k: v for k, v in values.items() if k not in skip}

    for case, twin in zip(cases, twin_cases, strict=True):
        assert row(case) == row(twin)
        stored = Case.objects.get(pk=case.pk)
        assert stored.buyer_statement == "不想要了\t\\ 换行\n第二行"
        assert stored.order_snapshot == {"items": [{"sku": "TS-001", "name": "纯棉T恤"}], "n": None}
        assert stored.updated_at == AT  # auto_now, as bulk_create sets it
    stored_items = OrderItem.objects.filter(order__in=orders).order_by("paid_amount_fen")
    assert [i.paid_amount_fen for i in stored_items] == [7900, 7901, 7902]


def test_r13_3_insert_all_takes_ids_the_next_insert_does_not_reuse():
    shop = testing.make_shop()
    orders, _items = _orders(shop, "ids", 2)
    insert_all(Order, orders)
    later = Order.objects.create(
        shop=shop, buyer=orders[0].buyer, platform_order_id="ids-later", paid_at=AT
    )
    assert later.pk > max(o.pk for o in orders)
    assert Order.objects.filter(shop=shop).count() == 3


def test_r13_3_insert_all_of_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert insert_all(Order, []) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_r13_3_insert_all_copies_in_one_statement_per_table(django_assert_max_num_queries):
    shop = testing.make_shop()
    orders, _items = _orders(shop, "few", 50)
    # Fifty rows: the ids in one statement, the rows in one COPY.
    with django_assert_max_num_queries(2):
        insert_all(Order, orders)
    assert Order.objects.filter(platform_order_id__startswith="few-").count() == 50
