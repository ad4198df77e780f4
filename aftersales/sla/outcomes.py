"""The clocks' outcomes per day, kept where a clock stops (`services._stop`), in its
transaction — as the order writes keep the orders' daily totals (`orders.totals`).

A stopped clock is history: nothing moves its due time, pause or breach once it stopped
(extensions and tightening take live clocks only, a breach fires on a running clock). So
whether it was met is known when it stops, and `count_stopped_clocks` adds it to
`DailyClockOutcome` (shop, Shanghai day of the stop, kind: clocks, met) once. The analytics
overview reads a period's SLA compliance from these days instead of every clock of the
period. Bulk writers (the benchmarks) write clocks directly and call
`rebuild_clock_outcomes`, the same counts from the clock rows, which `recount_clock_outcomes`
computes for the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from aftersales.workdays.calendar import SHANGHAI

from .models import ClockState, DailyClockOutcome, SlaClock

OutcomeKey = tuple[int, date, str]  # shop, day of the stop, kind

# A clock is met when it stopped with no breach recorded and not after its due time; one
# stopped while paused had its time frozen: met. (The same test as the SQL of
# `count_stopped_clocks`.)
MET = Q(breached_at__isnull=True) & (Q(paused_at__isnull=False) | Q(stopped_at__lte=F("due_at")))


def count_stopped_clocks(clocks: Sequence[SlaClock]) -> None:
    """Add clocks that have just stopped together (one stop time) to their day's outcomes,
    in the stop's transaction and after the stop is written. One statement: whether each was
    met is read from the clock's row as stored (locked by the stop), so a breach that fired
    after the caller read the clock is counted; the day's row is created by the first stop of
    the day (an upsert, as `core.tallies`)."""
    if not clocks:
        return
    stopped_at = clocks[0].stopped_at
    assert stopped_at is not None and all(c.stopped_at == stopped_at for c in clocks)
    quote = connection.ops.quote_name
    table = quote(DailyClockOutcome._meta.db_table)
    day = DailyClockOutcome._meta.get_field("day").get_db_prep_value(
        stopped_at.astimezone(SHANGHAI).date(), connection
    )
    met = (
        "CASE WHEN breached_at IS NULL AND (paused_at IS NOT NULL OR stopped_at <= due_at)"
        " THEN 1 ELSE 0 END"
    )
    ids = [clock.pk for clock in clocks]
    with connection.cursor() as cursor:
        cursor.execute(
            # `WHERE` is required by SQLite's parser before `ON CONFLICT` in `INSERT … SELECT`;
            # grouped, so no key is inserted twice by the one statement.
            f"INSERT INTO {table} (shop_id, day, kind, clocks, met)"
            f" SELECT shop_id, %s, kind, COUNT(*), SUM({met})"
            f" FROM {quote(SlaClock._meta.db_table)}"
            f" WHERE id IN ({', '.join(['%s'] * len(ids))}) GROUP BY shop_id, kind"
            f" ON CONFLICT (shop_id, day, kind) DO UPDATE"
            f" SET clocks = {table}.clocks + excluded.clocks, met = {table}.met + excluded.met",
            [day, *ids],
        )


def recount_clock_outcomes(
    shop_ids: Iterable[int],
) -> tuple[Counter[OutcomeKey], Counter[OutcomeKey]]:
    """(clocks, met) per shop, day and kind, from the clock rows (one aggregate query)."""
    clocks: Counter[OutcomeKey] = Counter()
    met: Counter[OutcomeKey] = Counter()
    for row in (
        SlaClock.objects.filter(shop_id__in=list(shop_ids), state=ClockState.STOPPED)
        .annotate(_day=TruncDate("stopped_at", tzinfo=SHANGHAI))
        .values("shop_id", "_day", "kind")
        .annotate(n=Count("pk"), ok=Count("pk", filter=MET))
        .order_by()
    ):
        key = (row["shop_id"], row["_day"], row["kind"])
        clocks[key] += row["n"]
        if row["ok"]:
            met[key] += row["ok"]
    return clocks, met


def stored_clock_outcomes(
    shop_ids: Iterable[int],
) -> tuple[Counter[OutcomeKey], Counter[OutcomeKey]]:
    clocks: Counter[OutcomeKey] = Counter()
    met: Counter[OutcomeKey] = Counter()
    for row in DailyClockOutcome.objects.filter(shop_id__in=list(shop_ids)):
        key = (row.shop_id, row.day, row.kind)
        if row.clocks:
            clocks[key] = row.clocks
        if row.met:
            met[key] = row.met
    return clocks, met


@transaction.atomic
def rebuild_clock_outcomes(shop_ids: Iterable[int]) -> int:
    """Write the shops' daily outcomes afresh from their clocks; returns the rows written."""
    shop_ids = list(shop_ids)
    DailyClockOutcome.objects.filter(shop_id__in=shop_ids).delete()
    clocks, met = recount_clock_outcomes(shop_ids)
    rows = [
        DailyClockOutcome(shop_id=shop_id, day=day, kind=kind, clocks=n, met=met[key])
        for key, n in clocks.items()
        for shop_id, day, kind in [key]
    ]
    DailyClockOutcome.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
