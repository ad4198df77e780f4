"""Problem products (R8.2): products whose after-sales rate or reason mix stands out from
their category, flagged only when the data supports it, each with the likely cause.

For the orders paid in the period (a cohort: their cases may come later):

- a product's **after-sales rate** is the share of its orders that have a case on it;
- it is compared with the **rest of its category** (the same counts over the category's
  other products) — or, when the category has too few other orders, with the rest of the
  shops' products;
- it is **flagged** only when it has at least `MIN_ORDERS` orders and the lower end of the
  95 % Wilson score interval of its rate is above the comparison rate: 1 case out of 2
  orders is 50 %, and says nothing;
- its **reason mix** is compared the same way, reason by reason: the share of its cases
  with that reason against the rest of the category's, flagged when the Wilson lower bound
  of the share is above it (and the product has at least `MIN_CASES` cases);
- the **likely cause** is named from the reason that stands out most (or, if none does but
  the rate does, the commonest reason): "not as described" → the listing and photos,
  "damaged" → packaging or the carrier, "quality" / "does not work" → the supplier, "size" →
  the size chart, "wrong item" / "missing items" → warehouse picking, "expired" → stock
  rotation. The buyer's own reasons (no reason, changed mind) name no cause and never flag
  a product by its mix: more buyers changing their mind is not a fault of the goods.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseItem
from aftersales.cases.reasons import REASONS
from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product
from aftersales.orders.models import ProductDailyOrders

from .models import CaseProductFact
from .overview import cut_order_items, in_period, ratio
from .periods import Period
from .scope import Scope

MIN_ORDERS = 30  # fewer orders than this and a product is never flagged on its rate
MIN_CASES = 8  # fewer cases than this and its reason mix is never flagged
Z = 1.96  # 95 % two-sided


def wilson_interval(k: int, n: int, z: float = Z) -> tuple[float, float] | None:
    """The Wilson score interval of k successes in n trials; None for n = 0."""
    if n <= 0:
        return None
    p = k / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator))


@dataclass(frozen=True)
class Cause:
    key: str
    label: Promise


CAUSES: dict[str, Cause] = {}
for _codes, _cause in (
    (("not_as_described",), Cause("listing", _("Listing and photos: the page promises more"))),
    (("damaged",), Cause("packaging", _("Packaging or the carrier"))),
    (("quality_issue", "functional_fault"), Cause("supplier", _("The supplier's quality"))),
    (("wrong_size",), Cause("size_chart", _("The size chart"))),
    (("wrong_item", "missing_item"), Cause("picking", _("Warehouse picking and packing"))),
    (("expired",), Cause("stock", _("Stock rotation (expiry dates)"))),
):
    for _code in _codes:
        CAUSES[_code] = _cause


@dataclass
class ReasonFinding:
    code: str
    label: str
    cases: int
    share: float | None
    compared_share: float | None
    lower: float | None
    flagged: bool


@dataclass
class ProductFinding:
    product_id: int
    name: str
    category: str
    category_label: str
    orders: int
    orders_with_case: int
    cases: int
    compared_orders: int
    compared_with_case: int
    compared_with: str  # "category" or "shops"
    interval: tuple[float, float] | None
    flagged_rate: bool
    reasons: list[ReasonFinding] = field(default_factory=list)
    cause: Cause | None = None
    cause_reason: str = ""

    @property
    def rate(self) -> float | None:
        return ratio(self.orders_with_case, self.orders)

    @property
    def compared_rate(self) -> float | None:
        return ratio(self.compared_with_case, self.compared_orders)

    @property
    def lower(self) -> float | None:
        return self.interval[0] if self.interval else None

    @property
    def flagged(self) -> bool:
        return self.flagged_rate or any(r.flagged for r in self.reasons)

    @property
    def enough_orders(self) -> bool:
        return self.orders >= MIN_ORDERS

    @property
    def excess(self) -> float:
        """How far the rate's lower bound is above the comparison (for ordering)."""
        if self.lower is None or self.compared_rate is None:
            return -1.0
        return self.lower - self.compared_rate


def problem_products(scope: Scope, period: Period, *, facts: bool = True) -> list[ProductFinding]:
    """Every product with orders in the period, flagged ones first, then by excess.

    Read from the facts (orders per product and day, kept by the order writes; a row per case
    and product, kept by the case events) unless a cut they do not carry is set (SKU, carrier,
    channel, live room) or `facts=False` (the raw rows; the tests compare the two)."""
    if facts and product_facts_apply(scope):
        per_product, mix = _counts_from_facts(scope, period)
    else:
        per_product, mix = _counts_from_rows(scope, period)
    if not per_product:
        return []
    products = {
        p.pk: p
        for p in Product.objects.filter(
            shop_id__in=scope.shop_ids, pk__in=[r["sku__product_id"] for r in per_product]
        )
    }
    category_orders: dict[str, int] = defaultdict(int)
    category_with_case: dict[str, int] = defaultdict(int)
    category_mix: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in per_product:
        product = products[row["sku__product_id"]]
        category_orders[product.category] += row["orders"]
        category_with_case[product.category] += row["with_case"]
        for code, n in mix[product.pk].items():
            category_mix[product.category][code] += n
    all_orders = sum(category_orders.values())
    all_with_case = sum(category_with_case.values())
    all_mix: dict[str, int] = defaultdict(int)
    for counts in category_mix.values():
        for code, n in counts.items():
            all_mix[code] += n

    findings = []
    for row in per_product:
        product = products[row["sku__product_id"]]
        own_mix = mix[product.pk]
        rest_orders = category_orders[product.category] - row["orders"]
        if rest_orders >= MIN_ORDERS:
            compared_with = "category"
            rest_with_case = category_with_case[product.category] - row["with_case"]
            rest_mix = {
                code: n - own_mix.get(code, 0) for code, n in category_mix[product.category].items()
            }
        else:
            compared_with = "shops"
            rest_orders = all_orders - row["orders"]
            rest_with_case = all_with_case - row["with_case"]
            rest_mix = {code: n - own_mix.get(code, 0) for code, n in all_mix.items()}
        finding = ProductFinding(
            product_id=product.pk,
            name=product.name,
            category=product.category,
            category_label=_category_label(product.category),
            orders=row["orders"],
            orders_with_case=row["with_case"],
            cases=sum(own_mix.values()),
            compared_orders=rest_orders,
            compared_with_case=rest_with_case,
            compared_with=compared_with,
            interval=wilson_interval(row["with_case"], row["orders"]),
            flagged_rate=False,
        )
        finding.flagged_rate = (
            finding.enough_orders
            and rest_orders > 0
            and finding.lower is not None
            and finding.compared_rate is not None
            and finding.lower > finding.compared_rate
        )
        finding.reasons = _reason_findings(own_mix, rest_mix)
        finding.cause, finding.cause_reason = _likely_cause(finding)
        findings.append(finding)
    return sorted(findings, key=lambda f: (not f.flagged, -f.excess, -f.orders, f.name))


def product_facts_apply(scope: Scope) -> bool:
    cuts = scope.cuts
    return not (cuts.sku is not None or cuts.carrier or cuts.channel or cuts.live_room)


Counts = tuple[list[dict[str, Any]], dict[int, dict[str, int]]]


def _counts_from_rows(scope: Scope, period: Period) -> Counts:
    items = in_period(cut_order_items(scope), "order__paid_at", period)
    has_case = Exists(CaseItem.objects.filter(order_item=OuterRef("pk")))
    per_product = list(
        items.values("sku__product_id").annotate(
            orders=Count("order_id", distinct=True),
            with_case=Count("order_id", distinct=True, filter=has_case),
        )
    )
    # Cases on those orders' items, by product and reason.
    mix: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        CaseItem.objects.filter(order_item__in=items)
        .values("order_item__sku__product_id", "case__reason")
        .annotate(n=Count("case_id", distinct=True))
    ):
        mix[row["order_item__sku__product_id"]][row["case__reason"]] = row["n"]
    return per_product, mix


def _counts_from_facts(scope: Scope, period: Period) -> Counts:
    cuts = scope.cuts
    days = {"day__gte": period.first, "day__lte": period.last}
    orders = ProductDailyOrders.objects.filter(shop_id__in=scope.shop_ids, **days)
    cases = CaseProductFact.objects.filter(
        shop_id__in=scope.shop_ids, paid_day__gte=period.first, paid_day__lte=period.last
    )
    if cuts.product is not None:
        orders = orders.filter(product_id=cuts.product)
        cases = cases.filter(product_id=cuts.product)
    if cuts.category:
        in_category = Product.objects.filter(
            shop_id__in=scope.shop_ids, category=cuts.category
        ).values("pk")
        orders = orders.filter(product_id__in=in_category)
        cases = cases.filter(product_id__in=in_category)
    with_case = dict(
        cases.values("product_id")
        .annotate(n=Count("order_id", distinct=True))
        .values_list("product_id", "n")
    )
    per_product = [
        {"sku__product_id": product_id, "orders": n, "with_case": with_case.get(product_id, 0)}
        for product_id, n in orders.values("product_id")
        .annotate(n=Sum("orders"))
        .values_list("product_id", "n")
        if n
    ]
    mix: dict[int, dict[str, int]] = defaultdict(dict)
    for product_id, reason, n in (
        cases.values("product_id", "reason")
        .annotate(n=Count("pk"))
        .values_list("product_id", "reason", "n")
    ):
        mix[product_id][reason] = n
    return per_product, mix


def _reason_findings(own: dict[str, int], rest: dict[str, int]) -> list[ReasonFinding]:
    total, rest_total = sum(own.values()), sum(rest.values())
    findings = []
    for code, n in sorted(own.items(), key=lambda item: (-item[1], item[0])):
        interval = wilson_interval(n, total)
        compared = ratio(rest.get(code, 0), rest_total)
        lower = interval[0] if interval else None
        findings.append(
            ReasonFinding(
                code=code,
                label=str(REASONS[code].label) if code in REASONS else code,
                cases=n,
                share=ratio(n, total),
                compared_share=compared,
                lower=lower,
                flagged=code in CAUSES
                and total >= MIN_CASES
                and compared is not None
                and lower is not None
                and lower > compared,
            )
        )
    return findings


def _likely_cause(finding: ProductFinding) -> tuple[Cause | None, str]:
    standing_out = [r for r in finding.reasons if r.flagged and r.code in CAUSES]
    if standing_out:
        top = max(standing_out, key=lambda r: (r.lower or 0) - (r.compared_share or 0))
        return CAUSES[top.code], top.code
    if finding.flagged_rate:
        for reason in finding.reasons:  # commonest first
            if reason.code in CAUSES:
                return CAUSES[reason.code], reason.code
    return None, ""


def _category_label(code: str) -> str:
    return str(Category(code).label) if code in Category.values else code


def finding_as_dict(finding: ProductFinding) -> dict[str, Any]:
    return {
        "product": finding.product_id,
        "name": finding.name,
        "category": finding.category,
        "orders": finding.orders,
        "orders_with_case": finding.orders_with_case,
        "rate": finding.rate,
        "rate_interval_95": list(finding.interval) if finding.interval else None,
        "compared_with": finding.compared_with,
        "compared_rate": finding.compared_rate,
        "flagged_rate": finding.flagged_rate,
        "flagged": finding.flagged,
        "enough_orders": finding.enough_orders,
        "reasons": [
            {
                "reason": r.code,
                "cases": r.cases,
                "share": r.share,
                "compared_share": r.compared_share,
                "share_lower_95": r.lower,
                "flagged": r.flagged,
            }
            for r in finding.reasons
        ],
        "likely_cause": finding.cause.key if finding.cause else None,
        "likely_cause_reason": finding.cause_reason or None,
    }
