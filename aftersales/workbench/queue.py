"""The queue: the actor's cases, most urgent first, with filters and counts per bucket.

Urgency is the nearest deadline among the case's **running merchant clocks** (R2.7): the
buyer's own clock (sending the return back) is the buyer's time, not work for the team, and
its expiry is handled by the system (docs/sla.md), so it neither orders the queue nor counts
as at risk or breached. Cases without a running merchant clock come after the others, oldest
application first.

- at risk: a running merchant clock past its at-risk moment, not yet due;
- breached: a running merchant clock past its due time (whether or not the sweep has
  recorded `breached_at` yet; a breached clock keeps running until the work is done).

The case row carries all three (`sla/deadlines.py`: its next deadline, at-risk and breached
flags, kept with the clocks), so the queue reads no clocks to order, filter or count, and
each of its queries is a range of an index on the case table (`Case.Meta.indexes`;
`tests/test_queue_plans_pg.py` checks the plans). The counts read only the cases in view:
for the default view, the open ones, through the partial index of open cases.

The platform's own deadline of a case's step (R5.2: on Douyin `status_deadline`, when the
platform acts by itself) and whether the buyer is a VIP are carried on the case row too
(`Case.platform_deadline`, `Case.buyer_vip`, kept by the services that change them): the
queue can be sorted by the platform's deadline, soonest first, and filtered to the cases it
falls due for within 24 hours or to the VIP buyers' cases, each a range of an index.

Every count is capped (`COUNT_CAP`): a bucket, the pager and the handover badge count up to
999 cases and past that say "999+", so that a view of a million cases ("all statuses", a
shop's whole history) reads at most a thousand index entries per count, not the million.
The six counts are one statement (`capped_counts`).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus, CaseType
from aftersales.cases.fetch import cases_for_actor, search_cases
from aftersales.cases.models import Case, CaseItem
from aftersales.cases.reasons import REASONS
from aftersales.core.actors import Actor
from aftersales.knowledge.services import open_handover_case_ids
from aftersales.platforms.adapter import out_of_sync_case_ids
from aftersales.shops.models import Shop
from aftersales.sla.deadlines import at_risk_q, breached_q
from aftersales.sla.models import ClockKind, ClockState, SlaClock

from . import figures
from .forms import ALL, OPEN, SORT_PLATFORM_DEADLINE, QueueFilterForm

PAGE_SIZE = 50
# The most a count of the queue says exactly: past it, "999+" (`count_text`). Counting reads
# at most COUNT_CAP + 1 rows, whatever the number of cases in view (issue 16).
COUNT_CAP = 999
PLATFORM_DUE_WITHIN = timedelta(hours=24)
# The most cases in view whose items span several categories that the category filter looks
# up by id (`in_category`); past it the database tests their items.
SPANNING_CAP = 1000
# Written as "not terminal", exactly as the partial index of open cases says it, so that
# PostgreSQL sees the query's condition implies the index's.
CLOSED_STATUSES = sorted(TERMINAL_STATUSES)
STATUS_LABELS: dict[str, Any] = dict(CaseStatus.choices)
# The queue's order: the nearest running merchant deadline first, cases without one last.
# NULLS LAST is PostgreSQL's own order for an ascending index: the indexes on (shop,
# next_due_at, applied_at, id) serve it (`Case.Meta.indexes`).
URGENCY = (F("next_due_at").asc(nulls_last=True), "applied_at", "pk")


def out_of_sync_ids(actor: Actor) -> set[int]:
    """The actor's cases whose platform state differs from ours, as their platforms' adapters
    say (a refused decision, or drift from the platform's last known state)."""
    return out_of_sync_case_ids(actor.shop_roles)


def handover_case_ids(actor: Actor) -> QuerySet[Any, Any]:
    """The actor's cases the bot handed to a person and nobody has answered yet (R10.1)."""
    return open_handover_case_ids(list(actor.shop_roles))


def searching(filters: dict[str, Any]) -> bool:
    return bool((filters.get("q") or "").strip())


def status_scope(filters: dict[str, Any]) -> str:
    """Which statuses the queue shows: the open ones by default, every status for a search
    (a finished case is found too) or when asked, else the one chosen."""
    status = filters.get("status") or OPEN
    if status == OPEN and searching(filters):
        return ALL
    return status


def all_bucket_label(filters: dict[str, Any]) -> Any:
    """The first bucket's words say what it counts: open cases only when it counts them."""
    scope = status_scope(filters)
    if scope == OPEN:
        return _("All open")
    if scope == ALL:
        return _("All statuses")
    return STATUS_LABELS.get(scope, scope)


def filtered(
    actor: Actor,
    filters: dict[str, Any],
    *,
    out_of_sync: set[int] | None = None,
    now: datetime | None = None,
) -> QuerySet[Case]:
    """The actor's cases matching the filters that are not buckets. `out_of_sync` (from
    `out_of_sync_ids`) is needed for the "out of sync only" filter, `now` for the platform
    deadline's."""
    qs = cases_for_actor(actor)
    if filters.get("platform_due"):
        # Still ahead and within 24 h: past it, the platform has acted already.
        start = now or timezone.now()
        qs = qs.filter(
            platform_deadline__gte=start, platform_deadline__lte=start + PLATFORM_DUE_WITHIN
        )
    if filters.get("out_of_sync"):
        qs = qs.filter(pk__in=sorted(out_of_sync if out_of_sync is not None else set()))
        # Whatever their status unless one is chosen: a case closed here can still differ
        # from the platform, and the filter's count counts it.
        filters = {**filters, "status": filters.get("status") or ALL}
    status = status_scope(filters)
    if status == ALL:
        pass
    elif status != OPEN:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status__in=CLOSED_STATUSES)
    for name in ("type", "reason"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("shop"):
        qs = qs.filter(shop_id=filters["shop"])
    if filters.get("vip"):
        qs = qs.filter(buyer_vip=True)  # the buyer's level now (`Case.buyer_vip`)
    if filters.get("category"):
        qs = in_category(qs, filters["category"])
    return search_cases(qs, actor, filters.get("q") or "")


def in_category(qs: QuerySet[Case], category: str) -> QuerySet[Case]:
    """The cases of `qs` with an item of the category: those whose products share it, as
    the case row carries it (`Case.product_category`: a range of
    `case_shop_category_urgency`, in the queue's order), and those of the rare cases in
    view whose items span several categories (they carry none) with an item of it, added
    by id: the blank ones in view first (a range of the same index, at most
    SPANNING_CAP), then their items by the items' case index. An `OR` of the carried field
    and a test of the items in one statement made PostgreSQL walk every case in view and
    hash every item of the category, the history's too; so does a semi-join of the blank
    cases with the items. Past the cap the database tests the blank cases' items itself."""
    blank = list(
        qs.filter(product_category="").order_by().values_list("pk", flat=True)[: SPANNING_CAP + 1]
    )
    if not blank:
        return qs.filter(product_category=category)
    if len(blank) > SPANNING_CAP:
        items = CaseItem.objects.filter(
            case=OuterRef("pk"), order_item__sku__product__category=category
        )
        return qs.filter(Q(product_category=category) | (Q(product_category="") & Exists(items)))
    spanning = sorted(
        set(
            CaseItem.objects.filter(
                case_id__in=blank, order_item__sku__product__category=category
            ).values_list("case_id", flat=True)
        )
    )
    if not spanning:
        return qs.filter(product_category=category)
    return qs.filter(Q(product_category=category) | Q(pk__in=spanning))


def cases_for_export(actor: Actor, filters: dict[str, Any]) -> QuerySet[Case]:
    """The cases of the queue as `filters` (its query parameters, as the page got them)
    select them, buckets included: what the Excel export of the queue writes (R8.7), through
    `settings.AFTERSALES_CASE_LIST_FILTER`. Only the actor's shops; an invalid parameter
    counts as not given, as on the page."""
    shops = list(
        Shop.objects.filter(pk__in=list(actor.shop_roles))
        .order_by("name")
        .values_list("pk", "name")
    )
    parsed = QueueFilterForm(filters, shops=shops).filters()
    now = timezone.now()
    base = filtered(actor, parsed, out_of_sync=out_of_sync_ids(actor), now=now)
    return in_buckets(base, actor, parsed, now)


def in_buckets(
    qs: QuerySet[Case], actor: Actor, filters: dict[str, Any], now: datetime
) -> QuerySet[Case]:
    if filters.get("assignee") == "mine":
        qs = qs.filter(assignee_id=actor.user_id)
    elif filters.get("assignee") == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.get("sla") == "at_risk":
        qs = qs.filter(at_risk_q(now))
    elif filters.get("sla") == "breached":
        qs = qs.filter(breached_q(now))
    if filters.get("handover"):
        qs = qs.filter(pk__in=handover_case_ids(actor))
    return qs


def bucket_counts(
    qs: QuerySet[Case], actor: Actor, now: datetime, *, few: bool = False
) -> dict[str, int]:
    """How many cases each bucket holds under the other filters, each counted up to
    `COUNT_CAP` (a value above it means "more than COUNT_CAP"): each count is a range of one
    index on the case table that stops after COUNT_CAP + 1 rows (for the default view the
    partial indexes of open cases, by assignee for "mine"; at risk and breached from the
    fields the case carries, breached in three parts, `breached_parts`), all six in one
    statement. `few` (a search) is kept for the callers: the carried fields make both ways
    the same."""
    counts = capped_counts(
        {
            "all": qs,
            "mine": qs.filter(assignee_id=actor.user_id),
            "unassigned": qs.filter(assignee__isnull=True),
            "at_risk": qs.filter(at_risk_q(now)),
            **{f"breached_{n}": part for n, part in enumerate(breached_parts(qs, now))},
            "handover": qs.filter(pk__in=handover_case_ids(actor)),
        }
    )
    breached = sum(counts.pop(name) for name in list(counts) if name.startswith("breached_"))
    return {**counts, "breached": min(breached, COUNT_CAP + 1)}


def breached_parts(qs: QuerySet[Case], now: datetime) -> list[QuerySet[Case]]:
    """`breached_q` as three parts that do not overlap, each a range of an index, for the
    capped count: the deadline carried has passed (`case_open_urgency`, or
    `case_shop_urgency` for every status); a breach recorded with the deadline still ahead;
    a breach recorded with no deadline (`case_sla_breached` both). Counted as one `OR`, the
    planner read the table from its start to find the first thousand: over every status,
    where the open cases are the newest rows, 300,000 rows and 64 ms at 1M cases; with the
    deadline's `OR … IS NULL` in one part, every breached case's row (issue 16)."""
    recorded = qs.filter(sla_breached=True)
    return [
        qs.filter(next_due_at__lte=now),
        recorded.filter(next_due_at__gt=now),
        recorded.filter(next_due_at__isnull=True),
    ]


def capped_counts(querysets: dict[str, QuerySet[Case]]) -> dict[str, int]:
    """The number of rows of each queryset up to COUNT_CAP + 1, in one statement: a scalar
    `SELECT COUNT(*) FROM (… LIMIT COUNT_CAP + 1)` per queryset, so each stops reading once
    it is past the cap (a plain COUNT reads every row in view). Unordered: the planner picks
    the cheapest range of an index for each (ordering them as the page made it sort every
    matching row first: 4× slower at 1M cases, docs/benchmarks.md). A queryset that can
    match nothing counts 0."""
    parts: list[str] = []
    params: list[Any] = []
    names = list(querysets)
    alias = querysets[names[0]].db
    for i, name in enumerate(names):
        limited = querysets[name].order_by().values_list("pk")[: COUNT_CAP + 1]
        try:
            sql, part_params = limited.query.sql_with_params()
        except EmptyResultSet:  # e.g. "out of sync" with nothing out of sync
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{i})")
        params.extend(part_params)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(names, (int(n) for n in row), strict=True))


def count_of(qs: QuerySet[Case]) -> int:
    """One queryset's count, capped as the buckets' are."""
    return capped_counts({"count": qs})["count"]


def is_exact(count: int) -> bool:
    return count <= COUNT_CAP


def count_text(count: int) -> str:
    """A count as the queue shows it: the number, or "999+" past the cap."""
    if is_exact(count):
        return str(count)
    return str(_("%(count)s+") % {"count": COUNT_CAP})


def count_title(count: int) -> str:
    """The words behind a capped count (the tab's tooltip), empty for an exact one."""
    if is_exact(count):
        return ""
    return str(_("More than %(count)s cases: not counted further") % {"count": COUNT_CAP})


def most_urgent_first(qs: QuerySet[Case], sort: str = "") -> QuerySet[Any, int]:
    """Ordered by the nearest running merchant deadline (which the case carries), cases
    without one last, as ids only: for one shop the order of the index `case_open_urgency`,
    so a page is a range read of it. Sorted by the platform's deadline instead, soonest
    first, cases without one last (then the most urgent first among them): the order of
    `case_shop_platform_due` and, for the open cases, `case_open_platform_due`."""
    order: list[Any] = list(URGENCY)
    if sort == SORT_PLATFORM_DEADLINE:
        order.insert(0, F("platform_deadline").asc(nulls_last=True))
    return qs.order_by(*order).values_list("pk", flat=True)


@dataclass(frozen=True)
class Page:
    """A page of the queue; the names are those of Django's paginator, for the template.
    `count` is capped (`COUNT_CAP`): past the cap the number of pages is not known, and
    whether there is a next page is read from the page's own ids (`more`)."""

    number: int
    count: int
    cases: list[QueueCase]
    more: bool = False  # a case follows this page's last

    @property
    def exact(self) -> bool:
        return is_exact(self.count)

    @property
    def count_text(self) -> str:
        return count_text(self.count)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // PAGE_SIZE))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


@dataclass(slots=True)
class QueueCase:
    """A case as its queue row shows it: plain values, no model objects. Building a case,
    its order, buyer, shop and assignee as models cost ~4 ms of a page of 50 (issue 16).
    The fields come in the order of `ROW_COLUMNS`, then the nearest running merchant
    clock's and the handover's (`page_of`)."""

    pk: int
    shop_id: int
    assignee_id: int | None
    platform_case_id: str | None
    status: str
    type: str
    reason: str
    requested_amount_fen: int
    applied_at: datetime
    platform_deadline: datetime | None
    platform_order_id: str
    buyer_platform_id: str
    buyer_nickname: str
    buyer_phone: str
    buyer_vip_level: int
    shop_name: str
    assignee_username: str | None
    assignee_first_name: str | None
    assignee_last_name: str | None
    clock_kind: str | None
    clock_due_at: datetime | None
    clock_at_risk_at: datetime | None
    clock_breached_at: datetime | None
    handed_over: bool

    @property
    def assignee_name(self) -> str:
        """As `User.get_full_name() or get_username()`."""
        full = f"{self.assignee_first_name or ''} {self.assignee_last_name or ''}".strip()
        return full or self.assignee_username or ""


# Where `QueueCase`'s fields before the clock's come from, in its order: the only columns a
# page reads (the whole case with its order's snapshot and address, as models, cost a third
# of the page's own time at 1M cases).
ROW_COLUMNS = (
    "pk",
    "shop_id",
    "assignee_id",
    "platform_case_id",
    "status",
    "type",
    "reason",
    "requested_amount_fen",
    "applied_at",
    "platform_deadline",
    "order__platform_order_id",
    "order__buyer__platform_buyer_id",
    "order__buyer__nickname",
    "order__buyer__phone",
    "order__buyer__vip_level",
    "shop__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


@cache
def nearest_clock(field: str) -> RawSQL:
    """A field of the case's nearest running merchant clock, the one the queue's row shows:
    the earliest due, the lowest id among equals, so that each field asked comes from the
    same clock: an index probe of the case's clocks per case.

    Written as SQL once per process: as a Django `Subquery` each of the row query's four
    was compiled again on every page view, ~0.8 ms each (issue 16). The outer table is
    the page query's own, `cases_case`, which Django does not alias."""
    clock, case = SlaClock._meta, Case._meta
    fields = {f.name: f for f in clock.concrete_fields}
    col = {name: fields[name].column for name in (field, "case", "state", "due_at")}
    buyers = fields["is_buyer_clock"].column
    sql = (
        f'SELECT c."{col[field]}" FROM "{clock.db_table}" c'
        f' WHERE c."{col["case"]}" = "{case.db_table}"."{case.pk.column}"'
        f' AND c."{col["state"]}" = %s AND NOT c."{buyers}"'
        f' ORDER BY c."{col["due_at"]}", c."{clock.pk.column}" LIMIT 1'
    )
    return RawSQL(sql, (ClockState.RUNNING.value,), output_field=fields[field])


def page_of(
    qs: QuerySet[Case], number: int, count: int, *, sort: str = "", shop_ids: list[int]
) -> Page:
    """One page: the ordered ids first (no joins while sorting), one more than a page to
    know whether another follows, then those 50 cases with what their rows show, in one
    query: the fields of `ROW_FIELDS` with their order, buyer, shop and assignee, their
    nearest running merchant clock (`nearest_clock`, one index probe per case and field)
    and whether the bot handed them over (R10.1; `shop_ids` are the actor's shops). These
    were three queries; at 1M cases a statement costs ~1 ms of round trip and query
    building on a loaded machine (issue 16). With an exact count a page past the last is
    the last; past the cap the pages are not counted and a page past the end is empty."""
    number = max(1, number)
    if is_exact(count):
        number = min(number, max(1, -(-count // PAGE_SIZE)))
    start = (number - 1) * PAGE_SIZE
    ids = list(most_urgent_first(qs, sort)[start : start + PAGE_SIZE + 1]) if count else []
    more = len(ids) > PAGE_SIZE
    ids = ids[:PAGE_SIZE]
    if not ids:
        return Page(number=number, count=count, cases=[], more=more)
    handovers = open_handover_case_ids(shop_ids).filter(case_id=OuterRef("pk"))
    found = (
        Case.objects.filter(pk__in=ids)
        .annotate(
            clock_kind=nearest_clock("kind"),
            clock_due_at=nearest_clock("due_at"),
            clock_at_risk_at=nearest_clock("at_risk_at"),
            clock_breached_at=nearest_clock("breached_at"),
            handed_over=Exists(handovers),
        )
        .values_list(
            *ROW_COLUMNS,
            "clock_kind",
            "clock_due_at",
            "clock_at_risk_at",
            "clock_breached_at",
            "handed_over",
        )
    )
    by_id = {row[0]: QueueCase(*row) for row in found}
    return Page(
        number=number, count=count, cases=[by_id[pk] for pk in ids if pk in by_id], more=more
    )


@dataclass
class Row:
    """A case in the queue with its nearest deadline."""

    case: QueueCase
    due_at: datetime | None
    clock_label: str
    at_risk: bool
    breached: bool
    seconds_left: int | None
    status_label: str = ""
    type_label: str = ""
    reason_label: str = ""
    out_of_sync: bool = False  # the platform's state differs from the case's
    amount_words: str = ""  # instead of an amount, for a case that refunds nothing
    handed_over: bool = False  # the bot handed the buyer over and nobody has answered yet
    # When the platform acts by itself on the case's step (R5.2), if it set a deadline.
    platform_deadline: datetime | None = None


def rows_for(
    cases: list[QueueCase], now: datetime, *, out_of_sync: AbstractSet[int] = frozenset()
) -> list[Row]:
    """The page's rows with the nearest clock of each, from the cases as `page_of` loads
    them (their `clock_*` and `handed_over`): no query of its own.

    The labels are looked up in dictionaries made once per page: `get_status_display`
    translates every choice of the field on each call, which for 50 rows and three fields
    cost more than all the queries."""
    statuses = {value: str(label) for value, label in CaseStatus.choices}
    types = {value: str(label) for value, label in CaseType.choices}
    reasons = {code: str(reason.label) for code, reason in REASONS.items()}
    kinds = {value: str(label) for value, label in ClockKind.choices}
    rows = []
    for case in cases:
        due_at = case.clock_due_at
        row = Row(case, None, "", False, False, None)
        if due_at is not None:
            left: timedelta = due_at - now
            kind = case.clock_kind or ""
            at_risk_at = case.clock_at_risk_at
            row = Row(
                case=case,
                due_at=due_at,
                clock_label=kinds.get(kind, kind),
                # `sla.services.is_at_risk` of a running clock: its at-risk moment passed.
                at_risk=at_risk_at is not None and at_risk_at <= now < due_at,
                breached=due_at <= now or case.clock_breached_at is not None,
                seconds_left=int(left.total_seconds()),
            )
        row.status_label = statuses.get(case.status, case.status)
        row.type_label = types.get(case.type, case.type)
        row.reason_label = reasons.get(case.reason, case.reason)
        row.out_of_sync = case.pk in out_of_sync
        row.handed_over = bool(case.handed_over)
        row.platform_deadline = case.platform_deadline
        row.amount_words = str(figures.amount_words(case))
        rows.append(row)
    return rows
