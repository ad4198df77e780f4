"""Improvement tracking (R8.4): a change recorded on a product with its date, and its effect
measured before against after with a two-proportion z-test, said in an honest sentence.

For a change on day D and a window of W days (default 30): the orders of the product paid
in the W days before D, and those paid from D on (at most W days, up to today). In each,
the share of orders with a case for the reasons the change addresses (a size chart: size;
packaging: damaged; a supplier: quality, does not work; the listing: not as described;
anything else: every reason). The difference is tested with the pooled two-proportion z-test
(two-sided); with fewer than `MIN_ORDERS` orders on either side the sentence says there is
not enough yet to tell, and a p-value of 0.05 or more says no clear effect — a difference
that could be chance is never reported as a success.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext as _

from aftersales.cases.models import CaseItem
from aftersales.orders.models import OrderItem

from .models import Improvement, ImprovementKind
from .periods import Period, shanghai_today

MIN_ORDERS = 30
WINDOW_DAYS = 30
SIGNIFICANCE = 0.05
REASONS_ADDRESSED: dict[str, frozenset[str] | None] = {
    ImprovementKind.SIZE_CHART: frozenset({"wrong_size"}),
    ImprovementKind.PACKAGING: frozenset({"damaged"}),
    ImprovementKind.SUPPLIER: frozenset({"quality_issue", "functional_fault"}),
    ImprovementKind.LISTING: frozenset({"not_as_described"}),
    ImprovementKind.OTHER: None,  # every reason
}


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float] | None:
    """(z, two-sided p) of the pooled z-test of k1/n1 against k2/n2; None if undefined."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return None
    z = (k2 / n2 - k1 / n1) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Side:
    period: Period | None
    orders: int
    with_case: int

    @property
    def rate(self) -> float | None:
        return self.with_case / self.orders if self.orders else None


@dataclass(frozen=True)
class Effect:
    improvement: Improvement
    before: Side
    after: Side
    z: float | None
    p: float | None

    @property
    def enough(self) -> bool:
        return self.before.orders >= MIN_ORDERS and self.after.orders >= MIN_ORDERS

    @property
    def change_points(self) -> float | None:
        if self.before.rate is None or self.after.rate is None:
            return None
        return (self.after.rate - self.before.rate) * 100

    @property
    def sentence(self) -> str:
        if not self.enough:
            return _(
                "Not enough orders yet to tell: %(before)d before and %(after)d after; "
                "%(needed)d on each side are needed."
            ) % {"before": self.before.orders, "after": self.after.orders, "needed": MIN_ORDERS}
        points = self.change_points or 0.0
        words = {
            "points": f"{'+' if points >= 0 else '−'}{abs(points):.1f}",
            "p": _format_p(self.p),
            "before": f"{(self.before.rate or 0) * 100:.1f}%",
            "after": f"{(self.after.rate or 0) * 100:.1f}%",
        }
        if self.p is None or self.p >= SIGNIFICANCE:
            return (
                _("%(points)s points (%(before)s → %(after)s), p = %(p)s: no clear effect yet.")
                % words
            )
        if points < 0:
            return (
                _(
                    "%(points)s points (%(before)s → %(after)s), p = %(p)s: fewer cases since "
                    "the change, unlikely to be chance."
                )
                % words
            )
        return (
            _(
                "%(points)s points (%(before)s → %(after)s), p = %(p)s: more cases since the "
                "change, unlikely to be chance."
            )
            % words
        )


def _format_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _side(improvement: Improvement, period: Period | None) -> Side:
    if period is None:
        return Side(None, 0, 0)
    reasons = REASONS_ADDRESSED.get(improvement.kind)
    cases = CaseItem.objects.filter(order_item=OuterRef("pk"))
    if reasons is not None:
        cases = cases.filter(case__reason__in=reasons)
    counts = OrderItem.objects.filter(
        shop_id=improvement.shop_id,
        sku__product_id=improvement.product_id,
        order__paid_at__gte=period.start,
        order__paid_at__lt=period.end,
    ).aggregate(
        orders=Count("order_id", distinct=True),
        hit=Count("order_id", distinct=True, filter=Exists(cases)),
    )
    return Side(period, counts["orders"] or 0, counts["hit"] or 0)


def measure(
    improvement: Improvement, *, window_days: int = WINDOW_DAYS, today: date | None = None
) -> Effect:
    today = today or shanghai_today()
    day = improvement.changed_on
    before = Period(day - timedelta(days=window_days), day - timedelta(days=1))
    last = min(day + timedelta(days=window_days - 1), today)
    after = Period(day, last) if last >= day else None
    b, a = _side(improvement, before), _side(improvement, after)
    test = two_proportion_test(b.with_case, b.orders, a.with_case, a.orders)
    return Effect(
        improvement=improvement,
        before=b,
        after=a,
        z=test[0] if test else None,
        p=test[1] if test else None,
    )
