"""The cost of after-sales (R8.5, R11.1): what the cases cost and who paid, by kind, cause,
category, product and carrier; and the damage-in-transit rate by carrier.

- A cost counts in the period it was recorded (`CaseCost.recorded_at`), in integer fen.
- Its **cause** is the case's reason and the party that reason makes responsible.
- Its **category and product** are those of the case's first item (a case of several items
  is counted once, under its first).
- Its **carrier** is the carrier of the order's first outbound parcel.
- The **damage-in-transit rate** of a carrier: of the orders whose outbound parcel it carried
  (parcels created in the period), the share with an "arrived damaged" case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import CostKind, CostPayer, ResponsibleParty
from aftersales.cases.models import CaseCost, CaseItem
from aftersales.cases.reasons import REASONS
from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product
from aftersales.orders.choices import ShipmentKind
from aftersales.orders.models import Shipment

from .overview import cut_cases, in_period, ratio
from .periods import Period
from .scope import Scope

BY = {
    "kind": _("Kind"),
    "payer": _("Paid by"),
    "reason": _("Cause"),
    "category": _("Category"),
    "product": _("Product"),
    "carrier": _("Carrier"),
}


@dataclass(frozen=True)
class CostRow:
    key: Any
    label: str
    costs: int
    fen: int
    by_payer: dict[str, int]


@dataclass(frozen=True)
class CarrierDamage:
    carrier: str
    orders: int
    damaged: int

    @property
    def rate(self) -> float | None:
        return ratio(self.damaged, self.orders)


def _costs(scope: Scope, period: Period) -> Any:
    first_item = CaseItem.objects.filter(case_id=OuterRef("case_id")).order_by("pk")
    first_parcel = Shipment.objects.filter(
        order_id=OuterRef("case__order_id"), kind=ShipmentKind.OUTBOUND
    ).order_by("pk")
    return in_period(
        CaseCost.objects.filter(shop_id__in=scope.shop_ids, case__in=cut_cases(scope)),
        "recorded_at",
        period,
    ).annotate(
        reason=F("case__reason"),
        product=Subquery(first_item.values("order_item__sku__product_id")[:1]),
        category=Subquery(first_item.values("order_item__sku__product__category")[:1]),
        carrier=Subquery(first_parcel.values("carrier")[:1]),
    )


def _labels(by: str, keys: list[Any], scope: Scope) -> dict[Any, str]:
    if by == "kind":
        return {k: str(CostKind(k).label) for k in keys if k in CostKind.values}
    if by == "payer":
        return {k: str(CostPayer(k).label) for k in keys if k in CostPayer.values}
    if by == "reason":
        return {
            k: f"{REASONS[k].label}（{ResponsibleParty(REASONS[k].responsible).label}）"
            for k in keys
            if k in REASONS
        }
    if by == "category":
        return {k: str(Category(k).label) for k in keys if k in Category.values}
    if by == "product":
        return dict(
            Product.objects.filter(shop_id__in=scope.shop_ids, pk__in=keys).values_list(
                "pk", "name"
            )
        )
    return {k: str(k) for k in keys if k}


def costs_by(scope: Scope, period: Period, by: str) -> list[CostRow]:
    """The period's costs grouped by `by` (a key of `BY`), with who paid, most first."""
    grouped: dict[Any, dict[str, Any]] = {}
    for row in (
        _costs(scope, period)
        .values(by, "payer")
        .annotate(n=Count("pk"), fen=Sum("amount_fen"))
        .order_by()
    ):
        entry = grouped.setdefault(row[by], {"n": 0, "fen": 0, "payers": {}})
        entry["n"] += row["n"]
        entry["fen"] += row["fen"] or 0
        entry["payers"][row["payer"]] = entry["payers"].get(row["payer"], 0) + (row["fen"] or 0)
    labels = _labels(by, [k for k in grouped if k is not None], scope)
    rows = [
        CostRow(
            key=key,
            label=labels.get(key, "—"),
            costs=entry["n"],
            fen=entry["fen"],
            by_payer=entry["payers"],
        )
        for key, entry in grouped.items()
    ]
    return sorted(rows, key=lambda r: (-r.fen, r.label))


def damage_by_carrier(scope: Scope, period: Period) -> list[CarrierDamage]:
    damaged_case = Exists(cut_cases(scope).filter(order_id=OuterRef("order_id"), reason="damaged"))
    rows = (
        in_period(
            Shipment.objects.filter(shop_id__in=scope.shop_ids, kind=ShipmentKind.OUTBOUND),
            "created_at",
            period,
        )
        .values("carrier")
        .annotate(
            orders=Count("order_id", distinct=True),
            damaged=Count("order_id", distinct=True, filter=damaged_case),
        )
        .order_by()
    )
    return sorted(
        (CarrierDamage(r["carrier"], r["orders"], r["damaged"]) for r in rows),
        key=lambda c: (-(c.rate or 0), c.carrier),
    )
