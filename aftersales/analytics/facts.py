"""The facts the reports read, kept current by the case events themselves (not a nightly
batch that can drift).

- `CaseFact`: one narrow row per case with what the reports ask of it — shop, order, reason,
  type, assignee, when the buyer applied, the first response, the first decision, the
  refund paid and its goods amount.
- `DailyCaseFact`: the number of cases applied for per shop, Shanghai day, reason, type and
  assignee.
- `CaseProductFact`: one row per case and product of its items, dated by the order's day of
  payment, with the case's reason (the problem products' numerators; their denominators,
  orders per product and day, are kept by the orders' own writes: `orders.totals`).

`record_case_facts` is a reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`, last):
in the event's transaction it re-reads what the event can have changed, compares it with
the case's fact row (locked), and moves the daily counts by the difference. So however
events arrive — an assignment changed twice, a case reopened — the rollup is the count of
the rows as they are, which `recount_daily_facts` computes from scratch and the tests compare
after random activity. `rebuild_facts` writes both from the raw rows (for data that existed
before this app, and as the repair if ever needed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Min, Sum

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import ExecutionStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, CaseItem, RefundExecution, RefundLine
from aftersales.cases.ports import CaseChange
from aftersales.orders.totals import paid_day
from aftersales.sla.rules import MERCHANT_RESPONSES
from aftersales.workdays.calendar import SHANGHAI

from .models import CaseFact, CaseProductFact, DailyCaseFact

DECISION_EVENTS = frozenset({CaseEvent.CASE_APPROVED, CaseEvent.CASE_REJECTED})
# The events that can change a case's facts; every other event returns before any query.
FACT_EVENTS = (
    frozenset({CaseEvent.CASE_OPENED, CaseEvent.CASE_ASSIGNED, CaseEvent.REFUND_EXECUTED})
    | MERCHANT_RESPONSES
    | DECISION_EVENTS
)


def shanghai_day(moment: Any) -> date:
    return moment.astimezone(SHANGHAI).date()


def record_case_facts(change: CaseChange) -> None:
    """The reaction: bring the case's fact row and the daily counts up to date."""
    if change.event not in FACT_EVENTS:
        return
    case = change.case
    fact = CaseFact.objects.select_for_update().filter(case_id=case.pk).first()
    before = _daily_key(fact)
    if fact is None:
        fact = CaseFact(case_id=case.pk)
        CaseProductFact.objects.bulk_create(case_product_facts([case.pk]))
    elif fact.reason != case.reason:
        CaseProductFact.objects.filter(case_id=case.pk).update(reason=case.reason)
    fact.shop_id = case.shop_id
    fact.order_id = case.order_id
    fact.reason = case.reason
    fact.type = case.type
    fact.assignee_id = case.assignee_id
    fact.applied_at = case.applied_at
    fact.applied_day = shanghai_day(case.applied_at)
    if change.event in MERCHANT_RESPONSES and fact.first_response_at is None:
        fact.first_response_at = _event_time(case, change.event)
    if change.event in DECISION_EVENTS and fact.decided_at is None:
        fact.decided_at = _event_time(case, change.event)
    if change.event == CaseEvent.REFUND_EXECUTED:
        fact.refund_executed_at, fact.refunded_fen = _refund_of(case)
    fact.save()
    after = (fact.shop_id, fact.applied_day, fact.reason, fact.type, fact.assignee_id or 0)
    if before != after:
        if before is not None:
            _add(before, -1)
        _add(after, 1)


def _event_time(case: Case, event: str) -> Any:
    """The time the audit trail gives the event just recorded (the same instant the raw
    reports read)."""
    return (
        AuditEvent.objects.filter(case_id=case.pk, type=event)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )


def _refund_of(case: Case) -> tuple[Any, int]:
    execution = (
        RefundExecution.objects.filter(decision__case_id=case.pk, status=ExecutionStatus.SUCCEEDED)
        .values("executed_at", "decision_id")
        .first()
    )
    if execution is None:
        return None, 0
    goods = RefundLine.objects.filter(decision_id=execution["decision_id"]).aggregate(
        s=Sum("amount_fen")
    )["s"]
    return execution["executed_at"], goods or 0


DailyKey = tuple[int, date, str, str, int]  # shop, day, reason, type, assignee (0: nobody)


def _daily_key(fact: CaseFact | None) -> DailyKey | None:
    if fact is None:
        return None
    return (fact.shop_id, fact.applied_day, fact.reason, fact.type, fact.assignee_id or 0)


def _add(key: DailyKey, delta: int) -> None:
    shop_id, day, reason, type_, assignee_id = key
    lookup = {
        "shop_id": shop_id,
        "day": day,
        "reason": reason,
        "type": type_,
        "assignee_id": assignee_id,
    }
    if DailyCaseFact.objects.filter(**lookup).update(cases=F("cases") + delta):
        return
    try:
        # Two first cases of a day at once: one insert wins, the other adds to it.
        with transaction.atomic():
            DailyCaseFact.objects.create(**lookup, cases=delta)
    except IntegrityError:
        DailyCaseFact.objects.filter(**lookup).update(cases=F("cases") + delta)


def case_product_facts(case_ids: Iterable[int] | None = None, shop_ids: Iterable[int] = ()) -> list:
    """The `CaseProductFact` rows of these cases (or of every case of these shops), from the
    case items: one per case and product."""
    items = CaseItem.objects.all()
    if case_ids is not None:
        items = items.filter(case_id__in=list(case_ids))
    else:
        items = items.filter(case__shop_id__in=list(shop_ids))
    rows = {}
    for case_id, shop_id, product_id, order_id, paid_at, reason in items.values_list(
        "case_id",
        "case__shop_id",
        "order_item__sku__product_id",
        "order_item__order_id",
        "order_item__order__paid_at",
        "case__reason",
    ).iterator(chunk_size=5000):
        rows[(case_id, product_id)] = CaseProductFact(
            case_id=case_id,
            shop_id=shop_id,
            product_id=product_id,
            order_id=order_id,
            paid_day=paid_day(paid_at),
            reason=reason,
        )
    return list(rows.values())


def rebuild_case_product_facts(shop_ids: Iterable[int]) -> None:
    shop_ids = list(shop_ids)
    CaseProductFact.objects.filter(shop_id__in=shop_ids).delete()
    CaseProductFact.objects.bulk_create(case_product_facts(shop_ids=shop_ids), batch_size=5000)


# --- From the raw rows -----------------------------------------------------------------------


def recount_daily_facts(shop_ids: Iterable[int]) -> Counter[DailyKey]:
    """The daily counts as the raw case rows say they are (for the tests and repairs)."""
    counts: Counter[DailyKey] = Counter()
    for shop_id, applied_at, reason, type_, assignee_id in Case.objects.filter(
        shop_id__in=list(shop_ids)
    ).values_list("shop_id", "applied_at", "reason", "type", "assignee_id"):
        counts[(shop_id, shanghai_day(applied_at), reason, type_, assignee_id or 0)] += 1
    return counts


def stored_daily_facts(shop_ids: Iterable[int]) -> Counter[DailyKey]:
    return Counter(
        {
            (f.shop_id, f.day, f.reason, f.type, f.assignee_id): f.cases
            for f in DailyCaseFact.objects.filter(shop_id__in=list(shop_ids))
            if f.cases
        }
    )


def first_times(shop_ids: Iterable[int], types: Iterable[str]) -> dict[int, Any]:
    """{case id: the time of its first event of these types}, from the audit trail."""
    return dict(
        AuditEvent.objects.filter(
            shop_id__in=list(shop_ids), case__isnull=False, type__in=list(types)
        )
        .values("case_id")
        .annotate(first=Min("created_at"))
        .values_list("case_id", "first")
    )


@transaction.atomic
def rebuild_facts(shop_ids: Iterable[int], *, products: bool = True) -> int:
    """Write the shops' facts afresh from the raw rows; returns the cases counted.
    (`products=False`: not the case-product facts, for the migration that predates them.)"""
    shop_ids = list(shop_ids)
    CaseFact.objects.filter(shop_id__in=shop_ids).delete()
    DailyCaseFact.objects.filter(shop_id__in=shop_ids).delete()
    if products:
        rebuild_case_product_facts(shop_ids)
    responses = first_times(shop_ids, MERCHANT_RESPONSES)
    decisions = first_times(shop_ids, DECISION_EVENTS)
    refunds = {
        row["decision__case_id"]: row
        for row in RefundExecution.objects.filter(
            shop_id__in=shop_ids, status=ExecutionStatus.SUCCEEDED
        ).values("decision__case_id", "executed_at", "decision_id")
    }
    goods = dict(
        RefundLine.objects.filter(decision__shop_id__in=shop_ids)
        .values("decision_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("decision_id", "s")
    )
    facts = []
    written = 0
    for pk, shop_id, order_id, reason, type_, assignee_id, applied_at in (
        Case.objects.filter(shop_id__in=shop_ids)
        .values_list("pk", "shop_id", "order_id", "reason", "type", "assignee_id", "applied_at")
        .iterator(chunk_size=5000)
    ):
        refund = refunds.get(pk)
        facts.append(
            CaseFact(
                case_id=pk,
                shop_id=shop_id,
                order_id=order_id,
                reason=reason,
                type=type_,
                assignee_id=assignee_id,
                applied_at=applied_at,
                applied_day=shanghai_day(applied_at),
                first_response_at=responses.get(pk),
                decided_at=decisions.get(pk),
                refund_executed_at=refund["executed_at"] if refund else None,
                refunded_fen=goods.get(refund["decision_id"], 0) if refund else 0,
            )
        )
        if len(facts) >= 5000:  # a million cases never sit in memory as rows
            CaseFact.objects.bulk_create(facts)
            written += len(facts)
            facts = []
    CaseFact.objects.bulk_create(facts, batch_size=5000)
    written += len(facts)
    DailyCaseFact.objects.bulk_create(
        [
            DailyCaseFact(
                shop_id=shop_id, day=day, reason=reason, type=type_, assignee_id=assignee, cases=n
            )
            for (shop_id, day, reason, type_, assignee), n in recount_daily_facts(shop_ids).items()
        ],
        batch_size=5000,
    )
    return written
