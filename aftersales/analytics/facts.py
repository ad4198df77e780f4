"""The facts the reports read, kept current by the case events themselves (not a nightly
batch that can drift).

- `CaseFact`: one narrow row per case with what the reports ask of it — shop, order, reason,
  type, assignee, when the buyer applied, the first response, the first decision, the
  refund paid and its goods amount.
- `DailyCaseFact`: the number of cases applied for per shop, Shanghai day, reason, type and
  assignee.
- `DailyTimeBucket`: the histogram of the three times (first response, decision, refund) per
  shop and Shanghai day of the moment, in buckets about 5 % wide (`TIME_BOUNDS`); each
  `CaseFact` carries its bucket of each time, so the overview's median and p90 read the days'
  histogram, then the one bucket's cases for the exact value (`overview.histogram_times`).
- `DailyRefundFact`: refunds paid per shop and Shanghai day, by the day of the same order's
  refund before it, so that the refunded orders of a period (a distinct count) add up from
  days (`refund_cells`).
- `CaseProductFact`: one row per case and product of its items, dated by the order's day of
  payment, with the case's reason (the problem products' numerators; their denominators,
  orders per product and day, are kept by the orders' own writes: `orders.totals`).

`record_case_facts` is a reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`, last):
in the event's transaction it re-reads what the event can have changed, compares it with
the case's fact row (locked), and moves the daily counts and the time histogram by the
difference. So however
events arrive — an assignment changed twice, a case reopened — the rollup is the count of
the rows as they are, which `recount_daily_facts` computes from scratch and the tests compare
after random activity. `rebuild_facts` writes both from the raw rows (for data that existed
before this app, and as the repair if ever needed).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncDate

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import ExecutionStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, CaseItem, RefundExecution, RefundLine, opened_items
from aftersales.cases.ports import CaseChange, ImportedCases
from aftersales.core.bulk import insert_all
from aftersales.core.tallies import add_to_tallies, add_to_tally
from aftersales.orders.totals import paid_day
from aftersales.sla.rules import MERCHANT_RESPONSES
from aftersales.workdays.calendar import SHANGHAI

from .models import CaseFact, CaseProductFact, DailyCaseFact, DailyRefundFact, DailyTimeBucket

DECISION_EVENTS = frozenset({CaseEvent.CASE_APPROVED, CaseEvent.CASE_REJECTED})
# The events that can change a case's facts; every other event returns before any query.
FACT_EVENTS = (
    frozenset({CaseEvent.CASE_OPENED, CaseEvent.CASE_ASSIGNED, CaseEvent.REFUND_EXECUTED})
    | MERCHANT_RESPONSES
    | DECISION_EVENTS
)


def shanghai_day(moment: Any) -> date:
    return moment.astimezone(SHANGHAI).date()


# --- The time histogram ------------------------------------------------------------------------


def _time_bounds() -> list[timedelta]:
    """The buckets' lower bounds: 0 s, 1 s, then 5 % wider each (whole seconds) up to 400
    days. Bucket i holds times in [bound i-1, bound i); bucket 0 a time below 0 (an event
    dated before the application), the last one everything from 400 days."""
    seconds = [0, 1]
    grown = 1.0
    while seconds[-1] < 400 * 86400:
        grown *= 1.05
        seconds.append(max(seconds[-1] + 1, round(grown)))
    return [timedelta(seconds=s) for s in seconds]


TIME_BOUNDS = _time_bounds()
# metric: (the CaseFact moment, its bucket field)
TIME_METRICS: dict[str, tuple[str, str]] = {
    "first_response": ("first_response_at", "response_bucket"),
    "decision": ("decided_at", "decision_bucket"),
    "refund": ("refund_executed_at", "refund_bucket"),
}


def bucket_of(elapsed: timedelta) -> int:
    """The number of bounds at or below the time (PostgreSQL's `width_bucket` with the same
    array gives the same number: the backfill writes it in SQL)."""
    return bisect_right(TIME_BOUNDS, elapsed)


def bucket_range(bucket: int) -> tuple[timedelta | None, timedelta | None]:
    """[low, high) of a bucket; None: unbounded."""
    low = TIME_BOUNDS[bucket - 1] if bucket > 0 else None
    high = TIME_BOUNDS[bucket] if bucket < len(TIME_BOUNDS) else None
    return low, high


def set_time_buckets(fact: CaseFact) -> None:
    for moment_field, bucket_field in TIME_METRICS.values():
        moment = getattr(fact, moment_field)
        setattr(fact, bucket_field, None if moment is None else bucket_of(moment - fact.applied_at))


TimeKey = tuple[int, date, str, int]  # shop, day of the moment, metric, bucket


def _time_keys(fact: CaseFact | None) -> Counter[TimeKey]:
    """The histogram cells this fact row is counted in (from its stored buckets)."""
    keys: Counter[TimeKey] = Counter()
    if fact is None:
        return keys
    for metric, (moment_field, bucket_field) in TIME_METRICS.items():
        moment, bucket = getattr(fact, moment_field), getattr(fact, bucket_field)
        if moment is not None and bucket is not None:
            keys[(fact.shop_id, shanghai_day(moment), metric, bucket)] += 1
    return keys


# --- Refunds per day ----------------------------------------------------------------------------

NO_EARLIER_REFUND = date(1, 1, 1)  # the `previous_day` of an order's first refund
RefundKey = tuple[int, date, date]  # shop, day of the refund, day of the order's one before
# A refunded fact as the refund rows need it: order, case, shop, refund paid at, goods amount.
Refund = tuple[int, int, int, datetime, int]


def refund_cells(refunds: Iterable[Refund]) -> tuple[Counter[RefundKey], Counter[RefundKey]]:
    """(refunds, goods amount) per `DailyRefundFact` cell of these refunded cases, given
    grouped by order (each order's together): each order's refunds in (day, case) order, each
    counted on its day beside the day of the one before it."""
    cases: Counter[RefundKey] = Counter()
    fen: Counter[RefundKey] = Counter()
    for _order, group in groupby(refunds, key=lambda refund: refund[0]):
        previous = NO_EARLIER_REFUND
        for day, _case, shop_id, amount in sorted(
            (shanghai_day(moment), case_id, shop_id, amount)
            for _o, case_id, shop_id, moment, amount in group
        ):
            cases[(shop_id, day, previous)] += 1
            if amount:
                fen[(shop_id, day, previous)] += amount
            previous = day
    return cases, fen


def _refunds_of(facts: Iterable[CaseFact]) -> list[Refund]:
    return [
        (f.order_id, f.case_id, f.shop_id, f.refund_executed_at, f.refunded_fen)
        for f in facts
        if f.refund_executed_at is not None
    ]


def _move_refund_cells(before: list[Refund], after: list[Refund]) -> None:
    cases_before, fen_before = refund_cells(before)
    cases_after, fen_after = refund_cells(after)
    for key in sorted(set(cases_before) | set(cases_after)):
        deltas = {
            "cases": cases_after[key] - cases_before[key],
            "refunded_fen": fen_after[key] - fen_before[key],
        }
        if any(deltas.values()):
            shop_id, day, previous = key
            add_to_tally(
                DailyRefundFact,
                {"shop_id": shop_id, "day": day, "previous_day": previous},
                **deltas,
            )


def record_case_facts(change: CaseChange) -> None:
    """The reaction: bring the case's fact row and the daily counts up to date."""
    if change.event not in FACT_EVENTS:
        return
    case = change.case
    # A case opened in this transaction has no fact row yet: nothing to read (issue 16).
    order_refunds: list[Refund] | None = None
    if change.event == CaseEvent.CASE_OPENED:
        fact = None
    elif change.event == CaseEvent.REFUND_EXECUTED:
        # A refund moves the refund rows of the case's whole order: its facts are locked
        # together, in case order (two refunds of one order's cases at once wait for each
        # other and never lock each other's rows the other way round).
        order_facts = list(
            CaseFact.objects.select_for_update().filter(order_id=case.order_id).order_by("case_id")
        )
        order_refunds = _refunds_of(order_facts)
        fact = next((f for f in order_facts if f.case_id == case.pk), None)
    else:
        fact = CaseFact.objects.select_for_update().filter(case_id=case.pk).first()
    before = _daily_key(fact)
    times_before = _time_keys(fact)
    stored = _fact_values(fact)
    if fact is None:
        fact = CaseFact(case_id=case.pk)
        CaseProductFact.objects.bulk_create(_opened_product_facts(case))
    elif fact.reason != case.reason:
        CaseProductFact.objects.filter(case_id=case.pk).update(reason=case.reason)
    fact.shop_id = case.shop_id
    fact.order_id = case.order_id
    fact.reason = case.reason
    fact.type = case.type
    fact.assignee_id = case.assignee_id
    fact.applied_at = case.applied_at
    fact.applied_day = shanghai_day(case.applied_at)
    # The event's time on the audit trail, as the raw reports read it; read only for a
    # change not recorded by `record_case_event` (an approval is a response and a decision).
    event_times: dict[str, Any] = {change.event: change.recorded_at} if change.recorded_at else {}
    if change.event in MERCHANT_RESPONSES and fact.first_response_at is None:
        fact.first_response_at = _event_time(case, change.event, event_times)
    if change.event in DECISION_EVENTS and fact.decided_at is None:
        fact.decided_at = _event_time(case, change.event, event_times)
    if change.event == CaseEvent.REFUND_EXECUTED:
        fact.refund_executed_at, fact.refunded_fen = _refund_of(case)
    set_time_buckets(fact)
    if stored is None:
        fact.save(force_insert=True)
    elif _fact_values(fact) != stored:
        fact.save()
    # else: the event changed none of the facts (no UPDATE)
    after = (fact.shop_id, fact.applied_day, fact.reason, fact.type, fact.assignee_id or 0)
    if before != after:
        daily: Counter[DailyKey] = Counter({after: 1})
        if before is not None:
            daily[before] -= 1
        add_to_tallies(DailyCaseFact, ("shop_id", "day", "reason", "type", "assignee_id"), daily)
    times_after = _time_keys(fact)
    times: Counter[TimeKey] = Counter()
    for key in times_before - times_after:
        times[key] -= 1
    for key in times_after - times_before:
        times[key] += 1
    add_to_tallies(DailyTimeBucket, ("shop_id", "day", "metric", "bucket"), times)
    if order_refunds is not None:
        others = [refund for refund in order_refunds if refund[1] != case.pk]
        mine = (
            [(case.order_id, case.pk, fact.shop_id, fact.refund_executed_at, fact.refunded_fen)]
            if fact.refund_executed_at is not None
            else []
        )
        _move_refund_cells(order_refunds, others + mine)


def count_imported_cases(imported: ImportedCases) -> None:
    """The import reaction (`settings.AFTERSALES_CASES_IMPORTED_REACTIONS`): cases written at
    once in their final state get their fact rows and are added to the daily counts, the
    time histogram and the refund rows in a few statements, as `record_case_facts` would
    have moved them event by event. They went through no response or decision here (the
    export does not say when the merchant answered): those times stay unknown."""
    cases = imported.cases
    if not cases:
        return
    paid = {
        execution.decision.case_id: (execution.executed_at, execution.decision.goods_amount_fen)
        for execution in imported.refunds
        if execution.status == ExecutionStatus.SUCCEEDED
    }
    facts = []
    for case in cases:
        refund_at, refunded = paid.get(case.pk, (None, 0))
        fact = CaseFact(
            case_id=case.pk,
            shop_id=case.shop_id,
            order_id=case.order_id,
            reason=case.reason,
            type=case.type,
            assignee_id=case.assignee_id,
            applied_at=case.applied_at,
            applied_day=shanghai_day(case.applied_at),
            refund_executed_at=refund_at,
            refunded_fen=refunded,
        )
        set_time_buckets(fact)
        facts.append(fact)
    order_ids = sorted({case.order_id for case in cases})
    # The refunds these orders already had (an order of several after-sales), locked in
    # case order as `record_case_facts` locks them.
    earlier = list(
        CaseFact.objects.select_for_update()
        .filter(order_id__in=order_ids)
        .order_by("order_id", "case_id")
    )
    insert_all(CaseFact, facts)
    insert_all(CaseProductFact, list(case_product_facts([case.pk for case in cases])))
    daily: Counter[DailyKey] = Counter()
    times: Counter[TimeKey] = Counter()
    for fact in facts:
        key = _daily_key(fact)
        assert key is not None
        daily[key] += 1
        times.update(_time_keys(fact))
    add_to_tallies(DailyCaseFact, ("shop_id", "day", "reason", "type", "assignee_id"), daily)
    add_to_tallies(DailyTimeBucket, ("shop_id", "day", "metric", "bucket"), times)
    before = _refunds_by_order(earlier)
    _move_refund_cells(before, _refunds_by_order([*earlier, *facts]))


_FACT_FIELDS = tuple(f.attname for f in CaseFact._meta.concrete_fields if not f.primary_key)


def _fact_values(fact: CaseFact | None) -> tuple[Any, ...] | None:
    return None if fact is None else tuple(getattr(fact, name) for name in _FACT_FIELDS)


def _event_time(case: Case, event: str, known: dict[str, Any] | None = None) -> Any:
    """The time the audit trail gives the event just recorded (the same instant the raw
    reports read); `known` keeps it for the next caller of the same event."""
    if known is not None and event in known:
        return known[event]
    moment = (
        AuditEvent.objects.filter(case_id=case.pk, type=event)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )
    if known is not None:
        known[event] = moment
    return moment


def _refund_of(case: Case) -> tuple[Any, int]:
    """When the case's refund was paid and its goods amount. The execution's result brings
    the decision with the locked case (`cases.services._record_refund_success`), and the
    case's resolution is the execution's time: no query. Else one."""
    if Case.refund_decision.is_cached(case) and case.resolved_at is not None:  # type: ignore[attr-defined]
        return case.resolved_at, case.refund_decision.goods_amount_fen
    execution = (
        RefundExecution.objects.filter(decision__case_id=case.pk, status=ExecutionStatus.SUCCEEDED)
        .annotate(goods=Sum("decision__lines__amount_fen"))
        .values("executed_at", "goods")
        .first()
    )
    if execution is None:
        return None, 0
    return execution["executed_at"], execution["goods"] or 0


DailyKey = tuple[int, date, str, str, int]  # shop, day, reason, type, assignee (0: nobody)


def _daily_key(fact: CaseFact | None) -> DailyKey | None:
    if fact is None:
        return None
    return (fact.shop_id, fact.applied_day, fact.reason, fact.type, fact.assignee_id or 0)


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


def _opened_product_facts(case: Case) -> list[CaseProductFact]:
    """`case_product_facts` of one case, from the items `open_case` wrote if this is the
    opening's object (no read), else from the database."""
    items = opened_items(case)
    if items is None:
        return case_product_facts([case.pk])
    rows = {}
    for ci in items:
        product_id = ci.order_item.sku.product_id
        rows[product_id] = CaseProductFact(
            case_id=case.pk,
            shop_id=case.shop_id,
            product_id=product_id,
            order_id=case.order_id,
            paid_day=paid_day(case.order.paid_at),
            reason=case.reason,
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


def recount_time_histogram(shop_ids: Iterable[int]) -> Counter[TimeKey]:
    """The time histogram as the raw rows (audit trail, refunds) say it is."""
    counts: Counter[TimeKey] = Counter()
    for fact in raw_case_facts(list(shop_ids)):
        counts += _time_keys(fact)
    return counts


def stored_time_histogram(shop_ids: Iterable[int]) -> Counter[TimeKey]:
    return Counter(
        {
            (row.shop_id, row.day, row.metric, row.bucket): row.cases
            for row in DailyTimeBucket.objects.filter(shop_id__in=list(shop_ids))
            if row.cases
        }
    )


def _refunds_by_order(facts: Iterable[CaseFact]) -> list[Refund]:
    return sorted(_refunds_of(facts), key=lambda refund: refund[:2])


def recount_refund_facts(
    shop_ids: Iterable[int],
) -> tuple[Counter[RefundKey], Counter[RefundKey]]:
    """The refund rows as the raw rows (cases, refunds) say they are."""
    return refund_cells(_refunds_by_order(raw_case_facts(list(shop_ids))))


def stored_refund_facts(
    shop_ids: Iterable[int],
) -> tuple[Counter[RefundKey], Counter[RefundKey]]:
    cases: Counter[RefundKey] = Counter()
    fen: Counter[RefundKey] = Counter()
    for row in DailyRefundFact.objects.filter(shop_id__in=list(shop_ids)):
        key = (row.shop_id, row.day, row.previous_day)
        if row.cases:
            cases[key] = row.cases
        if row.refunded_fen:
            fen[key] = row.refunded_fen
    return cases, fen


def write_refund_facts(shop_ids: Iterable[int]) -> None:
    """The shops' refund rows afresh from their `CaseFact` rows (read in order of the order,
    so one order's refunds at a time are in memory)."""
    shop_ids = list(shop_ids)
    DailyRefundFact.objects.filter(shop_id__in=shop_ids).delete()
    refunds = (
        CaseFact.objects.filter(shop_id__in=shop_ids, refund_executed_at__isnull=False)
        .order_by("order_id", "case_id")
        .values_list("order_id", "case_id", "shop_id", "refund_executed_at", "refunded_fen")
        .iterator(chunk_size=5000)
    )
    cases, fen = refund_cells(
        (o, c, shop, moment, f) for o, c, shop, moment, f in refunds if moment is not None
    )
    DailyRefundFact.objects.bulk_create(
        [
            DailyRefundFact(
                shop_id=shop_id, day=day, previous_day=previous, cases=n, refunded_fen=fen[key]
            )
            for key, n in cases.items()
            for shop_id, day, previous in [key]
        ],
        batch_size=5000,
    )


def raw_case_facts(shop_ids: list[int]) -> Iterator[CaseFact]:
    """Each case's fact row as the raw rows give it (unsaved), time buckets included."""
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
    for pk, shop_id, order_id, reason, type_, assignee_id, applied_at in (
        Case.objects.filter(shop_id__in=shop_ids)
        .values_list("pk", "shop_id", "order_id", "reason", "type", "assignee_id", "applied_at")
        .iterator(chunk_size=5000)
    ):
        refund = refunds.get(pk)
        fact = CaseFact(
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
        set_time_buckets(fact)
        yield fact


def write_time_histogram(shop_ids: Iterable[int]) -> None:
    """The shops' time histogram afresh from their `CaseFact` rows and the buckets they carry."""
    shop_ids = list(shop_ids)
    DailyTimeBucket.objects.filter(shop_id__in=shop_ids).delete()
    for metric, (moment_field, bucket_field) in TIME_METRICS.items():
        grouped = (
            CaseFact.objects.filter(
                shop_id__in=shop_ids,
                **{f"{moment_field}__isnull": False, f"{bucket_field}__isnull": False},
            )
            .annotate(_day=TruncDate(moment_field, tzinfo=SHANGHAI))
            .values("shop_id", "_day", bucket_field)
            .annotate(n=Count("pk"))
            .order_by()
        )
        DailyTimeBucket.objects.bulk_create(
            [
                DailyTimeBucket(
                    shop_id=row["shop_id"],
                    day=row["_day"],
                    metric=metric,
                    bucket=row[bucket_field],
                    cases=row["n"],
                )
                for row in grouped
            ],
            batch_size=5000,
        )


@transaction.atomic
def fill_time_buckets(shop_ids: Iterable[int]) -> None:
    """Give the existing `CaseFact` rows their time buckets and write the histogram (the
    migration that adds them; in one UPDATE on PostgreSQL, whose `width_bucket` counts the
    bounds at or below a value as `bucket_of` does)."""
    shop_ids = list(shop_ids)
    if connection.vendor == "postgresql":
        sets = ", ".join(
            f"{bucket} = CASE WHEN {moment} IS NULL THEN NULL "
            f"ELSE width_bucket({moment} - applied_at, %(bounds)s::interval[]) END"
            for moment, bucket in TIME_METRICS.values()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE analytics_casefact SET {sets} WHERE shop_id = ANY(%(shops)s)",
                {"bounds": TIME_BOUNDS, "shops": shop_ids},
            )
    else:
        batch = []
        for fact in CaseFact.objects.filter(shop_id__in=shop_ids).iterator(chunk_size=2000):
            set_time_buckets(fact)
            batch.append(fact)
            if len(batch) >= 2000:
                CaseFact.objects.bulk_update(batch, [b for _m, b in TIME_METRICS.values()])
                batch = []
        CaseFact.objects.bulk_update(batch, [b for _m, b in TIME_METRICS.values()], batch_size=2000)
    write_time_histogram(shop_ids)


@transaction.atomic
def rebuild_facts(shop_ids: Iterable[int], *, products: bool = True, refunds: bool = True) -> int:
    """Write the shops' facts afresh from the raw rows; returns the cases counted.
    (`products=False`, `refunds=False`: not the case-product facts, not the refund rows, for
    the migrations that predate them.)"""
    shop_ids = list(shop_ids)
    CaseFact.objects.filter(shop_id__in=shop_ids).delete()
    DailyCaseFact.objects.filter(shop_id__in=shop_ids).delete()
    if products:
        rebuild_case_product_facts(shop_ids)
    facts = []
    written = 0
    for fact in raw_case_facts(shop_ids):
        facts.append(fact)
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
    write_time_histogram(shop_ids)
    if refunds:
        write_refund_facts(shop_ids)
    return written
