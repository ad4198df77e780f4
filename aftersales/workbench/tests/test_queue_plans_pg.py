"""Issue 16: every query the queue runs reads the case table through an index, on PostgreSQL.

Proves: with 40,000 cases in the shop under test (5 % open, the rest history) and 4,000 in
another shop, and the table's statistics gathered, the plan of each query that the queue
page runs for each filter the UI offers, each bucket and each sort has no sequential scan on
`cases_case`: the default view reads only the open cases (the partial index
`case_open_urgency`), the buckets' counts read the rows in view and no more, the at-risk and
breached buckets read the carried fields, not the clocks. Skipped on SQLite (its planner is
another matter; the queue's behaviour is tested on both in `test_queue.py`).

No timing is asserted: the plans are the property (bench/queue.py measures the time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from aftersales import testing
from aftersales.cases.models import Case

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]

CASES = 40_000
OTHER_SHOP_CASES = 4_000
OPEN_EVERY = 20  # 5 % of the cases are open
FILL_CATEGORIES = ["apparel", "food", "beauty", "electronics", "home", "general"]

# Every filter of the queue form, each bucket, each sort (workbench/forms.py:QueueFilterForm).
SCENARIOS = [
    "/",
    "/?page=3",
    "/?status=pending_review",
    "/?status=awaiting_return",
    "/?type=exchange",
    "/?reason=quality_issue",
    "/?type=exchange&reason=quality_issue",
    "/?category=electronics",
    "/?vip=on",
    "/?out_of_sync=on",
    "/?platform_due=on",
    "/?assignee=mine",
    "/?assignee=unassigned",
    "/?sla=at_risk",
    "/?sla=breached",
    "/?assignee=mine&sla=at_risk",
    "/?handover=on",
    "/?sort=platform_deadline",
    "/?platform_due=on&sort=platform_deadline",
    "/?vip=on&sort=platform_deadline",
    "/?vip=on&assignee=mine",
    "/?vip=on&sla=breached",
    "/?category=electronics&type=exchange",
    "/?category=electronics&assignee=mine",
    "/?category=electronics&sla=breached",
    "/?category=electronics&sort=platform_deadline",
    "/?shop={shop}",
    "/?q=12345",
    "/?q=%E4%B9%B0%E5%AE%B612",  # 买家12: a nickname's beginning
    "/?q=1234",  # a phone's last four digits
    # Every status: the whole history in view (its counts stop at their cap).
    "/?status=all",
    "/?status=all&page=3",
    "/?status=all&assignee=mine",
    "/?status=all&assignee=unassigned",
    "/?status=all&sla=at_risk",
    "/?status=all&sla=breached",
    "/?status=all&handover=on",
    "/?status=all&type=exchange",
    "/?status=all&reason=quality_issue",
    "/?status=all&type=exchange&reason=quality_issue",
    "/?status=all&category=electronics",
    "/?status=all&category=electronics&assignee=mine",
    "/?status=all&category=electronics&type=exchange",
    "/?status=all&vip=on",
    "/?status=all&platform_due=on",
    "/?status=all&sort=platform_deadline",
    "/?status=all&sort=platform_deadline&page=3",
    "/?status=all&platform_due=on&sort=platform_deadline",
    "/?status=all&vip=on&sort=platform_deadline",
    "/?status=all&vip=on&assignee=mine",
    "/?status=all&type=exchange&sort=platform_deadline",
    "/?status=all&shop={shop}",
    "/?status=completed",
    "/?status=closed&assignee=mine",
    "/?status=all&q=12345",
]

# Every filter and ordering of the API's case list (`api.list_cases`, `CaseFilters`).
API_SCENARIOS = [
    "/api/v1/cases",
    "/api/v1/cases?offset=200",
    "/api/v1/cases?shop_id={shop}",
    "/api/v1/cases?status=pending_review",
    "/api/v1/cases?status=pending_review&status=awaiting_return",
    "/api/v1/cases?status=completed",
    "/api/v1/cases?type=exchange",
    "/api/v1/cases?reason=quality_issue",
    "/api/v1/cases?type=exchange&reason=quality_issue",
    "/api/v1/cases?refund_status=refunded",
    "/api/v1/cases?refund_status=failed",
    "/api/v1/cases?return_status=in_transit",
    "/api/v1/cases?dispute_status=negotiating",
    "/api/v1/cases?assignee=me",
    "/api/v1/cases?assignee=none",
    "/api/v1/cases?assignee={alice}",
    "/api/v1/cases?priority=2",
    "/api/v1/cases?applied_after=2026-01-01T00:00:00%2B08:00",
    "/api/v1/cases?applied_before=2026-01-01T00:00:00%2B08:00",
    "/api/v1/cases?q=12345",
    "/api/v1/cases?order_by=applied_at",
    "/api/v1/cases?order_by=-updated_at",
    "/api/v1/cases?order_by=-priority",
    "/api/v1/cases?status=pending_review&order_by=-priority",
]


def _defaults(tables: list[str]) -> None:
    """The models' defaults as the columns' defaults (inside the test's transaction), so the
    INSERTs below name only what they choose."""
    from django.apps import apps

    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.db_table not in tables:
                continue
            for field in model._meta.concrete_fields:
                if field.null or field.primary_key or field.is_relation:
                    continue
                default = field.get_default()  # "" for text without a default of its own
                if default is None or isinstance(default, dict | list):
                    continue
                value = field.get_db_prep_save(default, connection)
                cursor.execute(
                    f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}"'
                    " SET DEFAULT %s",
                    [value],
                )


def _fill(shop_id: int, sku_ids: list[int], count: int, assignee: int | None) -> None:
    """`count` cases with their orders, items and clocks, written by the server; the carried
    SLA fields computed from the clocks as `sla.deadlines.refresh_case_deadlines` does, the
    carried category from the items' products as `open_case` does (a finished case in 101
    has a second item of another category: it carries none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            -- One buyer in 13 a VIP: not a divisor of the open cases' 20, so that open cases
            -- of VIP buyers exist.
            INSERT INTO orders_buyer (shop_id, platform_buyer_id, nickname, phone, vip_level)
            SELECT %(shop)s, 'pb' || %(shop)s || '-' || i, '买家' || i,
                   '138' || lpad(i::text, 8, '0'), CASE WHEN i %% 13 = 0 THEN 1 ELSE 0 END
            FROM generate_series(1, %(n)s / 5) i
            """,
            {"shop": shop_id, "n": count},
        )
        cursor.execute("SELECT min(id), max(id) FROM orders_buyer WHERE shop_id = %s", [shop_id])
        low, high = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO orders_order (shop_id, buyer_id, platform_order_id, status, paid_at)
            SELECT %(shop)s, %(low)s + i %% (%(high)s - %(low)s + 1), 'po' || %(shop)s || '-' || i,
                   'delivered', now() - interval '10 days'
            FROM generate_series(1, %(n)s) i
            """,
            {"shop": shop_id, "low": low, "high": high, "n": count},
        )
        cursor.execute(
            """
            INSERT INTO orders_orderitem (shop_id, order_id, sku_id, platform_item_id, quantity,
                list_price_fen, paid_amount_fen)
            SELECT shop_id, id, (%(skus)s::integer[])[1 + (id / 7) %% %(n)s], 'pi' || id, 1,
                   9900, 8800
            FROM orders_order WHERE shop_id = %(shop)s AND platform_order_id LIKE 'po%%'
            UNION ALL
            SELECT shop_id, id, (%(skus)s::integer[])[1 + (id / 7 + 1) %% %(n)s], 'pj' || id, 1,
                   9900, 8800
            FROM orders_order
            WHERE shop_id = %(shop)s AND platform_order_id LIKE 'po%%' AND id %% 101 = 0
                AND id %% %(every)s <> 0
            """,
            {"skus": sku_ids, "n": len(sku_ids), "shop": shop_id, "every": OPEN_EVERY},
        )
        cursor.execute(
            """
            INSERT INTO cases_case (shop_id, order_id, platform_case_id, type, reason, status,
                applied_at, updated_at, assignee_id, order_snapshot, refund_status,
                return_status, dispute_status, priority, buyer_vip, platform_deadline)
            SELECT o.shop_id, o.id, 'pc' || o.id,
                   (ARRAY['return_refund', 'refund_shipped', 'exchange'])[1 + o.id %% 3],
                   (ARRAY['quality_issue', 'wrong_size', 'no_reason'])[1 + (o.id / 3) %% 3],
                   CASE WHEN o.id %% %(every)s = 0
                        THEN (ARRAY['pending_review', 'awaiting_return'])[1 + (o.id / 20) %% 2]
                        WHEN o.id %% 5 = 0 THEN 'closed' ELSE 'completed' END,
                   now() - (o.id %% 1000) * interval '1 hour',
                   now() - (o.id %% 1000) * interval '1 hour',
                   CASE WHEN o.id %% 3 = 0 THEN %(assignee)s::integer END, '{}',
                   CASE WHEN o.id %% 20 <> 0 AND o.id %% 5 <> 0 THEN 'refunded'
                        WHEN o.id %% 97 = 0 THEN 'failed' ELSE 'none' END,
                   CASE WHEN o.id %% 40 = 20 THEN 'awaiting_shipment'
                        WHEN o.id %% 61 = 0 THEN 'in_transit' ELSE 'not_required' END,
                   CASE WHEN o.id %% 89 = 0 THEN 'negotiating' ELSE 'none' END,
                   CASE WHEN o.id %% 53 = 0 THEN 2 WHEN o.id %% 7 = 0 THEN 1 ELSE 0 END,
                   b.vip_level > 0,
                   -- The platform's deadline (on Douyin): for most open cases, from 12 hours
                   -- ago to 2.5 days ahead; a past one for a tenth of the history.
                   CASE WHEN o.id %% %(every)s = 0 AND o.id %% 3 <> 0
                        THEN now() + ((o.id %% 72) - 12) * interval '1 hour'
                        WHEN o.id %% 10 = 1 THEN now() - (o.id %% 500) * interval '1 hour'
                   END
            FROM orders_order o JOIN orders_buyer b ON b.id = o.buyer_id
            WHERE o.shop_id = %(shop)s AND o.platform_order_id LIKE 'po%%'
            """,
            {"shop": shop_id, "every": OPEN_EVERY, "assignee": assignee},
        )
        cursor.execute(
            """
            INSERT INTO cases_caseitem (case_id, order_item_id, quantity)
            SELECT c.id, oi.id, 1 FROM cases_case c
            JOIN orders_orderitem oi ON oi.order_id = c.order_id
            WHERE c.shop_id = %s AND c.platform_case_id LIKE 'pc%%'
            """,
            [shop_id],
        )
        cursor.execute(
            """
            UPDATE cases_case c SET product_category = m.category
            FROM (
                SELECT ci.case_id, min(p.category) AS category
                FROM cases_caseitem ci
                JOIN orders_orderitem oi ON oi.id = ci.order_item_id
                JOIN catalog_sku s ON s.id = oi.sku_id
                JOIN catalog_product p ON p.id = s.product_id
                WHERE oi.shop_id = %s
                GROUP BY ci.case_id HAVING count(DISTINCT p.category) = 1
            ) m
            WHERE c.id = m.case_id
            """,
            [shop_id],
        )
        cursor.execute(
            """
            INSERT INTO sla_slaclock (shop_id, case_id, kind, state, started_at, due_at,
                at_risk_at, stopped_at, is_buyer_clock, policy_version)
            SELECT c.shop_id, c.id, 'review',
                   CASE WHEN c.status IN ('completed', 'closed') THEN 'stopped'
                        ELSE 'running' END,
                   c.applied_at, now() + ((c.id %% 96) - 24) * interval '1 hour',
                   now() + ((c.id %% 96) - 30) * interval '1 hour',
                   CASE WHEN c.status IN ('completed', 'closed') THEN now() END,
                   c.status = 'awaiting_return', 'plans@test'
            FROM cases_case c WHERE c.shop_id = %s AND c.platform_case_id LIKE 'pc%%'
            """,
            [shop_id],
        )
    from aftersales.sla.deadlines import refresh_case_deadlines

    refresh_case_deadlines(
        Case.objects.filter(shop_id=shop_id, status__in=["pending_review", "awaiting_return"])
        .values_list("pk", flat=True)
        .iterator()
    )


@pytest.fixture
def filled(shop_a, shop_b, alice) -> Iterator[dict[str, Any]]:
    # Before any row of these tables is written: a pending foreign-key check forbids ALTER.
    _defaults(["orders_buyer", "orders_order", "orders_orderitem", "cases_case"])
    # A product and a sku of each category of FILL_CATEGORIES in each shop.
    lines = [testing.Line(category=c) for c in FILL_CATEGORIES]
    order = testing.make_order(shop_a, lines=lines)
    other = testing.make_order(shop_b, lines=lines)
    skus = [list(o.items.order_by("pk").values_list("sku_id", flat=True)) for o in (order, other)]
    _fill(shop_a.pk, skus[0], CASES, alice.pk)
    _fill(shop_b.pk, skus[1], OTHER_SHOP_CASES, None)
    with connection.cursor() as cursor:
        for table in (
            "cases_case",
            "cases_caseitem",
            "orders_order",
            "orders_orderitem",
            "orders_buyer",
            "sla_slaclock",
        ):
            cursor.execute(f"ANALYZE {table}")
    yield {"shop": shop_a.pk, "alice": alice.pk}


def _captured(client: Any, path: str) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        response = client.get(path)
    assert response.status_code == 200, path
    return [(sql, params) for sql, params in statements if '"cases_case"' in sql]


def _plan(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _nodes(sql: str, params: Any) -> Iterator[dict[str, Any]]:
    """Every node of the statement's plan."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("Plans", []))


@contextmanager
def _seqscan(*, off: bool) -> Iterator[None]:
    """Sequential scans priced out for the plans asked inside (in the test's transaction)."""
    if not off:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")


def _unbounded_reads(sql: str, params: Any) -> list[str]:
    """The plan's reads of the case table that are not a range of an index: a sequential
    scan, or an index walked whole (an index or index-only scan with no index condition)."""
    found = []
    for node in _nodes(sql, params):
        if node.get("Relation Name") != "cases_case":
            continue
        if node["Node Type"] == "Seq Scan":
            found.append("Seq Scan")
        elif node["Node Type"] in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
            found.append(f"{node['Node Type']} of all of {node['Index Name']}")
    return found


def test_issue_16_no_query_of_the_queue_scans_the_case_table(client, alice, filled):
    client.force_login(alice)
    scanned = {}
    for path in SCENARIOS:
        path = path.format(**filled)
        statements = _captured(client, path)
        # Only "out of sync" with nothing out of sync asks nothing: an empty id list.
        assert statements or "out_of_sync" in path, path
        for sql, params in statements:
            # The capped counts (`queue.capped_counts`) stop after COUNT_CAP + 1 rows: where
            # most rows in view match, the planner may read the table from its start and stop
            # there (at 1M cases, "breached" over every status: 2,300 rows, 0.6 ms). Asked
            # with sequential scans priced out, each must have an index range to read.
            capped = sql.startswith("SELECT (SELECT COUNT(*) FROM (")
            # The case table itself; its items' table (cases_caseitem) is another matter.
            with _seqscan(off=capped):
                if reads := _unbounded_reads(sql, params):
                    scanned[path] = f"{reads}\n{sql[:400]}\n{_plan(sql, params)}"
    assert not scanned, "\n\n".join(f"{path}:\n{plan}" for path, plan in scanned.items())


def test_issue_16_sorting_every_status_by_the_platform_deadline_reads_an_index(
    client, alice, filled
):
    """The platform's deadline is carried on the case row (`Case.platform_deadline`): the
    page of the whole history sorted by it is a range of `case_shop_platform_due` in its
    order, not a subquery per case and a sort of every row."""
    client.force_login(alice)
    scanned = {}
    for sql, params in _captured(client, "/?status=all&sort=platform_deadline"):
        # The capped counts as in the test above: an index range once scans are priced out.
        with _seqscan(off=sql.startswith("SELECT (SELECT COUNT(*) FROM (")):
            if reads := _unbounded_reads(sql, params):
                scanned[sql[:200]] = reads
    assert not scanned, scanned
    page = _page_query(client, "/?status=all&sort=platform_deadline")
    assert _sorted_rows(*page) == 0, _plan(*page)
    assert "case_shop_platform_due" in _plan(*page), _plan(*page)


def _page_query(client: Any, path: str) -> tuple[str, Any]:
    """The page's query of ordered ids (`queue.most_urgent_first`): ordered, one more row
    than a page."""
    from aftersales.workbench.queue import PAGE_SIZE

    statements = _captured(client, path)
    found = [
        (sql, params)
        for sql, params in statements
        if "ORDER BY" in sql and f"LIMIT {PAGE_SIZE + 1}" in sql and "COUNT(" not in sql
    ]
    assert len(found) == 1, (path, [sql[:300] for sql, _ in statements])
    return found[0]


def _sorted_rows(sql: str, params: Any) -> int:
    """How many Sort nodes the plan has (a page read in an index's order has none)."""
    return sum(
        1 for node in _nodes(sql, params) if node["Node Type"] in ("Sort", "Incremental Sort")
    )


# The filters and sorts on the fields the case row carries for them (issue 16), each with the
# index whose range its page reads, in the page's order (no sort of the matching rows).
CARRIED = {
    "/?vip=on": {"case_open_vip_urgency", "case_vip_urgency"},
    "/?status=all&vip=on": {"case_vip_urgency"},
    "/?status=all&type=exchange": {"case_shop_type_urgency"},
    "/?status=all&reason=quality_issue": {"case_shop_reason_urgency"},
    "/?status=all&type=exchange&reason=quality_issue": {
        "case_shop_type_urgency",
        "case_shop_reason_urgency",
    },
    "/?sort=platform_deadline": {"case_open_platform_due"},
    "/?status=all&sort=platform_deadline": {"case_shop_platform_due"},
    # The open cases' categories: none spans several here (finished ones do, see
    # `test_issue_16_cases_spanning_categories_are_found_by_a_range_then_by_id`).
    "/?category=electronics": {"case_open_category_urgency"},
    "/?category=electronics&type=exchange": {"case_open_category_urgency"},
    # One assignee's open cases, or nobody's: "mine" and "unassigned" of the default view
    # (most open cases are nobody's here: the open cases' own range, filtered, stops as soon).
    "/?assignee=mine": {"case_open_assignee_urgency"},
    "/?assignee=unassigned": {"case_open_assignee_urgency", "case_open_urgency"},
}


def test_issue_16_the_carried_fields_pages_are_ranges_of_their_indexes_in_order(
    client, alice, filled
):
    """Each filter or sort on a carried field (VIP, the platform's deadline) and the type or
    reason over every status: the page's ordered ids come from a range of the field's index,
    read in the page's order, so the page stops after 51 rows whatever the size."""
    client.force_login(alice)
    wrong = {}
    for path, indexes in CARRIED.items():
        sql, params = _page_query(client, path)
        plan = _plan(sql, params)
        if not any(name in plan for name in indexes) or _sorted_rows(sql, params):
            wrong[path] = plan
    assert not wrong, "\n\n".join(f"{path}:\n{plan}" for path, plan in wrong.items())


def test_issue_16_the_platform_deadline_filter_is_a_range_of_its_index(client, alice, filled):
    """ "Platform deadline within 24 h" reads the cases due in that window from the index
    on the carried deadline, not every open case's after-sale."""
    client.force_login(alice)
    for path in ("/?platform_due=on", "/?status=all&platform_due=on"):
        sql, params = _page_query(client, path)
        plan = _plan(sql, params)
        assert "platform_due" in plan and "platform_deadline >=" in plan, plan


def test_issue_16_no_query_of_the_api_case_list_scans_the_case_table(client, alice, filled):
    """The API's case list (`GET /api/v1/cases`), each filter and ordering an integrator can
    ask for: its page and its capped count each have a range of an index on the case table
    to read (its first column the shop), never only a sequential scan or a whole index.

    With sequential scans priced out (`enable_seqscan = off`): at this test's 40,000 cases
    the planner finds reading the whole table and sorting one type's 13,000 rows cheaper
    than an index for the count of up to 10,001; at a million it is not (bench/queue.py
    `--explain`). The question here is whether an index serves every filter: the planner
    still falls back to a sequential scan where none does."""
    client.force_login(alice)
    unbounded = {}
    for path in API_SCENARIOS:
        path = path.format(**filled)
        statements = _captured(client, path)
        assert statements, path
        with _seqscan(off=True):
            for sql, params in statements:
                if reads := _unbounded_reads(sql, params):
                    unbounded[path] = f"{reads}\n{sql[:400]}\n{_plan(sql, params)}"
    assert not unbounded, "\n\n".join(f"{path}:\n{plan}" for path, plan in unbounded.items())


def test_issue_16_the_counts_of_every_status_stop_at_the_cap(client, alice, filled):
    """With the whole history in view (40,000 cases), each bucket's count is a LIMIT of
    COUNT_CAP + 1 rows, not a count of all of them."""
    from aftersales.workbench.queue import COUNT_CAP

    client.force_login(alice)
    counts = [s for s in _captured(client, "/?status=all") if "COUNT(" in s[0]]
    assert len(counts) == 1  # the six buckets in one statement, "breached" in three parts
    sql, params = counts[0]
    assert sql.count("SELECT COUNT(*) FROM (") == 8
    assert sql.count(f"LIMIT {COUNT_CAP + 1}") == 8
    html = client.get("/?status=all", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-bucket="all">{COUNT_CAP}+<' in html


@pytest.mark.parametrize("path", ["/?status=all", "/?status=all&assignee=mine", "/"])
def test_issue_16_the_breached_count_is_two_index_ranges_with_scans_allowed(
    client, alice, filled, path
):
    """The breached bucket is counted in three parts that do not overlap (`breached_parts`),
    each a range of its index, none a scan. As one `OR`, the planner read the table from its
    start to find the first thousand, which at 1M cases, where the open cases are the
    newest rows, meant 300,000 rows and 64 ms."""
    client.force_login(alice)
    (sql, params), *_ = [s for s in _captured(client, path) if "COUNT(" in s[0]]
    nodes = [node for node in _nodes(sql, params) if node.get("Relation Name") == "cases_case"]
    breach_reads = [
        node
        for node in nodes
        if "next_due_at" in json.dumps(node.get("Filter", "") + node.get("Index Cond", ""))
        or "sla_breached" in json.dumps(node.get("Filter", "") + node.get("Index Cond", ""))
    ]
    assert breach_reads, _plan(sql, params)
    assert not [n for n in breach_reads if n["Node Type"] == "Seq Scan"], _plan(sql, params)
    recorded = [n for n in breach_reads if n.get("Index Name") == "case_sla_breached"]
    assert len(recorded) == 2, _plan(sql, params)
    assert all("next_due_at" in n.get("Index Cond", "") for n in recorded), _plan(sql, params)


def test_issue_16_the_default_views_counts_read_only_the_open_cases(client, alice, filled):
    """The bucket counts of the default view go through the partial index of open cases."""
    client.force_login(alice)
    counts = [s for s in _captured(client, "/") if "COUNT(" in s[0]]
    assert counts
    for sql, params in counts:
        plan = _plan(sql, params)
        assert "case_open_urgency" in plan, plan


def test_issue_16_the_default_views_mine_count_is_a_range_of_the_open_cases(client, alice, filled):
    """ "Mine" of the default view counts the agent's open cases from the partial index of
    open cases by assignee, not from `case_shop_assignee`, which holds the agent's whole
    history (at 1M cases 33,000 entries read to find a thousand open ones)."""
    client.force_login(alice)
    (sql, params), *_ = [s for s in _captured(client, "/") if "COUNT(" in s[0]]
    mine = [
        node["Index Name"]
        for node in _nodes(sql, params)
        if node.get("Relation Name") == "cases_case" and "assignee_id" in node.get("Index Cond", "")
    ]
    # "Unassigned" may read the open cases' own range instead (most are nobody's here):
    # that stops at the cap as soon.
    assert mine and set(mine) == {"case_open_assignee_urgency"}, (mine, _plan(sql, params))


def test_issue_16_cases_spanning_categories_are_found_by_a_range_then_by_id(client, alice, filled):
    """The category filter over every status, where finished cases whose items span two
    categories carry none (`queue.in_category`): the blank ones in view are read first from
    a range of `case_shop_category_urgency`, then their items by the items' case index (not
    a hash of every item of the category), and the page and counts read the carried
    category's range or those ids: no statement reads the case or item table whole."""
    from aftersales.workbench.queue import SPANNING_CAP

    spanning = Case.objects.filter(shop_id=filled["shop"], product_category="")
    assert spanning.exists() and not spanning.exclude(status__in=["completed", "closed"]).exists()
    client.force_login(alice)
    statements: list[tuple[str, Any]] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert client.get("/?status=all&category=electronics").status_code == 200
    blank = [
        (sql, params)
        for sql, params in statements
        if '"product_category" = %s' in sql
        and "" in list(params)
        and f"LIMIT {SPANNING_CAP + 1}" in sql
    ]
    assert len(blank) == 1, [sql[:300] for sql, _ in statements]
    assert "case_shop_category_urgency" in _plan(*blank[0]), _plan(*blank[0])
    items = [s for s in statements if s[0].startswith('SELECT "cases_caseitem"."case_id"')]
    assert len(items) == 1, [sql[:300] for sql, _ in statements]
    for sql, params in statements:
        if '"cases_case"' not in sql and '"cases_caseitem"' not in sql:
            continue
        with _seqscan(off=sql.startswith("SELECT (SELECT COUNT(*) FROM (")):
            plan = _plan(sql, params)
            assert "Seq Scan on cases_caseitem" not in plan, plan
            assert not _unbounded_reads(sql, params), plan
