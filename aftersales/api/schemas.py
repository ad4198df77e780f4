"""Request and response shapes of the v1 API. Money is integer fen, with yuan beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import field_validator

from aftersales.core.limits import (
    CARRIER_MAX_LENGTH,
    CODE_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    SHORT_NOTE_MAX_LENGTH,
    TRACKING_NUMBER_MAX_LENGTH,
)
from aftersales.orders.carriers import CARRIERS


class FieldErrorOut(Schema):
    loc: list[str] = Field(description="Where the input is: body, query or path, then its name")
    field: str = Field(description="The input's name, e.g. `note` or `items[0].quantity`")
    type: str = Field(description="What kind of refusal, e.g. `missing`, `string_too_long`")
    message_zh: str
    message_en: str


class ErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str
    params: dict = Field(default_factory=dict)
    field: str | None = Field(None, description="The input the refusal is about, if one")
    errors: list[FieldErrorOut] | None = Field(
        None, description="Each refused input, when the request did not validate"
    )


class BuyerOut(Schema):
    platform_buyer_id: str
    nickname: str
    phone: str  # masked
    vip_level: int


class CaseOut(Schema):
    id: int
    shop_id: int
    platform_case_id: str | None
    order_id: str
    type: str
    type_label: str
    reason: str
    reason_label: str
    status: str
    status_label: str
    refund_status: str
    return_status: str
    dispute_status: str
    priority: int
    assignee_id: int | None
    requested_amount_fen: int
    requested_amount: str
    buyer: BuyerOut
    applied_at: datetime
    updated_at: datetime


class CasePage(Schema):
    # Exact up to `api.COUNT_CAP` matching cases; past it, `count` is the cap and
    # `count_exact` false ("that many or more"): counting a million cases on every call
    # would cost more than the page itself (issue 16).
    count: int
    count_exact: bool = True
    limit: int
    offset: int
    results: list[CaseOut]


class CaseItemOut(Schema):
    order_item_id: int
    product_name: str
    category: str
    spec: str
    quantity: int
    ordered_quantity: int
    list_price_fen: int
    paid_amount_fen: int  # for the whole line, every unit ordered
    paid_amount: str
    paid_for_quantity_fen: int  # the share of the line paid for the case's quantity
    refunded_amount_fen: int  # refunded on the line by every case
    refundable_fen: int  # what this case may still refund on the line


class OrderOut(Schema):
    platform_order_id: str
    status: str
    paid_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    shipping_fee_paid_fen: int
    shipping_refunded_fen: int
    has_shipping_insurance: bool
    receiver: dict[str, str]  # masked


class RefundOut(Schema):
    goods_amount_fen: int
    shipping_amount_fen: int
    return_postage_fen: int
    total_fen: int
    total: str
    is_partial: bool
    reason: str
    decided_by: str
    decided_at: datetime
    execution_status: str
    attempts: int
    last_error: str
    external_reference: str


class EventOut(Schema):
    seq: int
    type: str
    actor: str
    before: dict
    after: dict
    payload: dict
    created_at: datetime


class EvidenceOut(Schema):
    id: int
    source: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    note: str
    uploaded_by: str
    uploaded_at: datetime
    url: str


class InspectionOut(Schema):
    id: int
    result: str
    condition: str
    notes: str
    inspected_by: str
    inspected_at: datetime


class QualityCheckOut(Schema):
    id: int
    quality_ok: bool
    packaging_intact: bool
    passed: bool
    notes: str
    checked_at: datetime


class CostOut(Schema):
    id: int
    kind: str
    amount_fen: int
    payer: str
    note: str
    recorded_by: str
    recorded_at: datetime


class ShipmentOut(Schema):
    id: int
    kind: str
    carrier: str
    carrier_name: str  # in Chinese
    tracking_number: str
    status: str
    created_at: datetime


class ClockOut(Schema):
    id: int
    kind: str
    label: str
    state: str
    started_at: datetime
    due_at: datetime
    seconds_left: int | None
    at_risk: bool
    breached: bool
    is_buyer_clock: bool
    policy_version: str


class DecisionOut(Schema):
    policy_version: str
    recommendation: str
    complexity: str
    auto_approve: bool
    decided_at: datetime | None = None
    detail: dict


class CaseDetailOut(CaseOut):
    policy_decision: DecisionOut | None
    clocks: list[ClockOut]
    buyer_statement: str
    evidence_request_note: str
    reject_reason: str
    reject_note: str
    close_note: str
    order: OrderOut
    items: list[CaseItemOut]
    refundable_goods_fen: int
    refund: RefundOut | None
    events: list[EventOut]
    evidence: list[EvidenceOut]
    inspections: list[InspectionOut]
    quality_checks: list[QualityCheckOut]
    costs: list[CostOut]
    shipments: list[ShipmentOut]


class CaseItemIn(Schema):
    order_item_id: int
    quantity: int = Field(gt=0)


class OpenCaseIn(Schema):
    order_id: str = Field(max_length=CODE_MAX_LENGTH, description="The platform order id")
    shop_id: int | None = Field(None, description="Needed only when you belong to several shops")
    type: str = Field(max_length=CODE_MAX_LENGTH)
    reason: str = Field(max_length=CODE_MAX_LENGTH)
    items: list[CaseItemIn] = Field(min_length=1, max_length=200)
    buyer_statement: str = Field("", max_length=NOTE_MAX_LENGTH)
    requested_amount_fen: int | None = Field(None, ge=0)
    platform_case_id: str | None = Field(None, max_length=CODE_MAX_LENGTH)


class NoteIn(Schema):
    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class RequiredNoteIn(Schema):
    note: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)


class RejectIn(Schema):
    reason_code: str = Field(max_length=CODE_MAX_LENGTH)
    note: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)
    evidence_ids: list[int] = Field(default_factory=list)


class ShipmentIn(Schema):
    carrier: str = Field(
        min_length=1,
        max_length=CARRIER_MAX_LENGTH,
        description="The platform's logistics company code: " + ", ".join(CARRIERS),
    )
    tracking_number: str = Field(min_length=1, max_length=TRACKING_NUMBER_MAX_LENGTH)

    @field_validator("carrier")
    @classmethod
    def known_carrier(cls, value: str) -> str:
        if value.strip() not in CARRIERS:
            raise ValueError(f"unknown carrier code {value!r}; one of: {', '.join(CARRIERS)}")
        return value.strip()


class RepairShipmentIn(ShipmentIn):
    repair_notes: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)


class InspectIn(Schema):
    result: Literal["pass", "fail"]
    condition: Literal["good", "damaged", "not_sent_item"]
    notes: str = Field("", max_length=NOTE_MAX_LENGTH)
    photo_ids: list[int] = Field(default_factory=list)
    package_intact: bool | None = None


class TechnicalSupportIn(Schema):
    notes: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)
    resolved: bool = False


class RefundIn(Schema):
    goods_amount_fen: int | None = Field(
        None,
        ge=0,
        description="Omit for what the buyer asked for, capped by what the goods may refund",
    )
    shipping_amount_fen: int | None = Field(
        None, ge=0, description="Omit for the policy's suggestion; 0 for no shipping refund"
    )
    return_postage_fen: int | None = Field(
        None,
        ge=0,
        description="The buyer's return postage, when the policy has the merchant pay it: "
        "omit for the policy's cap; 0 for none",
    )
    reason: str = Field("", max_length=REASON_MAX_LENGTH)


class QualityCheckIn(Schema):
    quality_ok: bool
    packaging_intact: bool
    notes: str = Field("", max_length=NOTE_MAX_LENGTH)


class CostIn(Schema):
    kind: Literal[
        "return_shipping",
        "outbound_shipping",
        "interception_fee",
        "goods_written_off",
        "compensation",
    ]
    amount_fen: int = Field(gt=0)
    payer: Literal["merchant", "buyer", "insurance", "platform"]
    note: str = Field("", max_length=SHORT_NOTE_MAX_LENGTH)


class AssignIn(Schema):
    assignee_id: int | None


class CodeOut(Schema):
    code: str
    label: str
