"""Replaying past cases under a candidate policy to see what would change (R11.2)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Avg

from aftersales.cases.models import Case, CaseCost

from .document import Policy
from .engine import Decision, decide
from .facts import facts_for_case
from .services import policy_for

DEFAULT_RETURN_SHIPPING_FEN = 1200  # when the shop has recorded no return-shipping costs


@dataclass
class Side:
    """Totals of one side of the comparison (the policy in force, or the candidate)."""

    auto_approvals: int = 0
    goods_refund_fen: int = 0
    shipping_refund_fen: int = 0
    merchant_paid_returns: int = 0
    complex_cases: int = 0
    review_hours: float = 0.0
    recommendations: Counter[str] = field(default_factory=Counter)

    def add(self, decision: Decision) -> None:
        self.recommendations[decision.recommendation] += 1
        if decision.auto_approve:
            self.auto_approvals += 1
        self.goods_refund_fen += decision.goods_refund_fen
        self.shipping_refund_fen += decision.shipping_refund_fen
        if decision.return_shipping_payer == "merchant":
            self.merchant_paid_returns += 1
        if decision.complexity == "complex":
            self.complex_cases += 1
        self.review_hours += decision.deadlines["review"].hours or 0


@dataclass
class ReplayReport:
    cases: int
    current: Side
    candidate: Side
    changed: Counter[tuple[str, str]]
    examples: list[dict[str, Any]]
    return_shipping_fen: int

    def as_json(self) -> dict[str, Any]:
        def side(s: Side) -> dict[str, Any]:
            return {
                "auto_approvals": s.auto_approvals,
                "goods_refund_fen": s.goods_refund_fen,
                "shipping_refund_fen": s.shipping_refund_fen,
                "merchant_paid_returns": s.merchant_paid_returns,
                "merchant_return_shipping_fen": s.merchant_paid_returns * self.return_shipping_fen,
                "complex_cases": s.complex_cases,
                "review_hours": s.review_hours,
                "recommendations": dict(s.recommendations),
            }

        return {
            "cases": self.cases,
            "current": side(self.current),
            "candidate": side(self.candidate),
            "decisions_changed": sum(self.changed.values()),
            "changes": {f"{a} -> {b}": n for (a, b), n in self.changed.most_common()},
            "examples": self.examples,
        }


def outcome(decision: Decision) -> str:
    """What a decision does to a case: the recommendation, and whether the system acts on it
    alone. Raising the auto-approval limit changes the second without changing the first."""
    return f"{decision.recommendation} (auto)" if decision.auto_approve else decision.recommendation


def replay(
    candidate: Policy, *, since: datetime, shop_id: int | None = None, max_examples: int = 5
) -> ReplayReport:
    cases = (
        Case.objects.filter(applied_at__gte=since)
        .select_related("order__buyer")
        .prefetch_related("items__order_item__sku__product")
        .order_by("pk")
    )
    if shop_id is not None:
        cases = cases.filter(shop_id=shop_id)
    current, proposed = Side(), Side()
    changed: Counter[tuple[str, str]] = Counter()
    examples: list[dict[str, Any]] = []
    in_force: dict[tuple[int, str], Policy] = {}
    count = 0
    for case in cases.iterator(chunk_size=500):
        count += 1
        facts = facts_for_case(case)
        policy = policy_for(case.shop_id, case.applied_at)
        policy = in_force.setdefault((case.shop_id, policy.version), policy)
        before = decide(facts, policy)
        after = decide(facts, candidate)
        current.add(before)
        proposed.add(after)
        if outcome(before) != outcome(after):
            changed[(outcome(before), outcome(after))] += 1
            if len(examples) < max_examples:
                rules_before = {h.rule for h in before.trace}
                new_rules = [h for h in after.trace if h.rule not in rules_before]
                examples.append(
                    {
                        "case": case.pk,
                        "before": outcome(before),
                        "after": outcome(after),
                        "why": new_rules[0].zh + " / " + new_rules[0].en if new_rules else "",
                    }
                )
    costs = CaseCost.objects.filter(kind="return_shipping")
    if shop_id is not None:
        costs = costs.filter(shop_id=shop_id)
    average = costs.aggregate(avg=Avg("amount_fen"))
    return ReplayReport(
        cases=count,
        current=current,
        candidate=proposed,
        changed=changed,
        examples=examples,
        return_shipping_fen=int(average["avg"] or DEFAULT_RETURN_SHIPPING_FEN),
    )
