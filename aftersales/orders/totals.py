"""The order side of the shop's numbers, kept by whatever writes orders, in its transaction.

Orders are not case events, so the case-event facts of the analytics cannot count them. Every
writer of orders — the platform's order import, the test builders — calls `count_order` after
it created the order and its items, inside the same transaction; it adds to

- `DailyOrderTotal`: orders and the goods amount paid per shop, Shanghai day of payment,
  channel and live room (the overview's denominators);
- `ProductDailyOrders`: orders with an item of the product and what was paid for those items,
  per shop, product and day (the problem products' denominators).

An item added later to an order already counted is counted with `count_order(order, [item])`:
the order is not counted again, a product only when the order had no item of it yet. The
order's payment time, channel and live room never change once written. Bulk writers (the
demo's history, the benchmarks) write the rows directly and call `rebuild_order_totals`, the
same sums from the raw rows, which `recount_order_totals` computes for the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate

from aftersales.core.tallies import add_to_tallies

from .models import DailyOrderTotal, Order, OrderItem, ProductDailyOrders

SHANGHAI = ZoneInfo("Asia/Shanghai")  # a day of the reports is a day in Shanghai

OrderKey = tuple[int, date, str, str]  # shop, day, channel, live room
ProductKey = tuple[int, int, date]  # shop, product, day


def paid_day(paid_at: datetime) -> date:
    return paid_at.astimezone(SHANGHAI).date()


def count_order(order: Order, items: Sequence[OrderItem], *, new_order: bool = True) -> None:
    """Add the order (if new) and these newly written items to the daily totals. Call it in
    the transaction that wrote them, once per item."""
    if not items and not new_order:
        return
    day = paid_day(order.paid_at)
    paid = sum(item.paid_amount_fen for item in items)
    _add(
        DailyOrderTotal,
        {
            "shop_id": order.shop_id,
            "day": day,
            "channel": order.channel,
            "live_room_id": order.live_room_id,
        },
        orders=1 if new_order else 0,
        paid_fen=paid,
    )
    new_ids = [item.pk for item in items]
    products: dict[int, int] = {}
    for item in items:
        product_id = item.sku.product_id
        products[product_id] = products.get(product_id, 0) + item.paid_amount_fen
    already = (
        set()
        if new_order
        else set(
            OrderItem.objects.filter(order_id=order.pk, sku__product_id__in=list(products))
            .exclude(pk__in=new_ids)
            .values_list("sku__product_id", flat=True)
        )
    )
    for product_id, fen in products.items():
        _add(
            ProductDailyOrders,
            {"shop_id": order.shop_id, "product_id": product_id, "day": day},
            orders=0 if product_id in already else 1,
            paid_fen=fen,
        )


def count_new_orders(orders: Sequence[tuple[Order, Sequence[OrderItem]]]) -> None:
    """`count_order` for many new orders at once (a bulk import): the sums per day and per
    product and day added up here, one addition per row of the totals. The items' skus must
    be loaded (`item.sku.product_id`)."""
    daily: Counter[OrderKey] = Counter()
    daily_paid: Counter[OrderKey] = Counter()
    per_product: Counter[ProductKey] = Counter()
    per_product_paid: Counter[ProductKey] = Counter()
    for order, items in orders:
        day = paid_day(order.paid_at)
        key = (order.shop_id, day, order.channel, order.live_room_id)
        daily[key] += 1
        products: set[int] = set()
        for item in items:
            daily_paid[key] += item.paid_amount_fen
            pkey = (order.shop_id, item.sku.product_id, day)
            per_product_paid[pkey] += item.paid_amount_fen
            products.add(item.sku.product_id)
        for product_id in products:
            per_product[(order.shop_id, product_id, day)] += 1
    add_to_tallies(
        DailyOrderTotal,
        ("shop_id", "day", "channel", "live_room_id"),
        {key: (daily[key], daily_paid[key]) for key in daily},
        fields=("orders", "paid_fen"),
    )
    add_to_tallies(
        ProductDailyOrders,
        ("shop_id", "product_id", "day"),
        {key: (per_product[key], per_product_paid[key]) for key in per_product},
        fields=("orders", "paid_fen"),
    )


def _add(model: type[DailyOrderTotal] | type[ProductDailyOrders], key: dict, **deltas: int) -> None:
    updates = {name: F(name) + delta for name, delta in deltas.items()}
    if model.objects.filter(**key).update(**updates):
        return
    try:
        # Two first orders of a day at once: one insert wins, the other adds to it.
        with transaction.atomic():
            model.objects.create(**key, **deltas)
    except IntegrityError:
        model.objects.filter(**key).update(**updates)


# --- From the raw rows -----------------------------------------------------------------------


def recount_order_totals(
    shop_ids: Iterable[int],
) -> tuple[Counter[OrderKey], Counter[OrderKey], Counter[ProductKey], Counter[ProductKey]]:
    """(orders, paid) per day and (orders, paid) per product and day, from the raw rows
    (aggregate queries: a shop's millions of orders never come into Python)."""
    shop_ids = list(shop_ids)
    orders: Counter[OrderKey] = Counter()
    paid: Counter[OrderKey] = Counter()
    for row in (
        Order.objects.filter(shop_id__in=shop_ids)
        .annotate(_day=TruncDate("paid_at", tzinfo=SHANGHAI))
        .values("shop_id", "_day", "channel", "live_room_id")
        .annotate(n=Count("pk"))
    ):
        orders[(row["shop_id"], row["_day"], row["channel"], row["live_room_id"])] += row["n"]
    for row in (
        OrderItem.objects.filter(order__shop_id__in=shop_ids)
        .annotate(_day=TruncDate("order__paid_at", tzinfo=SHANGHAI))
        .values("order__shop_id", "_day", "order__channel", "order__live_room_id")
        .annotate(s=Sum("paid_amount_fen"))
    ):
        key = (
            row["order__shop_id"],
            row["_day"],
            row["order__channel"],
            row["order__live_room_id"],
        )
        paid[key] += row["s"] or 0
    product_orders: Counter[ProductKey] = Counter()
    product_paid: Counter[ProductKey] = Counter()
    for row in (
        OrderItem.objects.filter(order__shop_id__in=shop_ids)
        .annotate(_day=TruncDate("order__paid_at", tzinfo=SHANGHAI))
        .values("order__shop_id", "sku__product_id", "_day")
        .annotate(n=Count("order_id", distinct=True), s=Sum("paid_amount_fen"))
    ):
        pkey = (row["order__shop_id"], row["sku__product_id"], row["_day"])
        product_orders[pkey] += row["n"]
        product_paid[pkey] += row["s"] or 0
    return orders, paid, product_orders, product_paid


def stored_order_totals(
    shop_ids: Iterable[int],
) -> tuple[Counter[OrderKey], Counter[OrderKey], Counter[ProductKey], Counter[ProductKey]]:
    shop_ids = list(shop_ids)
    orders: Counter[OrderKey] = Counter()
    paid: Counter[OrderKey] = Counter()
    for t in DailyOrderTotal.objects.filter(shop_id__in=shop_ids):
        key = (t.shop_id, t.day, t.channel, t.live_room_id)
        if t.orders or t.paid_fen:
            orders[key] += t.orders
            paid[key] += t.paid_fen
    product_orders: Counter[ProductKey] = Counter()
    product_paid: Counter[ProductKey] = Counter()
    for p in ProductDailyOrders.objects.filter(shop_id__in=shop_ids):
        pkey = (p.shop_id, p.product_id, p.day)
        if p.orders or p.paid_fen:
            product_orders[pkey] += p.orders
            product_paid[pkey] += p.paid_fen
    return orders, paid, product_orders, product_paid


@transaction.atomic
def rebuild_order_totals(shop_ids: Iterable[int]) -> None:
    """Write the shops' order totals afresh from the raw rows (after a bulk write)."""
    shop_ids = list(shop_ids)
    DailyOrderTotal.objects.filter(shop_id__in=shop_ids).delete()
    ProductDailyOrders.objects.filter(shop_id__in=shop_ids).delete()
    orders, paid, product_orders, product_paid = recount_order_totals(shop_ids)
    DailyOrderTotal.objects.bulk_create(
        [
            DailyOrderTotal(
                shop_id=shop_id,
                day=day,
                channel=channel,
                live_room_id=room,
                orders=orders[key],
                paid_fen=paid[key],
            )
            for key in set(orders) | set(paid)
            for shop_id, day, channel, room in [key]
        ],
        batch_size=5000,
    )
    ProductDailyOrders.objects.bulk_create(
        [
            ProductDailyOrders(
                shop_id=shop_id,
                product_id=product_id,
                day=day,
                orders=product_orders[key],
                paid_fen=product_paid[key],
            )
            for key in product_orders
            for shop_id, product_id, day in [key]
        ],
        batch_size=5000,
    )
