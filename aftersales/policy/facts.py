"""Building the policy's facts from a stored case, or from JSON for what-if questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aftersales.cases.choices import RETURNING_TYPES, CaseType
from aftersales.cases.models import Case, CaseItem, opened_items
from aftersales.cases.reasons import REASONS
from aftersales.core.limits import CODE_MAX_LENGTH
from aftersales.orders.choices import OrderStatus

from .engine import CaseFacts, ItemFacts

EVIDENCE_NAMES = {"image": "photo", "video": "video"}


def facts_for_case(case: Case, *, just_opened: bool = False) -> CaseFacts:
    """The facts of a stored case: the order as it was at application (its snapshot), the
    evidence and inspection as they are now.

    `just_opened`: the case was created in the caller's transaction (its opening event), so it
    has no evidence, inspection or technical support yet; one query (its items) instead of
    four."""
    order = case.order
    refunded_at_application = {
        line["id"]: line["refunded_amount_fen"] for line in case.order_snapshot.get("items", [])
    }
    items = tuple(
        ItemFacts(
            category=ci.order_item.sku.product.category,
            quantity=ci.quantity,
            ordered_quantity=ci.order_item.quantity,
            paid_amount_fen=ci.order_item.paid_amount_fen,
            refunded_amount_fen=refunded_at_application.get(
                ci.order_item_id, ci.order_item.refunded_amount_fen
            ),
            is_high_risk=ci.order_item.sku.product.is_high_risk,
            exclusion_confirmed=ci.order_item.return_exclusion_confirmed,
            best_before=ci.order_item.best_before,
        )
        for ci in _items_of(case, just_opened)
    )
    if just_opened:
        inspection = None
        evidence: frozenset[str] = frozenset()
        technical_support_done = False
    else:
        inspection = case.inspections.order_by("-inspected_at", "-pk").first()
        evidence = frozenset(
            EVIDENCE_NAMES[kind]
            for kind in case.evidence.filter(source="buyer").values_list("kind", flat=True)
        )
        technical_support_done = case.events.filter(type="technical_support_recorded").exists()
    return CaseFacts(
        type=case.type,
        reason=case.reason,
        responsible=REASONS[case.reason].responsible,
        order_status=case.order_snapshot.get("status", order.status),
        applied_at=case.applied_at,
        delivered_at=order.delivered_at,
        items=items,
        shipping_fee_paid_fen=order.shipping_fee_paid_fen,
        shipping_refunded_fen=case.order_snapshot.get(
            "shipping_refunded_fen", order.shipping_refunded_fen
        ),
        has_shipping_insurance=order.has_shipping_insurance,
        buyer_vip_level=order.buyer.vip_level,
        requested_amount_fen=case.requested_amount_fen,
        evidence=evidence,
        goods_intact=None if inspection is None else inspection.condition == "good",
        package_opened=None
        if inspection is None or inspection.package_intact is None
        else not inspection.package_intact,
        technical_support_done=technical_support_done,
    )


# A code of the system's lists (a case type, a reason, a category, an evidence kind).
Code = Annotated[str, StringConstraints(max_length=CODE_MAX_LENGTH)]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Code
    quantity: int = Field(1, gt=0)
    ordered_quantity: int | None = Field(None, gt=0)
    paid_amount_fen: int = Field(ge=0)
    refunded_amount_fen: int = Field(0, ge=0)
    is_high_risk: bool = False
    exclusion_confirmed: bool = False
    best_before: date | None = None


class CaseIn(BaseModel):
    """A case described in JSON for `policy_check` (see docs/policy.md)."""

    model_config = ConfigDict(extra="forbid")

    shop_id: int | None = None
    type: Code
    reason: Code
    order_status: Code
    applied_at: datetime
    delivered_at: datetime | None = None
    items: list[ItemIn] = Field(min_length=1, max_length=200)
    shipping_fee_paid_fen: int = Field(0, ge=0)
    shipping_refunded_fen: int = Field(0, ge=0)
    has_shipping_insurance: bool = False
    buyer_vip_level: int = Field(0, ge=0)
    requested_amount_fen: int | None = Field(None, ge=0)
    evidence: list[Code] = Field(default_factory=list, max_length=10)
    goods_intact: bool | None = None
    package_opened: bool | None = None
    technical_support_done: bool = False
    # The later deadlines count from these; without them the answer says what they count from.
    approved_at: datetime | None = None
    received_at: datetime | None = None

    def to_facts(self) -> CaseFacts:
        if self.type not in CaseType.values:
            raise ValueError(f"unknown type {self.type!r}")
        if self.reason not in REASONS:
            raise ValueError(f"unknown reason {self.reason!r}")
        if self.order_status not in OrderStatus.values:
            raise ValueError(f"unknown order_status {self.order_status!r}")
        for name in ("applied_at", "delivered_at", "approved_at", "received_at"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} needs a time zone, e.g. +08:00")
        if self.approved_at is not None and self.approved_at < self.applied_at:
            raise ValueError("approved_at is before applied_at")
        if self.received_at is not None:
            if self.type not in RETURNING_TYPES:
                raise ValueError(f"received_at: nothing comes back in a {self.type} case")
            if self.received_at < (self.approved_at or self.applied_at):
                raise ValueError("received_at is before the approval (or the application)")
        return CaseFacts(
            type=self.type,
            reason=self.reason,
            responsible=REASONS[self.reason].responsible,
            order_status=self.order_status,
            applied_at=self.applied_at,
            delivered_at=self.delivered_at,
            items=tuple(
                ItemFacts(
                    category=i.category,
                    quantity=i.quantity,
                    ordered_quantity=i.ordered_quantity or i.quantity,
                    paid_amount_fen=i.paid_amount_fen,
                    refunded_amount_fen=i.refunded_amount_fen,
                    is_high_risk=i.is_high_risk,
                    exclusion_confirmed=i.exclusion_confirmed,
                    best_before=i.best_before,
                )
                for i in self.items
            ),
            shipping_fee_paid_fen=self.shipping_fee_paid_fen,
            shipping_refunded_fen=self.shipping_refunded_fen,
            has_shipping_insurance=self.has_shipping_insurance,
            buyer_vip_level=self.buyer_vip_level,
            requested_amount_fen=self.requested_amount_fen,
            evidence=frozenset(self.evidence),
            goods_intact=self.goods_intact,
            package_opened=self.package_opened,
            technical_support_done=self.technical_support_done,
            approved_at=self.approved_at,
            received_at=self.received_at,
        )


def _items_of(case: Case, just_opened: bool) -> Sequence[CaseItem]:
    """The case's items with their order items, SKUs and products: those `open_case` wrote,
    if this is the opening's transaction and object, else read."""
    items = opened_items(case) if just_opened else None
    if items is not None:
        return items
    return list(case.items.select_related("order_item__sku__product").order_by("pk"))
