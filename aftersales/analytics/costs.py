"""The cost of after-sales (R8.5, R11.1): what the cases cost and who paid, by kind, cause,
category, product and carrier; and the damage-in-transit rate by carrier.

- A cost counts in the period it was recorded (`CaseCost.recorded_at`), in integer fen.
- Its **cause** is the case's reason and the party that reason makes responsible.
- Its **category and product** are those of the case's first item (a case of several items
  is counted once, under its first).
- Its **carrier** is the carrier of the order's first outbound parcel.
- The **damage-in-transit rate** of a carrier: of the orders whose outbound parcel it carried
  (parcels created in the period), the share with an "arrived damaged" case; also by carrier
  and the parcel's packaging (`Shipment.packaging`, "—" where none was recorded).
- The **carriers' return-shipping rates** are data (`orders.carriers`): each carrier's first
  and extra kilogram, and the period's return parcels priced at one kilogram.
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
from aftersales.orders.carriers import CARRIERS, carrier_for, carrier_label
from aftersales.orders.choices import Packaging, ShipmentKind
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
    packaging: str | None = None  # None: all packagings together

    @property
    def rate(self) -> float | None:
        return ratio(self.damaged, self.orders)

    @property
    def carrier_label(self) -> str:
        return carrier_label(self.carrier)

    @property
    def packaging_label(self) -> str:
        if self.packaging in Packaging.values:
            return str(Packaging(self.packaging).label)
        return "—"


@dataclass(frozen=True)
class CarrierRate:
    code: str
    label: str
    first_kg_fen: int
    extra_kg_fen: int
    returns: int  # return parcels it took in the period

    @property
    def estimated_fen(self) -> int:
        return self.returns * self.first_kg_fen


def carrier_rates(scope: Scope, period: Period) -> list[CarrierRate]:
    """Every listed carrier with its return-shipping rate and the period's return parcels."""
    returns: dict[str, int] = {}
    for value, n in (
        in_period(
            Shipment.objects.filter(shop_id__in=scope.shop_ids, kind=ShipmentKind.RETURN),
            "created_at",
            period,
        )
        .values("carrier")
        .annotate(n=Count("pk"))
        .values_list("carrier", "n")
    ):
        carrier = carrier_for(value)
        if carrier is not None:
            returns[carrier.code] = returns.get(carrier.code, 0) + n
    return [
        CarrierRate(
            code=c.code,
            label=str(c.label),
            first_kg_fen=c.return_first_kg_fen,
            extra_kg_fen=c.return_extra_kg_fen,
            returns=returns.get(c.code, 0),
        )
        for c in CARRIERS.values()
    ]


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


def damage_by_carrier(
    scope: Scope, period: Period, *, by_packaging: bool = False
) -> list[CarrierDamage]:
    damaged_case = Exists(cut_cases(scope).filter(order_id=OuterRef("order_id"), reason="damaged"))
    rows = (
        in_period(
            Shipment.objects.filter(shop_id__in=scope.shop_ids, kind=ShipmentKind.OUTBOUND),
            "created_at",
            period,
        )
        .values(*(["carrier", "packaging"] if by_packaging else ["carrier"]))
        .annotate(
            orders=Count("order_id", distinct=True),
            damaged=Count("order_id", distinct=True, filter=damaged_case),
        )
        .order_by()
    )
    return sorted(
        (CarrierDamage(r["carrier"], r["orders"], r["damaged"], r.get("packaging")) for r in rows),
        key=lambda c: (-(c.rate or 0), c.carrier, c.packaging or ""),
    )
