"""Helpers of the team tests."""

from __future__ import annotations

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.orders.choices import OrderStatus
from aftersales.shops.models import Shop


def new_case(
    shop: Shop,
    *,
    category: str = "apparel",
    vip_level: int = 0,
    status: str = OrderStatus.DELIVERED,
) -> Case:
    """A fresh return case on a one-item order of the given category."""
    order = testing.make_order(
        shop, status=status, lines=[testing.Line(category=category)], vip_level=vip_level
    )
    return testing.make_case(order, type="return_refund", reason="no_reason")
