"""The policy engine as a table: R2.3, R2.8, R3.1, R3.2, R3.3, R4.1, R4.4, R6.1, R6.4, R7.1–R7.3.

Every row is one scenario for the pure `engine.decide(facts, policy)`: the facts, the policy
(the default, or the default with a shop's overrides), and the fields the scenario is about.
Every row also checks what every decision must have: the version of the policy that made it,
and a trace whose every line names its rule and requirement and says it in Chinese and English.
After the table: the deadlines a decision reports (R2.1–R2.5, R2.8), the explanation naming the
review hours the policy applies, the return shipment on the working-day calendar.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from aftersales.policy import document, engine
from aftersales.policy.engine import CaseFacts, ItemFacts
from aftersales.policy.services import policy_from_override
from aftersales.workdays.calendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
DEFAULT_VERSION = "default@2025.1"
OVERRIDE_LABEL = "default@2025.1+test-override"

APPLIED = datetime(2026, 11, 20, 10, 0, tzinfo=SH)
DELIVERED = datetime(2026, 11, 15, 18, 0, tzinfo=SH)
# R6.1 edge: signed for one minute before midnight on 1 November (Shanghai time).
SIGNED_NOV_1 = datetime(2026, 11, 1, 23, 59, tzinfo=SH)

RESPONSIBLE = {
    "no_reason": "buyer",
    "changed_mind": "buyer",
    "wrong_size": "buyer",
    "quality_issue": "merchant",
    "functional_fault": "merchant",
    "damaged": "carrier",
    "wrong_item": "merchant",
    "expired": "merchant",
}


def item(category: str = "apparel", paid: int = 8800, **kwargs: Any) -> ItemFacts:
    quantity = kwargs.pop("quantity", 1)
    return ItemFacts(
        category=category,
        quantity=quantity,
        ordered_quantity=kwargs.pop("ordered_quantity", quantity),
        paid_amount_fen=paid,
        **kwargs,
    )


def facts(
    *items: ItemFacts,
    type: str = "return_refund",
    reason: str = "no_reason",
    order_status: str = "delivered",
    **kwargs: Any,
) -> CaseFacts:
    """A delivered apparel return unless said otherwise; `evidence` may be any iterable."""
    if "evidence" in kwargs:
        kwargs["evidence"] = frozenset(kwargs["evidence"])
    kwargs.setdefault("applied_at", APPLIED)
    kwargs.setdefault(
        "delivered_at", None if order_status in {"unshipped", "shipped"} else DELIVERED
    )
    kwargs.setdefault("shipping_fee_paid_fen", 1000)
    return CaseFacts(
        type=type,
        reason=reason,
        responsible=RESPONSIBLE[reason],
        order_status=order_status,
        items=items or (item(),),
        **kwargs,
    )


def unshipped(paid: int, *, category: str = "home", **item_kwargs: Any) -> CaseFacts:
    return facts(
        item(category, paid, **item_kwargs),
        type="refund_unshipped",
        reason="changed_mind",
        order_status="unshipped",
        shipping_fee_paid_fen=800,
    )


@dataclass(frozen=True)
class Row:
    facts: CaseFacts
    expect: dict[str, Any]
    rules: tuple[str, ...]
    absent: tuple[str, ...]
    override: dict[str, Any] | None


def row(
    id: str,
    case_facts: CaseFacts,
    expect: dict[str, Any],
    *,
    rules: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
    override: dict[str, Any] | None = None,
):
    return pytest.param(Row(case_facts, expect, rules, absent, override), id=id)


SCENARIOS = [
    # --- R3.1 triage by order state ---------------------------------------------------------
    row(
        "R3.1-unshipped-exactly-at-limit-auto-approved",
        unshipped(50000),
        {
            "recommendation": "approve_refund",
            "auto_approve": True,
            "goods_refund_fen": 50000,
            "shipping_refund_fen": 800,
            "return_shipping_payer": "none",
            "no_reason_eligible": None,
        },
        rules=("triage.unshipped_auto", "money.unshipped_shipping"),
        absent=("triage.unshipped_over_limit",),
    ),
    row(
        "R3.1-unshipped-one-fen-over-limit-not-automatic",
        unshipped(50001),
        {"recommendation": "approve_refund", "auto_approve": False, "goods_refund_fen": 50001},
        rules=("triage.unshipped_over_limit",),
        absent=("triage.unshipped_auto",),
    ),
    row(
        "R3.1-R6.4-unshipped-high-risk-small-amount-not-automatic",
        unshipped(1000, category="beauty", is_high_risk=True),
        {"recommendation": "approve_refund", "auto_approve": False, "complexity": "complex"},
        rules=("triage.unshipped_over_limit", "high_risk.beauty"),
        absent=("triage.unshipped_auto",),
    ),
    row(
        "R3.1-R6.4-unshipped-high-risk-category-without-plan-not-automatic",
        unshipped(1000, category="jewelry", is_high_risk=True),
        {"recommendation": "approve_refund", "auto_approve": False, "high_risk_plan": None},
        rules=("triage.unshipped_over_limit",),
        absent=("triage.unshipped_auto",),
    ),
    row(
        "R3.1-R6.3-shop-raises-limit-auto-approves-80-thousand-fen",
        unshipped(80000),
        {"recommendation": "approve_refund", "auto_approve": True},
        rules=("triage.unshipped_auto",),
        override={"triage": {"auto_approve_limit_fen": 100000}},
    ),
    row(
        "R3.1-shipped-not-delivered-refund-only-intercept-first",
        facts(type="refund_shipped", reason="changed_mind", order_status="shipped"),
        {
            "recommendation": "intercept_first",
            "auto_approve": False,
            "goods_refund_fen": 8800,
            "shipping_refund_fen": 0,
            "return_shipping_payer": "none",
        },
        rules=("triage.intercept",),
        absent=("triage.review",),
    ),
    row(
        "R3.1-shipped-not-delivered-return-intercept-first",
        facts(type="return_refund", reason="wrong_size", order_status="shipped"),
        {"recommendation": "intercept_first", "auto_approve": False},
        rules=("triage.intercept",),
    ),
    row(
        "R3.1-shop-without-interception-reviews-shipped-orders",
        facts(type="refund_shipped", reason="changed_mind", order_status="shipped"),
        {"recommendation": "needs_review", "auto_approve": False},
        rules=("triage.review",),
        absent=("triage.intercept",),
        override={"triage": {"intercept_before_refund": False}},
    ),
    row(
        "R3.1-delivered-a-person-judges",
        facts(reason="wrong_size"),
        {"recommendation": "needs_review", "auto_approve": False, "no_reason_eligible": None},
        rules=("triage.review",),
        absent=("triage.unshipped_auto", "triage.intercept"),
    ),
    # --- R6.1 the 7-day no-reason window --------------------------------------------------
    row(
        "R6.1-window-last-day-eligible",
        facts(delivered_at=SIGNED_NOV_1, applied_at=datetime(2026, 11, 8, 23, 59, tzinfo=SH)),
        {
            "recommendation": "needs_review",
            "no_reason_eligible": True,
            "no_reason_last_day": "2026-11-08",
            "required_evidence": [],
            "missing_evidence": [],
        },
        rules=("no_reason.eligible",),
    ),
    row(
        "R6.1-window-day-after-last-day-not-eligible",
        facts(delivered_at=SIGNED_NOV_1, applied_at=datetime(2026, 11, 9, 0, 0, tzinfo=SH)),
        {
            "recommendation": "not_eligible_no_reason",
            "no_reason_eligible": False,
            "no_reason_last_day": "2026-11-08",
            "auto_approve": False,
        },
        rules=("no_reason.window_passed",),
        absent=("no_reason.eligible", "triage.review"),
    ),
    row(
        # 16:00 UTC on the 8th is 00:00 on the 9th in Shanghai: the window has closed.
        "R6.1-window-applied-in-utc-is-next-day-in-shanghai-not-eligible",
        facts(delivered_at=SIGNED_NOV_1, applied_at=datetime(2026, 11, 8, 16, 0, tzinfo=UTC)),
        {"recommendation": "not_eligible_no_reason", "no_reason_eligible": False},
        rules=("no_reason.window_passed",),
    ),
    row(
        "R6.1-window-applied-in-utc-same-day-in-shanghai-eligible",
        facts(delivered_at=SIGNED_NOV_1, applied_at=datetime(2026, 11, 8, 15, 59, tzinfo=UTC)),
        {"no_reason_eligible": True, "no_reason_last_day": "2026-11-08"},
        rules=("no_reason.eligible",),
    ),
    row(
        # Signed for at 16:30 UTC on the 1st = 00:30 on the 2nd in Shanghai: the window
        # starts a day later than the UTC date suggests.
        "R6.1-window-signed-in-utc-counts-from-shanghai-date",
        facts(
            delivered_at=datetime(2026, 11, 1, 16, 30, tzinfo=UTC),
            applied_at=datetime(2026, 11, 9, 12, 0, tzinfo=SH),
        ),
        {"no_reason_eligible": True, "no_reason_last_day": "2026-11-09"},
        rules=("no_reason.eligible",),
    ),
    row(
        "R6.1-R6.3-shop-window-of-15-days",
        facts(delivered_at=SIGNED_NOV_1, applied_at=datetime(2026, 11, 12, 9, 0, tzinfo=SH)),
        {"no_reason_eligible": True, "no_reason_last_day": "2026-11-16"},
        override={"no_reason": {"window_days": 15}},
    ),
    *[
        row(
            f"R6.1-excluded-category-{category}-not-eligible",
            facts(item(category)),
            {"recommendation": "not_eligible_no_reason", "no_reason_eligible": False},
            rules=("no_reason.excluded_category",),
            absent=("no_reason.eligible",),
        )
        for category in ("custom", "fresh", "digital", "books")
    ],
    *[
        row(
            f"R6.1-{category}-unconfirmed-at-purchase-still-eligible",
            facts(item(category)),
            {"recommendation": "needs_review", "no_reason_eligible": True},
            rules=("no_reason.unconfirmed_unsuitable", "no_reason.eligible"),
            absent=("no_reason.confirmed_unsuitable",),
        )
        for category in ("beauty", "food")
    ],
    *[
        row(
            f"R6.1-{category}-confirmed-at-purchase-excluded",
            facts(item(category, exclusion_confirmed=True)),
            {"recommendation": "not_eligible_no_reason", "no_reason_eligible": False},
            rules=("no_reason.confirmed_unsuitable",),
            absent=("no_reason.eligible",),
        )
        for category in ("beauty", "food")
    ],
    row(
        "R6.1-apparel-confirmation-does-not-exclude",
        facts(item("apparel", exclusion_confirmed=True)),
        {"no_reason_eligible": True},
        rules=("no_reason.eligible",),
    ),
    row(
        "R6.1-goods-not-intact-not-eligible",
        facts(goods_intact=False),
        {"recommendation": "not_eligible_no_reason", "no_reason_eligible": False},
        rules=("no_reason.not_intact",),
        absent=("no_reason.eligible",),
    ),
    row(
        "R6.1-not-yet-inspected-is-not-a-refusal",
        facts(goods_intact=None),
        {"no_reason_eligible": True},
        absent=("no_reason.not_intact",),
    ),
    row(
        "R6.1-R7.2-opened-apparel-still-eligible",
        facts(package_opened=True),
        {"no_reason_eligible": True},
        absent=("beauty.opened",),
    ),
    # --- R7.2 beauty --------------------------------------------------------------------------
    row(
        "R7.2-opened-beauty-no-reason-not-eligible",
        facts(item("beauty"), package_opened=True),
        {"recommendation": "not_eligible_no_reason", "no_reason_eligible": False},
        rules=("beauty.opened",),
        absent=("no_reason.eligible",),
    ),
    row(
        "R7.2-opened-beauty-quality-issue-not-blocked",
        facts(item("beauty"), reason="quality_issue", package_opened=True, evidence={"photo"}),
        {
            "recommendation": "needs_review",
            "no_reason_eligible": None,
            "return_shipping_payer": "merchant",
        },
        rules=("triage.review",),
        absent=("beauty.opened",),
    ),
    row(
        "R7.2-R6.3-shop-accepts-opened-beauty",
        facts(item("beauty"), package_opened=True),
        {"recommendation": "needs_review", "no_reason_eligible": True},
        absent=("beauty.opened",),
        override={"special": {"beauty": {"opened_blocks_no_reason": False}}},
    ),
    # --- R4.1 evidence --------------------------------------------------------------------
    row(
        "R4.1-quality-issue-without-photo-waits-for-evidence",
        facts(reason="quality_issue"),
        {
            "recommendation": "needs_evidence",
            "required_evidence": ["photo"],
            "missing_evidence": ["photo"],
        },
        rules=("evidence.missing",),
        absent=("triage.review",),
    ),
    row(
        "R4.1-quality-issue-with-photo-does-not-wait",
        facts(reason="quality_issue", evidence={"photo"}),
        {"recommendation": "needs_review", "required_evidence": ["photo"], "missing_evidence": []},
        absent=("evidence.missing",),
    ),
    row(
        "R4.1-functional-fault-photo-is-not-the-video-it-needs",
        facts(item("home"), reason="functional_fault", evidence={"photo"}),
        {
            "recommendation": "needs_evidence",
            "required_evidence": ["video"],
            "missing_evidence": ["video"],
        },
        rules=("evidence.missing",),
    ),
    row(
        "R4.1-R7.3-functional-fault-with-video-non-electronics-reviewed",
        facts(item("home"), reason="functional_fault", evidence={"video"}),
        {"recommendation": "needs_review", "missing_evidence": []},
        absent=("evidence.missing", "electronics.tech_support"),
    ),
    row(
        "R4.1-R6.3-shop-asks-video-for-wrong-size",
        facts(reason="wrong_size", evidence={"photo"}),
        {"recommendation": "needs_evidence", "missing_evidence": ["video"]},
        override={"evidence": {"wrong_size": ["video"]}},
    ),
    # --- R6.4 high-risk plans ---------------------------------------------------------------
    row(
        "R6.4-high-risk-electronics-plan-adds-video-checks-and-handlers",
        facts(
            item("electronics", 300000, is_high_risk=True),
            reason="quality_issue",
            evidence={"photo"},
        ),
        {
            "recommendation": "needs_evidence",
            "required_evidence": ["photo", "video"],
            "missing_evidence": ["video"],
            "high_risk_plan": {
                "category": "electronics",
                "extra_checks": [
                    "核对序列号 / check the serial number",
                    "检查激活记录 / check activation records",
                ],
                "required_evidence": ["video"],
                "handlers": ["supervisor"],
            },
            "complexity": "complex",
            "complexity_reasons": ["category", "high_value", "high_risk"],
        },
        rules=("high_risk.electronics", "complexity.high_risk", "evidence.missing"),
    ),
    row(
        "R6.4-high-risk-electronics-with-all-evidence-reviewed",
        facts(
            item("electronics", 300000, is_high_risk=True),
            reason="quality_issue",
            evidence={"photo", "video"},
        ),
        {"recommendation": "needs_review", "missing_evidence": []},
        rules=("high_risk.electronics",),
    ),
    row(
        "R6.4-high-risk-beauty-no-reason-needs-the-plans-photo",
        facts(item("beauty", is_high_risk=True)),
        {
            "recommendation": "needs_evidence",
            "required_evidence": ["photo"],
            "no_reason_eligible": True,
        },
        rules=("high_risk.beauty",),
    ),
    row(
        "R6.4-R6.3-shop-names-its-own-handlers",
        facts(item("beauty", is_high_risk=True), evidence={"photo"}),
        {"high_risk_plan": {"handlers": ["王主管", "质检组"]}},
        rules=("high_risk.beauty",),
        override={"high_risk": {"beauty": {"handlers": ["王主管", "质检组"]}}},
    ),
    row(
        "R6.4-electronics-not-marked-high-risk-has-no-plan",
        facts(item("electronics", 20000), reason="quality_issue", evidence={"photo"}),
        {"high_risk_plan": None, "required_evidence": ["photo"], "recommendation": "needs_review"},
        absent=("high_risk.electronics", "complexity.high_risk"),
    ),
    # --- R7.3 electronics ---------------------------------------------------------------------
    row(
        "R7.3-electronics-functional-fault-technical-support-first",
        facts(item("electronics", 20000), reason="functional_fault", evidence={"video"}),
        {"recommendation": "technical_support_first", "auto_approve": False},
        rules=("electronics.tech_support",),
        absent=("triage.review",),
    ),
    row(
        "R7.3-electronics-after-technical-support-reviewed",
        facts(
            item("electronics", 20000),
            reason="functional_fault",
            evidence={"video"},
            technical_support_done=True,
        ),
        {"recommendation": "needs_review"},
        rules=("triage.review",),
        absent=("electronics.tech_support",),
    ),
    row(
        "R7.3-R4.1-electronics-functional-fault-without-video-evidence-first",
        facts(item("electronics", 20000), reason="functional_fault"),
        {"recommendation": "needs_evidence", "missing_evidence": ["video"]},
        absent=("electronics.tech_support",),
    ),
    row(
        "R7.3-electronics-quality-issue-no-technical-support",
        facts(item("electronics", 20000), reason="quality_issue", evidence={"photo"}),
        {"recommendation": "needs_review"},
        absent=("electronics.tech_support",),
    ),
    row(
        "R7.3-R6.3-shop-turns-technical-support-off",
        facts(item("electronics", 20000), reason="functional_fault", evidence={"video"}),
        {"recommendation": "needs_review"},
        absent=("electronics.tech_support",),
        override={"special": {"electronics": {"technical_support_first": False}}},
    ),
    # --- R7.1 food expiry --------------------------------------------------------------------
    row(
        "R7.1-food-29-days-left-near-expiry",
        facts(item("food", best_before=date(2026, 11, 20) + timedelta(days=29))),
        {"near_expiry": True},
        rules=("food.near_expiry",),
    ),
    row(
        "R7.1-food-30-days-left-not-near-expiry",
        facts(item("food", best_before=date(2026, 11, 20) + timedelta(days=30))),
        {"near_expiry": False},
        absent=("food.near_expiry", "food.expired"),
    ),
    row(
        "R7.1-food-past-best-before-expired",
        facts(item("food", best_before=date(2026, 11, 19)), reason="expired", evidence={"photo"}),
        {"near_expiry": True, "responsible": "merchant", "return_shipping_payer": "merchant"},
        rules=("food.expired",),
        absent=("food.near_expiry",),
    ),
    row(
        "R7.1-food-on-its-best-before-day-near-not-expired",
        facts(item("food", best_before=date(2026, 11, 20))),
        {"near_expiry": True},
        rules=("food.near_expiry",),
        absent=("food.expired",),
    ),
    row(
        "R7.1-best-before-of-non-food-ignored",
        facts(item("beauty", best_before=date(2026, 11, 1))),
        {"near_expiry": False},
        absent=("food.near_expiry", "food.expired"),
    ),
    row(
        "R7.1-R6.3-shop-flags-food-60-days-ahead",
        facts(item("food", best_before=date(2026, 11, 20) + timedelta(days=45))),
        {"near_expiry": True},
        rules=("food.near_expiry",),
        override={"special": {"food": {"near_expiry_days": 60}}},
    ),
    # --- R4.4 / R3.3 shipping -----------------------------------------------------------------
    row(
        "R4.4-merchant-fault-merchant-pays-and-outbound-shipping-refunded",
        facts(reason="quality_issue", evidence={"photo"}),
        {
            "responsible": "merchant",
            "return_shipping_payer": "merchant",
            "shipping_refund_fen": 1000,
            "goods_refund_fen": 8800,
        },
        rules=("shipping.merchant_pays", "money.merchant_fault_shipping"),
        absent=("shipping.buyer_pays",),
    ),
    row(
        "R4.4-carrier-damage-merchant-pays",
        facts(reason="damaged", evidence={"photo"}),
        {
            "responsible": "carrier",
            "return_shipping_payer": "merchant",
            "shipping_refund_fen": 1000,
        },
        rules=("shipping.merchant_pays",),
    ),
    row(
        "R4.4-buyer-reason-buyer-pays-return-no-shipping-refund",
        facts(reason="wrong_size"),
        {"responsible": "buyer", "return_shipping_payer": "buyer", "shipping_refund_fen": 0},
        rules=("shipping.buyer_pays",),
        absent=("money.merchant_fault_shipping",),
    ),
    row(
        "R4.4-buyer-reason-insured-insurance-pays",
        facts(reason="no_reason", has_shipping_insurance=True),
        {"return_shipping_payer": "insurance", "shipping_refund_fen": 0},
        rules=("shipping.insurance",),
        absent=("shipping.buyer_pays",),
    ),
    row(
        "R4.4-R6.3-shop-pays-return-for-buyer-reasons",
        facts(reason="changed_mind"),
        {"return_shipping_payer": "merchant", "shipping_refund_fen": 0},
        rules=("shipping.shop_pays",),
        absent=("shipping.buyer_pays",),
        override={"shipping": {"buyer_reasons_pay_return": False}},
    ),
    row(
        "R4.4-R6.3-insurance-not-covering-buyer-pays",
        facts(reason="changed_mind", has_shipping_insurance=True),
        {"return_shipping_payer": "buyer"},
        rules=("shipping.buyer_pays",),
        absent=("shipping.insurance",),
        override={"shipping": {"insurance_covers_return": False}},
    ),
    row(
        "R4.4-refund-only-no-return-shipping",
        facts(type="refund_shipped", reason="quality_issue", evidence={"photo"}),
        {"return_shipping_payer": "none", "shipping_refund_fen": 1000},
    ),
    row(
        "R4.4-exchange-merchant-fault-no-money-back-merchant-ships",
        facts(type="exchange", reason="wrong_item", evidence={"photo"}),
        {"goods_refund_fen": 0, "shipping_refund_fen": 0, "return_shipping_payer": "merchant"},
    ),
    row(
        "R3.3-unshipped-shipping-already-refunded-not-again",
        replace(unshipped(12000), shipping_refunded_fen=800),
        {"goods_refund_fen": 12000, "shipping_refund_fen": 0},
    ),
    row(
        "R3.3-R4.4-merchant-fault-shipping-already-refunded-not-again",
        facts(reason="quality_issue", evidence={"photo"}, shipping_refunded_fen=1000),
        {"return_shipping_payer": "merchant", "shipping_refund_fen": 0},
    ),
    # --- R3.2 money -------------------------------------------------------------------------
    row(
        "R3.2-goods-refund-is-the-amount-actually-paid",
        facts(item("apparel", 8800), reason="wrong_size"),
        {"goods_refund_fen": 8800},
    ),
    row(
        "R3.2-one-of-three-units-rounds-down",
        facts(item("apparel", 10000, quantity=1, ordered_quantity=3), reason="wrong_size"),
        {"goods_refund_fen": 3333, "complexity": "simple"},
    ),
    row(
        "R3.2-two-of-three-units-rounds-down",
        facts(item("apparel", 10000, quantity=2, ordered_quantity=3), reason="wrong_size"),
        {"goods_refund_fen": 6666},
    ),
    row(
        "R3.2-already-refunded-reduces-the-refund",
        facts(item("apparel", 9000, quantity=3, refunded_amount_fen=3000), reason="wrong_size"),
        {"goods_refund_fen": 6000},
    ),
    row(
        "R3.2-share-capped-by-what-is-left-unrefunded",
        facts(
            item("apparel", 9000, quantity=1, ordered_quantity=3, refunded_amount_fen=7000),
            reason="wrong_size",
        ),
        {"goods_refund_fen": 2000},
    ),
    row(
        "R3.2-request-above-what-was-paid-is-capped",
        facts(item("apparel", 8800), reason="wrong_size", requested_amount_fen=9800),
        {"goods_refund_fen": 8800, "complexity": "simple", "shipping_refund_fen": 0},
        absent=("complexity.partial",),
    ),
    row(
        "R3.2-R3.1-unshipped-request-above-paid-capped-before-limit",
        replace(unshipped(50000), requested_amount_fen=50800),
        {"goods_refund_fen": 50000, "shipping_refund_fen": 800, "auto_approve": True},
    ),
    row(
        "R3.2-R2.3-partial-refund-requested",
        facts(item("apparel", 8800), reason="wrong_size", requested_amount_fen=5000),
        {
            "goods_refund_fen": 5000,
            "complexity": "complex",
            "complexity_reasons": ["partial_refund"],
        },
        rules=("complexity.partial",),
    ),
    # --- R2.3 complexity and the review deadline ---------------------------------------------
    row(
        "R2.3-simple-goods-48h-review",
        facts(reason="wrong_size"),
        {
            "complexity": "simple",
            "complexity_reasons": [],
            "deadline_hours": {"first_response": 2, "plan": 24, "review": 48},
        },
        rules=("complexity.simple",),
    ),
    row(
        "R2.3-electronics-complex-72h-review",
        facts(item("electronics", 20000), reason="wrong_size"),
        {
            "complexity": "complex",
            "complexity_reasons": ["category"],
            "deadline_hours": {"first_response": 2, "plan": 24, "review": 72},
        },
        rules=("complexity.category",),
        absent=("complexity.simple",),
    ),
    row(
        "R2.3-high-value-exactly-at-threshold-complex",
        facts(item("apparel", 100000), reason="wrong_size"),
        {
            "complexity": "complex",
            "complexity_reasons": ["high_value"],
            "deadline_hours": {"review": 72},
        },
        rules=("complexity.high_value",),
    ),
    row(
        "R2.3-one-fen-below-high-value-simple",
        facts(item("apparel", 99999), reason="wrong_size"),
        {"complexity": "simple", "deadline_hours": {"review": 48}},
        absent=("complexity.high_value",),
    ),
    row(
        "R2.3-multi-item-complex",
        facts(item("apparel", 4000), item("apparel", 4800), reason="wrong_size"),
        {"complexity": "complex", "complexity_reasons": ["multi_item"], "goods_refund_fen": 8800},
        rules=("complexity.multi_item",),
    ),
    row(
        "R2.3-R6.3-shop-treats-multi-item-as-simple",
        facts(item("apparel", 4000), item("apparel", 4800), reason="wrong_size"),
        {"complexity": "simple", "deadline_hours": {"review": 48}},
        absent=("complexity.multi_item",),
        override={"complexity": {"multi_item_is_complex": False}},
    ),
    row(
        "R2.3-high-risk-complex",
        facts(item("apparel", is_high_risk=True), reason="wrong_size"),
        {"complexity": "complex", "complexity_reasons": ["high_risk"]},
        rules=("complexity.high_risk",),
    ),
    # --- R2.8 VIP ---------------------------------------------------------------------------
    row(
        "R2.8-vip-simple-deadlines-halved",
        facts(reason="wrong_size", buyer_vip_level=1),
        {"deadline_hours": {"first_response": 1, "plan": 12, "review": 24}},
    ),
    row(
        "R2.8-R2.3-vip-complex-review-36h",
        facts(item("electronics", 20000), reason="wrong_size", buyer_vip_level=3),
        {
            "complexity": "complex",
            "deadline_hours": {"first_response": 1, "plan": 12, "review": 36},
        },
    ),
]

CJK = re.compile(r"[\u4e00-\u9fff]")
REQUIREMENT = re.compile(r"^R\d+\.\d+$")


def policy_for_row(scenario: Row) -> document.Policy:
    if scenario.override is None:
        return document.default_policy()
    return policy_from_override(scenario.override, label=OVERRIDE_LABEL)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_decision_table(scenario: Row) -> None:
    decision = engine.decide(scenario.facts, policy_for_row(scenario))

    assert decision.policy_version == (
        DEFAULT_VERSION if scenario.override is None else OVERRIDE_LABEL
    )
    for name, expected in scenario.expect.items():
        if name == "deadline_hours":
            hours = {
                clock: (datetime.fromisoformat(deadline.due_at) - scenario.facts.applied_at)
                / timedelta(hours=1)
                for clock, deadline in decision.deadlines.items()
                if deadline.due_at is not None
            }
            assert {k: hours[k] for k in expected} == expected
        elif name == "high_risk_plan" and expected is not None:
            assert decision.high_risk_plan is not None
            assert {k: decision.high_risk_plan[k] for k in expected} == expected
        else:
            assert getattr(decision, name) == expected, name

    fired = [hit.rule for hit in decision.trace]
    for rule in scenario.rules:
        assert rule in fired, (rule, fired)
    for rule in scenario.absent:
        assert rule not in fired, (rule, fired)
    # Every fired rule explains itself, in both languages, naming its requirement.
    assert fired, "a decision always says why"
    for hit in decision.trace:
        assert hit.rule and REQUIREMENT.match(hit.requirement), hit
        assert CJK.search(hit.zh), hit
        assert hit.en.strip() and not CJK.search(hit.en), hit
    # The stored form is plain JSON.
    assert json.loads(json.dumps(decision.as_json()))["trace"][0]["rule"] == fired[0]


def test_r6_1_r6_4_table_covers_every_category_rule() -> None:
    """The table names every excluded and confirmation-needing category of the default policy."""
    rules = document.default_policy().section("no_reason")
    ids = " ".join(p.id for p in SCENARIOS)
    for category in rules["excluded_categories"]:
        assert f"excluded-category-{category}" in ids
    for category in rules["unsuitable_categories_need_confirmation"]:
        assert f"R6.1-{category}-confirmed-at-purchase-excluded" in ids
    assert len(SCENARIOS) >= 40


def test_r2_3_deadlines_keep_the_applications_time_zone() -> None:
    applied = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    decision = engine.decide(
        facts(reason="wrong_size", applied_at=applied), document.default_policy()
    )
    assert decision.deadlines["first_response"].due_at == "2026-11-20T04:00:00+00:00"
    review = decision.deadlines["review"].due_at
    assert review is not None and datetime.fromisoformat(review) == applied + timedelta(hours=48)


@pytest.mark.parametrize(
    "goods, vip_level, override, hours",
    [
        pytest.param("electronics", 0, None, "72", id="R2.3-complex-default-72h"),
        pytest.param("apparel", 0, None, "48", id="R2.3-simple-default-48h"),
        pytest.param(
            "electronics",
            0,
            {"sla": {"review_complex_hours": 96}},
            "96",
            id="R2.3-R6.3-shop-complex-review-96h",
        ),
        pytest.param(
            "apparel", 0, {"sla": {"review_simple_hours": 36}}, "36", id="R2.3-R6.3-shop-simple-36h"
        ),
        pytest.param("electronics", 2, None, "36", id="R2.8-vip-complex-36h"),
        pytest.param("apparel", 1, None, "24", id="R2.8-vip-simple-24h"),
        pytest.param(
            "electronics", 1, {"sla": {"vip_factor": 0.75}}, "54", id="R2.8-R6.3-vip-factor-54h"
        ),
    ],
)
def test_r2_3_r2_8_the_explanation_names_the_review_hours_the_policy_applies(
    goods: str, vip_level: int, override: dict[str, Any] | None, hours: str
) -> None:
    """The complexity line says the review's hours as the clock runs them: the shop's own
    numbers and the VIP factor, not the guide's 48/72."""
    policy = (
        document.default_policy()
        if override is None
        else policy_from_override(override, label=OVERRIDE_LABEL)
    )
    decision = engine.decide(
        facts(item(goods, 20000), reason="wrong_size", buyer_vip_level=vip_level), policy
    )

    rule = "complexity.category" if goods == "electronics" else "complexity.simple"
    [line] = [hit for hit in decision.trace if hit.rule == rule]
    assert f"审核时限 {hours} 小时" in line.zh
    assert f": {hours} h review" in line.en
    assert decision.deadlines["review"].hours == float(hours)


NATIONAL_DAY_EVE = datetime(2026, 9, 30, 15, 0, tzinfo=SH)


def test_r2_4_decide_counts_the_buyers_return_shipment_in_working_days_over_national_day() -> None:
    """Approved the afternoon before 国庆 2026 (1–7 October off, Saturday 10 October worked):
    the 7th working day after the approval day is 15 October, on the package's official
    schedule; a VIP buyer's own clock is not shortened."""
    day, counted = NATIONAL_DAY_EVE.date(), 0
    while counted < 7:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    assert day == date(2026, 10, 15)

    decision = engine.decide(
        facts(reason="quality_issue", buyer_vip_level=1, approved_at=NATIONAL_DAY_EVE),
        document.default_policy(),
        calendar=WorkCalendar(),  # the package's schedules, no admin overrides
    )

    shipment = decision.deadlines["return_shipment"]
    assert (shipment.counts_from, shipment.working_days, shipment.hours) == ("approval", 7, None)
    assert shipment.buyer_clock
    assert shipment.due_at == "2026-10-16T00:00:00+08:00"  # 24:00 of 15 October


def test_r2_4_r2_5_deadlines_without_their_start_say_what_they_count_from() -> None:
    """Every clock a return runs is reported; those whose start is not given have no due
    time, only their limit and what they count from."""
    decision = engine.decide(facts(reason="quality_issue"), document.default_policy())

    assert {
        clock: (d.counts_from, d.due_at is not None, d.hours or d.working_days)
        for clock, d in decision.deadlines.items()
    } == {
        "first_response": ("application", True, 2),
        "plan": ("application", True, 24),
        "review": ("application", True, 48),
        "return_shipment": ("approval", False, 7),
        "inspection": ("receipt", False, 48),
        "final_review": ("inspection", False, 24),
        "refund": ("final_approval", False, 24),
    }


def test_r2_5_r7_1_inspection_is_due_48h_after_receipt_and_food_2h() -> None:
    received = NATIONAL_DAY_EVE + timedelta(days=3)
    due = {
        category: engine.decide(
            facts(item(category), reason="quality_issue", received_at=received),
            document.default_policy(),
        ).deadlines["inspection"]
        for category in ("apparel", "food")
    }
    assert (due["apparel"].counts_from, due["apparel"].hours) == ("receipt", 48)
    assert due["apparel"].due_at == (received + timedelta(hours=48)).isoformat()
    assert due["food"].due_at == (received + timedelta(hours=2)).isoformat()


@pytest.mark.parametrize(
    "case_type, last",
    [
        pytest.param("refund_unshipped", {"refund": "approval"}, id="R2.7-refund-only"),
        pytest.param("resend", {"replacement_shipment": "approval"}, id="R2.7-resend"),
        pytest.param(
            "exchange",
            {
                "return_shipment": "approval",
                "inspection": "receipt",
                "final_review": "inspection",
                "replacement_shipment": "final_approval",
            },
            id="R2.7-exchange",
        ),
    ],
)
def test_r2_7_each_case_type_reports_the_clocks_it_runs(
    case_type: str, last: dict[str, str]
) -> None:
    approved = APPLIED + timedelta(hours=3)
    decision = engine.decide(
        facts(type=case_type, reason="quality_issue", approved_at=approved),
        document.default_policy(),
        calendar=WorkCalendar(),
    )
    assert {c: d.counts_from for c, d in decision.deadlines.items()} == {
        "first_response": "application",
        "plan": "application",
        "review": "application",
    } | last
    if case_type == "refund_unshipped":
        assert decision.deadlines["refund"].due_at == (approved + timedelta(hours=24)).isoformat()


def test_r6_3_decisions_are_deterministic_and_overrides_leave_the_default_alone() -> None:
    case_facts = facts(item("electronics", 20000), reason="functional_fault", evidence={"video"})
    default = document.default_policy()
    merged = document.merge(
        default.data, {"special": {"electronics": {"technical_support_first": False}}}
    )

    assert engine.decide(case_facts, default) == engine.decide(case_facts, default)
    assert merged["special"]["electronics"]["technical_support_first"] is False
    # Merging copies: the default document and a fresh default policy are unchanged.
    assert document.default_document()["special"]["electronics"]["technical_support_first"] is True
    assert engine.decide(case_facts, document.default_policy()).recommendation == (
        "technical_support_first"
    )
    shop = document.Policy(version=OVERRIDE_LABEL, data=merged)
    assert engine.decide(case_facts, shop).recommendation == "needs_review"
