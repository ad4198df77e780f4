"""Pure policy evaluation: facts about a case in, an explained decision out (R2, R3, R4, R6, R7).

No database access here, so a decision can be checked, replayed and benchmarked without
side effects; the one exception is the working-day calendar (the admin's corrections, cached
for a minute), read only for the buyer's return-shipment deadline when the approval time is
given, and not at all when the caller passes `calendar`. `facts.py` builds the facts from a
case or from JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext_noop

from aftersales.core.money import share_of
from aftersales.workdays.calendar import SHANGHAI, WorkCalendar

from . import deadlines as clocks
from .document import Policy
from .texts import both, translated, words

# Recommendations, in the words of the issue.
APPROVE_REFUND = "approve_refund"
INTERCEPT_FIRST = "intercept_first"
NEEDS_REVIEW = "needs_review"
NEEDS_EVIDENCE = "needs_evidence"
NOT_ELIGIBLE_NO_REASON = "not_eligible_no_reason"
TECHNICAL_SUPPORT_FIRST = "technical_support_first"

MERCHANT_AT_FAULT = {"merchant", "carrier"}
REFUND_TYPES = {"refund_unshipped", "refund_shipped", "return_refund"}
RETURNING_TYPES = {"return_refund", "exchange", "repair"}


@dataclass(frozen=True)
class ItemFacts:
    category: str
    quantity: int
    ordered_quantity: int
    paid_amount_fen: int
    refunded_amount_fen: int = 0
    is_high_risk: bool = False
    exclusion_confirmed: bool = False
    best_before: date | None = None


@dataclass(frozen=True)
class CaseFacts:
    """Everything the policy looks at. Unknown is None, never a guess."""

    type: str
    reason: str
    responsible: str
    order_status: str
    applied_at: datetime
    items: tuple[ItemFacts, ...]
    delivered_at: datetime | None = None
    shipping_fee_paid_fen: int = 0
    shipping_refunded_fen: int = 0
    has_shipping_insurance: bool = False
    buyer_vip_level: int = 0
    requested_amount_fen: int | None = None
    evidence: frozenset[str] = frozenset()  # "photo", "video"
    goods_intact: bool | None = None
    package_opened: bool | None = None
    technical_support_done: bool = False
    # When the merchant agreed (stage 1) and when the returned goods arrived: the later
    # clocks count from them (R2.4, R2.5).
    approved_at: datetime | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class RuleHit:
    rule: str
    requirement: str
    zh: str
    en: str


@dataclass
class Decision:
    policy_version: str
    recommendation: str
    auto_approve: bool
    complexity: str
    complexity_reasons: list[str]
    responsible: str
    required_evidence: list[str]
    missing_evidence: list[str]
    goods_refund_fen: int
    shipping_refund_fen: int
    return_shipping_payer: str
    # The most the merchant refunds the buyer for the postage of sending the goods back,
    # when the merchant pays return shipping (R4.4); 0 otherwise.
    return_postage_fen: int
    no_reason_eligible: bool | None
    no_reason_last_day: str | None
    near_expiry: bool
    high_risk_plan: dict[str, Any] | None
    deadlines: dict[str, clocks.Deadline]
    trace: list[RuleHit] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _with_categories(message: str, codes_words: tuple[str, str], **params: str) -> tuple[str, str]:
    """`message` in Chinese and English with `categories` in each language's words."""
    zh_words, en_words = codes_words
    zh = translated(message, "zh-hans") % {"categories": zh_words, **params}
    en = translated(message, "en") % {"categories": en_words, **params}
    return zh, en


class _Trace:
    def __init__(self) -> None:
        self.hits: list[RuleHit] = []

    def add(self, rule: str, requirement: str, zh: str, en: str) -> None:
        self.hits.append(RuleHit(rule, requirement, zh, en))


def decide(facts: CaseFacts, policy: Policy, *, calendar: WorkCalendar | None = None) -> Decision:
    """Evaluate the policy for one case. Deterministic: same facts, same policy (and calendar),
    same answer."""
    trace = _Trace()
    data = policy.data
    responsible = facts.responsible

    refundable = sum(
        min(
            share_of(i.paid_amount_fen, i.quantity, i.ordered_quantity),
            i.paid_amount_fen - i.refunded_amount_fen,
        )
        for i in facts.items
    )
    requested = facts.requested_amount_fen if facts.requested_amount_fen is not None else refundable
    # R3.2: never more than was paid less what was refunded, whatever the buyer asked for.
    requested = min(requested, refundable)
    is_partial = facts.type in REFUND_TYPES and requested < refundable

    vip = facts.buyer_vip_level > 0
    categories = frozenset(i.category for i in facts.items)
    review_hours = {
        is_complex: _review_hours(clocks.ClockFacts(vip, is_complex, categories), policy)
        for is_complex in (False, True)
    }
    complexity_reasons = _complexity(
        facts, data["complexity"], refundable, is_partial, review_hours, trace
    )
    complexity = "complex" if complexity_reasons else "simple"

    high_risk_plan = _high_risk_plan(facts, data.get("high_risk", {}), trace)
    required = set(data.get("evidence", {}).get(facts.reason, []))
    if high_risk_plan:
        required |= set(high_risk_plan["required_evidence"])
    missing = sorted(required - facts.evidence)
    near_expiry = _near_expiry(facts, data["special"]["food"]["near_expiry_days"], trace)

    eligible, last_day = (None, None)
    if facts.reason == "no_reason":
        eligible, last_day = _no_reason(facts, data, trace)

    goods, shipping, payer = _money(facts, data["shipping"], requested, responsible, trace)
    return_postage = _return_postage(payer, data["shipping"], trace)

    high_risk = any(i.is_high_risk for i in facts.items)
    recommendation, auto = _recommend(facts, data, requested, eligible, missing, high_risk, trace)
    deadlines = clocks.case_deadlines(
        facts.type,
        clocks.ClockFacts(vip, bool(complexity_reasons), categories),
        policy,
        {
            clocks.APPLICATION: facts.applied_at,
            clocks.APPROVAL: facts.approved_at,
            clocks.RECEIPT: facts.received_at,
        },
        calendar,
    )

    return Decision(
        policy_version=policy.version,
        recommendation=recommendation,
        auto_approve=auto,
        complexity=complexity,
        complexity_reasons=complexity_reasons,
        responsible=responsible,
        required_evidence=sorted(required),
        missing_evidence=missing,
        goods_refund_fen=goods,
        shipping_refund_fen=shipping,
        return_shipping_payer=payer,
        return_postage_fen=return_postage,
        no_reason_eligible=eligible,
        no_reason_last_day=last_day.isoformat() if last_day else None,
        near_expiry=near_expiry,
        high_risk_plan=high_risk_plan,
        deadlines=deadlines,
        trace=trace.hits,
    )


def _review_hours(facts: clocks.ClockFacts, policy: Policy) -> str:
    """The review's hours as the clock runs them, for the explanation: 72, 36, 1.5."""
    limit = clocks.clock_limit(clocks.REVIEW, facts, policy)
    assert limit.hours is not None
    return f"{limit.hours:g}"


def _complexity(
    facts: CaseFacts,
    rules: dict[str, Any],
    refundable: int,
    is_partial: bool,
    review_hours: dict[bool, str],
    trace: _Trace,
) -> list[str]:
    """Why the case is complex (none: simple). The lines that name the review's hours give
    the policy's, as the clock will run them (shop overrides, VIP factor)."""
    reasons: list[str] = []
    categories = sorted({i.category for i in facts.items} & set(rules["complex_categories"]))
    if categories:
        reasons.append("category")
        trace.add(
            "complexity.category",
            "R2.3",
            *_with_categories(
                gettext_noop("category %(categories)s is complex: %(hours)s h review"),
                words("category", categories),
                hours=review_hours[True],
            ),
        )
    total_paid = sum(i.paid_amount_fen for i in facts.items)
    if total_paid >= rules["high_value_fen"]:
        reasons.append("high_value")
        trace.add(
            "complexity.high_value",
            "R2.3",
            f"实付 {total_paid / 100:.2f} 元，达到高价值标准",
            f"paid {total_paid / 100:.2f} yuan: high value",
        )
    if rules["multi_item_is_complex"] and len(facts.items) > 1:
        reasons.append("multi_item")
        trace.add("complexity.multi_item", "R2.3", "多件商品", "several items")
    if rules["partial_refund_is_complex"] and is_partial:
        reasons.append("partial_refund")
        trace.add("complexity.partial", "R2.3", "部分退款", "partial refund")
    if rules["high_risk_is_complex"] and any(i.is_high_risk for i in facts.items):
        reasons.append("high_risk")
        trace.add("complexity.high_risk", "R6.4", "高风险商品", "high-risk goods")
    if not reasons:
        trace.add(
            "complexity.simple",
            "R2.3",
            *both(
                gettext_noop("simple goods: %(hours)s h review"),
                hours=review_hours[False],
            ),
        )
    return reasons


def _high_risk_plan(
    facts: CaseFacts, plans: dict[str, Any], trace: _Trace
) -> dict[str, Any] | None:
    for item in facts.items:
        if item.is_high_risk and item.category in plans:
            plan = plans[item.category]
            checks = len(plan.get("extra_checks", []))
            zh, en = words("category", [item.category])
            trace.add(
                f"high_risk.{item.category}",
                "R6.4",
                f"高风险品类 {zh}：执行专门预案（{checks} 项检查）",
                f"high-risk {en}: special plan ({checks} checks)",
            )
            return {
                "category": item.category,
                "extra_checks": list(plan.get("extra_checks", [])),
                "required_evidence": list(plan.get("required_evidence", [])),
                "handlers": list(plan.get("handlers", [])),
            }
    return None


def _near_expiry(facts: CaseFacts, near_days: int, trace: _Trace) -> bool:
    today = facts.applied_at.astimezone(SHANGHAI).date()
    for item in facts.items:
        if item.category == "food" and item.best_before is not None:
            left = (item.best_before - today).days
            if left < 0:
                trace.add(
                    "food.expired", "R7.1", "食品已过保质期", "food past its best-before date"
                )
                return True
            if left < near_days:
                trace.add(
                    "food.near_expiry",
                    "R7.1",
                    f"食品临期：距保质期 {left} 天",
                    f"food near expiry: {left} days left",
                )
                return True
    return False


def _no_reason(facts: CaseFacts, data: dict[str, Any], trace: _Trace) -> tuple[bool, date | None]:
    """R6.1: 7 days from the day after sign-for; exclusions; intact goods; opened beauty."""
    rules = data["no_reason"]
    if facts.delivered_at is None:
        trace.add(
            "no_reason.not_delivered",
            "R6.1",
            "尚未签收，七天无理由期限未开始",
            "not signed for yet: the 7-day window has not started",
        )
        return True, None
    signed = facts.delivered_at.astimezone(SHANGHAI).date()
    last_day = signed + timedelta(days=rules["window_days"])
    applied = facts.applied_at.astimezone(SHANGHAI).date()
    if applied > last_day:
        trace.add(
            "no_reason.window_passed",
            "R6.1",
            f"签收于 {signed}，无理由退货期限至 {last_day}，申请已超期",
            f"signed for on {signed}; the window ended {last_day}",
        )
        return False, last_day
    for item in facts.items:
        if item.category in rules["excluded_categories"]:
            zh, en = words("category", [item.category])
            trace.add(
                "no_reason.excluded_category",
                "R6.1",
                f"{zh} 属于法定不适用七天无理由的商品",
                f"{en} is excluded from no-reason returns by law",
            )
            return False, last_day
        if item.category in rules["unsuitable_categories_need_confirmation"]:
            if item.exclusion_confirmed:
                trace.add(
                    "no_reason.confirmed_unsuitable",
                    "R6.1",
                    "买家购买时已确认该商品不适用七天无理由",
                    "the buyer confirmed at purchase that no-reason returns do not apply",
                )
                return False, last_day
            trace.add(
                "no_reason.unconfirmed_unsuitable",
                "R6.1",
                "购买时未经买家确认，不能以商品性质拒绝无理由退货",
                "not confirmed at purchase: cannot refuse by the nature of the goods",
            )
    beauty_opened = any(i.category == "beauty" for i in facts.items) and facts.package_opened
    if beauty_opened and data["special"]["beauty"]["opened_blocks_no_reason"]:
        trace.add(
            "beauty.opened",
            "R7.2",
            "美妆商品已开封，不支持无理由退货（质量问题除外）",
            "opened beauty goods: no no-reason return (quality problems excepted)",
        )
        return False, last_day
    if facts.goods_intact is False:
        trace.add(
            "no_reason.not_intact",
            "R6.1",
            "商品不完好，不符合七天无理由条件",
            "goods not intact: not eligible",
        )
        return False, last_day
    trace.add(
        "no_reason.eligible",
        "R6.1",
        f"在七天无理由期限内（至 {last_day}）",
        f"within the 7-day window (until {last_day})",
    )
    return True, last_day


def _money(
    facts: CaseFacts, rules: dict[str, Any], requested: int, responsible: str, trace: _Trace
) -> tuple[int, int, str]:
    shipping_left = facts.shipping_fee_paid_fen if facts.shipping_refunded_fen == 0 else 0
    goods = requested if facts.type in REFUND_TYPES else 0
    shipping = 0
    if facts.type == "refund_unshipped":
        shipping = shipping_left
        trace.add(
            "money.unshipped_shipping",
            "R3.3",
            "未发货，运费一并退还",
            "not shipped: the shipping fee is refunded too",
        )
    elif (
        facts.type in REFUND_TYPES
        and responsible in MERCHANT_AT_FAULT
        and rules["refund_outbound_when_merchant_at_fault"]
    ):
        shipping = shipping_left
        trace.add(
            "money.merchant_fault_shipping",
            "R4.4",
            "商家责任，退还买家已付运费",
            "merchant at fault: the buyer's shipping fee is refunded",
        )
    payer = "none"
    if facts.type in RETURNING_TYPES:
        if responsible in MERCHANT_AT_FAULT:
            payer = "merchant"
            trace.add(
                "shipping.merchant_pays",
                "R4.4",
                "商家原因，退货运费由商家承担",
                "merchant's fault: the merchant pays return shipping",
            )
        elif facts.has_shipping_insurance and rules["insurance_covers_return"]:
            payer = "insurance"
            trace.add(
                "shipping.insurance",
                "R4.4",
                "买家原因，但有运费险：退货运费由运费险承担",
                "buyer's reason, but insured: shipping insurance pays return shipping",
            )
        elif rules["buyer_reasons_pay_return"]:
            payer = "buyer"
            trace.add(
                "shipping.buyer_pays",
                "R4.4",
                "买家个人原因，退货运费由买家承担",
                "buyer's own reason: the buyer pays return shipping",
            )
        else:
            payer = "merchant"
            trace.add(
                "shipping.shop_pays",
                "R4.4",
                "店铺政策：退货运费由商家承担",
                "shop policy: the merchant pays return shipping",
            )
    return goods, shipping, payer


def _return_postage(payer: str, rules: dict[str, Any], trace: _Trace) -> int:
    """R4.4: when the merchant pays return shipping but the buyer sends the goods back, the
    buyer's postage is refunded with the refund, up to the policy's cap."""
    cap = int(rules["merchant_return_postage_cap_fen"])
    if payer != "merchant" or cap <= 0:
        return 0
    trace.add(
        "shipping.return_postage",
        "R4.4",
        f"商家承担退货运费：随退款补偿买家寄回的运费，最多 {cap / 100:.2f} 元",
        f"the merchant pays return shipping: the buyer's return postage is refunded with the "
        f"refund, up to {cap / 100:.2f} yuan",
    )
    return cap


def _recommend(
    facts: CaseFacts,
    data: dict[str, Any],
    requested: int,
    eligible: bool | None,
    missing: list[str],
    high_risk: bool,
    trace: _Trace,
) -> tuple[str, bool]:
    triage = data["triage"]
    if facts.order_status == "unshipped":
        limit = triage["auto_approve_limit_fen"]
        # Any high-risk item needs a person, whether or not its category has a plan (R6.4).
        if requested <= limit and not high_risk:
            trace.add(
                "triage.unshipped_auto",
                "R3.1",
                f"未发货，金额 {requested / 100:.2f} 元未超过自动同意上限 {limit / 100:.2f} 元："
                "立即同意并退款",
                f"unshipped, {requested / 100:.2f} yuan within the {limit / 100:.2f} yuan limit: "
                "approve and refund now",
            )
            return APPROVE_REFUND, True
        trace.add(
            "triage.unshipped_over_limit",
            "R3.1",
            "未发货，但金额超过自动同意上限或为高风险商品：人工确认后退款",
            "unshipped but over the auto-approval limit or high-risk: a person confirms",
        )
        return APPROVE_REFUND, False
    if (
        facts.order_status == "shipped"
        and facts.type in {"refund_shipped", "return_refund"}
        and triage["intercept_before_refund"]
    ):
        trace.add(
            "triage.intercept",
            "R3.1",
            "已发货未签收：先申请物流拦截，包裹拦回后退款",
            "shipped, not delivered: request interception first, refund once stopped",
        )
        return INTERCEPT_FIRST, False
    if eligible is False:
        return NOT_ELIGIBLE_NO_REASON, False
    if missing:
        zh, en = words("evidence", missing)
        trace.add(
            "evidence.missing",
            "R4.1",
            f"需要买家补充凭证：{zh}",
            f"needs the buyer's evidence: {en}",
        )
        return NEEDS_EVIDENCE, False
    is_functional = facts.reason == "functional_fault"
    electronics = any(i.category == "electronics" for i in facts.items)
    if (
        is_functional
        and electronics
        and data["special"]["electronics"]["technical_support_first"]
        and not facts.technical_support_done
    ):
        trace.add(
            "electronics.tech_support",
            "R7.3",
            "电子产品功能问题：先提供技术支持、指导正确使用，确属质量问题再换货",
            "electronics, functional complaint: technical support first; replace if confirmed",
        )
        return TECHNICAL_SUPPORT_FIRST, False
    trace.add(
        "triage.review",
        "R3.1",
        "已签收：根据买家理由和凭证人工判断",
        "delivered: a person judges by the reason and the evidence",
    )
    return NEEDS_REVIEW, False
