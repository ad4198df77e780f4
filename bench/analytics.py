# ruff: noqa: E501  (the DuckDB SQL reads better unwrapped)
"""The analytics reports at scale, each beside DuckDB computing the same figures over the same
rows in the same run (issue #10).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres AFTERSALES_DEBUG=true \\
        .venv/bin/python bench/analytics.py --db-name h8 --cases 100000

Writes a shop of `--cases` cases (90 % in the measured shop, the rest in another) with three
orders per case, one item each, a refund for 60 % of the cases, the first decision on the
audit trail and two stopped clocks per case, all with COPY (`copy_rows`); builds the reports'
facts with `rebuild_facts` and the clocks' daily outcomes with `rebuild_clock_outcomes`; runs
`VACUUM ANALYZE`. Then, `--runs` times each:

- the overview of the last 30 days with the period before (`analytics.overview.overview`),
  from the facts (as the page does) and counted from the raw rows (`facts=False`);
- problem products over 90 days (`analytics.problems.problem_products`);
- the same figures in DuckDB (in process, the tables copied in before timing).

Prints median and p95 in milliseconds and the ratios to DuckDB. The database `--db-name` is
created and dropped by the script (unless `--keep-db`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

REASONS = [
    "wrong_size",
    "quality_issue",
    "damaged",
    "no_reason",
    "not_as_described",
    "changed_mind",
]
CATEGORIES = ["apparel", "home", "electronics", "beauty"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db-name", default="h8")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="measure the rows a run with --keep-db left in --db-name (migrated, facts rebuilt) instead of writing them again",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print EXPLAIN ANALYZE of each query the overview (from the facts) runs",
    )
    parser.add_argument(
        "--raw-runs",
        type=int,
        default=None,
        help="runs of the overview from the raw rows (default --runs; at 1M one takes ~45 s)",
    )
    parser.add_argument("--seed", type=int, default=10)
    return parser.parse_args()


def configure(args: argparse.Namespace) -> Callable[[], None]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-bench-analytics-"))
    os.environ["AFTERSALES_VAR_DIR"] = str(workdir)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/analytics.py measures PostgreSQL: set DATABASE_URL")
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    if args.reuse_db:
        args.keep_db = True
    else:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(args.db_name)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.db_name)))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + args.db_name))

    def cleanup() -> None:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(args.db_name)
                    )
                )

    return cleanup


def setup_django() -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)


def machine() -> dict[str, str]:
    import django
    import duckdb
    from django.db import connection

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        database = f"PostgreSQL {cursor.fetchone()[0]}"
    return {
        "CPU": model,
        "cores": f"{os.cpu_count()} logical",
        "Python / Django": f"{platform.python_version()} / {django.get_version()}",
        "database": database,
        "DuckDB": duckdb.__version__,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --- Data (not timed) --------------------------------------------------------------------------


def reserve_ids(model: Any, n: int) -> int:
    """Take a block of n ids from the table's sequence; returns the first."""
    from django.db import connection

    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + max(n, 1) - 1])
    return first


def copy_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """Write rows with PostgreSQL's COPY (no model instances: 1,000,000 cases are ~12
    million rows). Each row gives the columns it sets by attribute name (`id` included, from
    `reserve_ids`); every other column gets the model's default, prepared once as Django
    would for an INSERT (so a NOT NULL column with a Python-side default is never NULL)."""
    from django.db import connection

    if not rows:
        return
    meta = model._meta
    fields = meta.concrete_fields
    template = model()
    defaults = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    pairs = list(zip(names, defaults, strict=True))
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(name, default) for name, default in pairs])


def build(n_cases: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from aftersales.analytics.facts import rebuild_facts
    from aftersales.audit.models import AuditEvent
    from aftersales.cases.models import (
        Case,
        CaseItem,
        RefundDecision,
        RefundExecution,
        RefundLine,
    )
    from aftersales.catalog.models import Product, Sku
    from aftersales.core.actors import Actor
    from aftersales.orders.models import Buyer, Order, OrderItem
    from aftersales.orders.totals import rebuild_order_totals
    from aftersales.shops.choices import Platform, Role
    from aftersales.shops.services import add_member, create_shop
    from aftersales.sla.models import SlaClock
    from aftersales.sla.outcomes import rebuild_clock_outcomes

    system = Actor.system("bench")
    shops = [
        create_shop(platform=Platform.DOUYIN, platform_shop_id=f"b{i}", name=f"店{i}", by=system)
        for i in (1, 2)
    ]
    agents = []
    for i in range(10):
        user = get_user_model().objects.create_user(f"agent{i}", password=None)
        add_member(shop=shops[0], user=user, role=Role.AGENT, by=system)
        agents.append(user.pk)
    catalogue: dict[int, list[int]] = {}
    buyers: dict[int, list[int]] = {}
    for shop in shops:
        products = Product.objects.bulk_create(
            [
                Product(
                    shop=shop,
                    platform_product_id=f"p{shop.pk}-{i}",
                    name=f"商品{i}",
                    category=CATEGORIES[i % len(CATEGORIES)],
                )
                for i in range(200)
            ]
        )
        catalogue[shop.pk] = [
            sku.pk
            for sku in Sku.objects.bulk_create(
                [
                    Sku(shop=shop, product=p, platform_sku_id=f"s{p.pk}", list_price_fen=9900)
                    for p in products
                ]
            )
        ]
        buyers[shop.pk] = [
            b.pk
            for b in Buyer.objects.bulk_create(
                [Buyer(shop=shop, platform_buyer_id=f"u{shop.pk}-{i}") for i in range(2000)]
            )
        ]
    # Problem products: a few SKUs with more cases than the rest.
    cum_weights = list(itertools.accumulate(5 if i < 5 else 1 for i in range(200)))
    shop_ids = [shop.pk for shop in shops]
    seq = {shop.pk: 1000 for shop in shops}
    started = time.perf_counter()
    batch = 20_000
    made = 0
    while made < n_cases:
        size = min(batch, n_cases - made)
        n_orders = size * 3
        first_order = reserve_ids(Order, n_orders)
        first_item = reserve_ids(OrderItem, n_orders)
        orders, items, chosen = [], [], []
        for i in range(n_orders):
            shop_id = shop_ids[0] if rng.random() < 0.9 else shop_ids[1]
            with_case = i % 3 == 0
            sku_index = (
                rng.choices(range(200), cum_weights=cum_weights)[0]
                if with_case
                else rng.randrange(200)
            )
            order = {
                "id": first_order + i,
                "shop_id": shop_id,
                "buyer_id": rng.choice(buyers[shop_id]),
                "platform_order_id": f"o{made}-{i}",
                "status": "delivered",
                "paid_at": now - timedelta(seconds=rng.randint(3600, 100 * 86400)),
            }
            item = {
                "id": first_item + i,
                "shop_id": shop_id,
                "order_id": order["id"],
                "sku_id": catalogue[shop_id][sku_index],
                "platform_item_id": f"i{order['id']}",
                "quantity": 1,
                "list_price_fen": 9900,
                "paid_amount_fen": rng.choice([990, 4900, 8800, 12800]),
            }
            orders.append(order)
            items.append(item)
            if with_case:
                chosen.append((order, item))
        copy_rows(Order, orders)
        copy_rows(OrderItem, items)
        first_case = reserve_ids(Case, len(chosen))
        first_case_item = reserve_ids(CaseItem, len(chosen))
        first_event = reserve_ids(AuditEvent, len(chosen))
        first_clock = reserve_ids(SlaClock, 2 * len(chosen))
        cases, case_items, events, clocks, refunds = [], [], [], [], []
        for n, (order, item) in enumerate(chosen):
            applied = min(order["paid_at"] + timedelta(hours=rng.randint(5, 200)), now)
            refunded = rng.random() < 0.6
            shop_id = order["shop_id"]
            case = {
                "id": first_case + n,
                "shop_id": shop_id,
                "order_id": order["id"],
                "type": "return_refund",
                "reason": rng.choice(REASONS),
                "applied_at": applied,
                "status": "completed" if refunded else "rejected",
                "refund_status": "refunded" if refunded else "none",
                "assignee_id": rng.choice(agents) if shop_id == shop_ids[0] else None,
            }
            cases.append(case)
            case_items.append(
                {
                    "id": first_case_item + n,
                    "case_id": case["id"],
                    "order_item_id": item["id"],
                    "quantity": 1,
                }
            )
            answered = applied + timedelta(minutes=rng.randint(1, 3000))
            seq[shop_id] += 1
            events.append(
                {
                    "id": first_event + n,
                    "shop_id": shop_id,
                    "seq": seq[shop_id],
                    "case_id": case["id"],
                    "type": "case_approved" if refunded else "case_rejected",
                    "actor_kind": "user",
                    "actor_label": "bench",
                    "created_at": answered,
                    "prev_hash": "",
                    "hash": f"{shop_id}-{seq[shop_id]}",
                }
            )
            for k, (kind, hours) in enumerate((("first_response", 2), ("review", 48))):
                due = applied + timedelta(hours=hours)
                clocks.append(
                    {
                        "id": first_clock + 2 * n + k,
                        "shop_id": shop_id,
                        "case_id": case["id"],
                        "kind": kind,
                        "state": "stopped",
                        "started_at": applied,
                        "due_at": due,
                        "at_risk_at": due - timedelta(hours=hours / 4),
                        "stopped_at": answered,
                        "breached_at": due if answered > due else None,
                        "policy_version": "bench",
                    }
                )
            if refunded:
                refunds.append(
                    (
                        case,
                        order,
                        item,
                        answered,
                        min(answered + timedelta(hours=rng.randint(1, 72)), now),
                    )
                )
        copy_rows(Case, cases)
        copy_rows(CaseItem, case_items)
        copy_rows(AuditEvent, events)
        copy_rows(SlaClock, clocks)
        first_decision = reserve_ids(RefundDecision, len(refunds))
        first_line = reserve_ids(RefundLine, len(refunds))
        first_execution = reserve_ids(RefundExecution, len(refunds))
        decisions, lines, executions = [], [], []
        for n, (case, order, item, decided, executed) in enumerate(refunds):
            decision_id = first_decision + n
            amount = item["paid_amount_fen"]
            decisions.append(
                {
                    "id": decision_id,
                    "shop_id": case["shop_id"],
                    "case_id": case["id"],
                    "order_id": order["id"],
                    "goods_amount_fen": amount,
                    "decided_by": "bench",
                    "decided_at": decided,
                }
            )
            lines.append(
                {
                    "id": first_line + n,
                    "decision_id": decision_id,
                    "order_item_id": item["id"],
                    "amount_fen": amount,
                }
            )
            executions.append(
                {
                    "id": first_execution + n,
                    "shop_id": case["shop_id"],
                    "decision_id": decision_id,
                    "idempotency_key": f"refund-{case['id']}",
                    "amount_fen": amount,
                    "status": "succeeded",
                    "created_at": decided,
                    "executed_at": executed,
                }
            )
        copy_rows(RefundDecision, decisions)
        copy_rows(RefundLine, lines)
        copy_rows(RefundExecution, executions)
        made += len(cases)
        print(f"  {made:,} cases written ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the rebuilds' joins need the tables' statistics
    started = time.perf_counter()
    rebuild_facts([s.pk for s in shops])
    print(f"  case facts rebuilt ({time.perf_counter() - started:.0f} s)", flush=True)
    started = time.perf_counter()
    rebuild_order_totals([s.pk for s in shops])
    print(f"  order totals rebuilt ({time.perf_counter() - started:.0f} s)", flush=True)
    started = time.perf_counter()
    rebuild_clock_outcomes([s.pk for s in shops])
    print(f"  clock outcomes rebuilt ({time.perf_counter() - started:.0f} s)", flush=True)
    return {"shop": shops[0], "shops": shops}


def reuse(now: datetime) -> dict[str, Any]:
    """The shops a run with --keep-db wrote (the migrations just run have brought their facts
    up to this code's)."""
    from aftersales.shops.models import Shop

    shops = [Shop.objects.get(platform_shop_id=f"b{i}") for i in (1, 2)]
    print("\nreusing the rows in the database", flush=True)
    return {"shop": shops[0], "shops": shops}


def explain(fn: Callable[[], Any]) -> None:
    """Each query `fn` runs, slowest first, with its EXPLAIN ANALYZE."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()
    with CaptureQueriesContext(connection) as captured:
        fn()
    queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
    print(f"\n### EXPLAIN ANALYZE of the overview's {len(queries)} queries, slowest first\n")
    for query in queries:
        print(f"-- {float(query['time']) * 1000:,.0f} ms: {query['sql'][:300]}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            for (line,) in cursor.fetchall():
                print("   " + line)
        print()


# --- DuckDB: the same figures over the same rows -------------------------------------------------

# Times leave PostgreSQL as UTC wall-clock timestamps, as DuckDB compares them.
TABLES = {
    "orders": "select id, shop_id, paid_at at time zone 'UTC' as paid_at from orders_order",
    "items": "select id, order_id, shop_id, sku_id, paid_amount_fen from orders_orderitem",
    "skus": "select s.id, s.product_id, p.category from catalog_sku s join catalog_product p on p.id = s.product_id",
    "cases": (
        "select id, shop_id, order_id, reason, type, assignee_id, "
        "applied_at at time zone 'UTC' as applied_at from cases_case"
    ),
    "case_items": "select case_id, order_item_id from cases_caseitem",
    "refunds": (
        "select d.shop_id, d.case_id, d.order_id, e.executed_at at time zone 'UTC' as executed_at, "
        "e.status, l.order_item_id, l.amount_fen "
        "from cases_refundline l join cases_refunddecision d on d.id = l.decision_id "
        "join cases_refundexecution e on e.decision_id = d.id"
    ),
    "events": (
        "select shop_id, case_id, type, seq, created_at at time zone 'UTC' as created_at "
        "from audit_auditevent where case_id is not null"
    ),
    "clocks": (
        "select shop_id, case_id, kind, state, due_at at time zone 'UTC' as due_at, "
        "stopped_at at time zone 'UTC' as stopped_at, breached_at at time zone 'UTC' as breached_at, "
        "paused_at at time zone 'UTC' as paused_at from sla_slaclock"
    ),
}


def load_duckdb() -> Any:
    import duckdb
    from django.db import connection

    db = duckdb.connect()
    workdir = Path(tempfile.mkdtemp(prefix="bench-duckdb-"))
    raw = connection.connection
    for name, query in TABLES.items():
        path = workdir / f"{name}.csv"
        statement = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with raw.cursor() as cursor, path.open("wb") as out, cursor.copy(statement) as copy:
            for data in copy:
                out.write(data)
        db.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', header=true)")
    return db


def duck_overview(
    db: Any, shop: int, start: datetime, end: datetime, prev: datetime
) -> dict[str, Any]:
    """The overview's figures (this period and the one before) in DuckDB SQL."""
    s, e, p = (x.astimezone(UTC).replace(tzinfo=None) for x in (start, end, prev))
    out: dict[str, Any] = {}
    for key, (a, b) in {"now": (s, e), "before": (p, s)}.items():
        out[key] = db.execute(
            """
            select
              (select count(*) from orders where shop_id = $shop and paid_at >= $a and paid_at < $b),
              (select sum(i.paid_amount_fen) from items i join orders o on o.id = i.order_id
                 where o.shop_id = $shop and o.paid_at >= $a and o.paid_at < $b),
              (select count(*) from cases where shop_id = $shop and applied_at >= $a and applied_at < $b),
              (select count(distinct order_id) from refunds where shop_id = $shop and status = 'succeeded'
                 and executed_at >= $a and executed_at < $b),
              (select sum(amount_fen) from refunds where shop_id = $shop and status = 'succeeded'
                 and executed_at >= $a and executed_at < $b)
            """,
            {"shop": shop, "a": a, "b": b},
        ).fetchone()
    args = {"shop": shop, "a": s, "b": e}
    out["days"] = db.execute(
        """
        select cast(applied_at + interval 8 hour as date) d, count(*) from cases
        where shop_id = $shop and applied_at >= $a and applied_at < $b group by d order by d
        """,
        args,
    ).fetchall()
    out["order_days"] = db.execute(
        """
        select cast(paid_at + interval 8 hour as date) d, count(*) from orders
        where shop_id = $shop and paid_at >= $a and paid_at < $b group by d
        """,
        args,
    ).fetchall()
    out["refund_days"] = db.execute(
        """
        select cast(executed_at + interval 8 hour as date) d, count(distinct order_id), sum(amount_fen)
        from refunds where shop_id = $shop and status = 'succeeded'
          and executed_at >= $a and executed_at < $b group by d
        """,
        args,
    ).fetchall()
    out["reasons"] = db.execute(
        "select reason, count(*) from cases where shop_id = $shop and applied_at >= $a "
        "and applied_at < $b group by reason",
        args,
    ).fetchall()
    out["times"] = db.execute(
        """
        with first as (
          select e.case_id, min(e.created_at) first_at from events e
          where e.shop_id = $shop and e.type in ('case_approved', 'case_rejected') group by e.case_id
        )
        select count(*), quantile_disc(epoch(f.first_at - c.applied_at), 0.5),
               quantile_disc(epoch(f.first_at - c.applied_at), 0.9)
        from first f join cases c on c.id = f.case_id where f.first_at >= $a and f.first_at < $b
        """,
        args,
    ).fetchall()
    out["sla"] = db.execute(
        """
        select kind, count(*), count(*) filter (where breached_at is null
               and (paused_at is not null or stopped_at <= due_at))
        from clocks where shop_id = $shop and state = 'stopped' and stopped_at >= $a and stopped_at < $b
        group by kind
        """,
        args,
    ).fetchall()
    return out


def duck_problem_products(db: Any, shop: int, start: datetime, end: datetime) -> list[Any]:
    s, e = (x.astimezone(UTC).replace(tzinfo=None) for x in (start, end))
    return db.execute(
        """
        with its as (
          select i.id, i.order_id, k.product_id, k.category from items i
          join orders o on o.id = i.order_id join skus k on k.id = i.sku_id
          where o.shop_id = $shop and o.paid_at >= $a and o.paid_at < $b
        ), with_case as (select distinct order_item_id from case_items),
        per_product as (
          select product_id, category, count(distinct order_id) orders,
                 count(distinct order_id) filter (where id in (select order_item_id from with_case)) hit
          from its group by product_id, category
        ), mix as (
          select its.product_id, c.reason, count(distinct ci.case_id) n
          from case_items ci join its on its.id = ci.order_item_id join cases c on c.id = ci.case_id
          group by its.product_id, c.reason
        )
        select p.*, (select list({'r': m.reason, 'n': m.n}) from mix m where m.product_id = p.product_id)
        from per_product p
        """,
        {"shop": shop, "a": s, "b": e},
    ).fetchall()


# --- Timing --------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm up: caches, plans
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    return statistics.median(samples), p95


def main() -> None:
    args = parse_args()
    cleanup = configure(args)
    try:
        setup_django()
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from aftersales.analytics.overview import overview
    from aftersales.analytics.periods import preset_period, shanghai_today
    from aftersales.analytics.problems import problem_products
    from aftersales.analytics.scope import Cuts, Scope

    print("## bench/analytics.py")
    for key, value in machine().items():
        print(f"- {key}: {value}")
    now = datetime.now(UTC)
    if args.reuse_db:
        world = reuse(now)
    else:
        print(f"\nwriting {args.cases:,} cases …", flush=True)
        world = build(args.cases, random.Random(args.seed), now)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    shop = world["shop"]
    scope = Scope(shop_ids=(shop.pk,), cuts=Cuts())
    today = shanghai_today(now)
    month, quarter = preset_period("30d", today=today), preset_period("90d", today=today)
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from cases_case where shop_id = %s", [shop.pk])
        in_shop = cursor.fetchone()[0]
    print(f"\n{args.cases:,} cases, {in_shop:,} in the measured shop; {args.runs} runs each\n")

    started = time.perf_counter()
    db = load_duckdb()
    print(f"(DuckDB tables loaded in {time.perf_counter() - started:.1f} s, not timed)\n")

    # The same numbers, or the comparison means nothing.
    ov = overview(scope, month, compare=True)
    duck = duck_overview(db, shop.pk, month.start, month.end, month.previous().start)
    assert (ov.totals.orders, ov.totals.paid_fen, ov.totals.cases) == tuple(duck["now"][:3]), (
        ov.totals,
        duck["now"],
    )
    assert (ov.totals.refunded_orders, ov.totals.refunded_fen) == tuple(duck["now"][3:]), duck
    assert ov.times[1].count == duck["times"][0][0]
    assert ov.times[1].median.total_seconds() == duck["times"][0][1]
    assert ov.previous is not None
    assert (
        ov.previous.orders,
        ov.previous.paid_fen,
        ov.previous.cases,
        ov.previous.refunded_orders,
        ov.previous.refunded_fen,
    ) == tuple(duck["before"]), (ov.previous, duck["before"])
    assert {
        day.day: (day.refunded_orders, day.refunded_fen) for day in ov.days if day.refunded_orders
    } == {d: (n, s) for d, n, s in duck["refund_days"]}
    assert {row.kind: (row.total, row.met) for row in ov.sla if row.total} == {
        kind: (n, met) for kind, n, met in duck["sla"] if kind != "return_shipment"
    }, (ov.sla, duck["sla"])
    products = problem_products(scope, quarter)
    duck_products = duck_problem_products(db, shop.pk, quarter.start, quarter.end)
    assert sorted((f.product_id, f.orders, f.orders_with_case) for f in products) == sorted(
        (r[0], r[2], r[3]) for r in duck_products
    )
    print("figures agree between PostgreSQL (Django) and DuckDB\n")

    rows = [
        ("overview, 30 days + the period before, from the facts", lambda: overview(scope, month)),
        (
            "overview, 30 days + the period before, raw rows",
            lambda: overview(scope, month, facts=False),
            args.raw_runs,
        ),
        (
            "DuckDB: the same overview figures",
            lambda: duck_overview(db, shop.pk, month.start, month.end, month.previous().start),
        ),
        ("problem products, 90 days", lambda: problem_products(scope, quarter)),
        (
            "DuckDB: the same problem-product figures",
            lambda: duck_problem_products(db, shop.pk, quarter.start, quarter.end),
        ),
    ]
    if args.explain:
        explain(lambda: overview(scope, month))
    results = {
        label: timed(fn, args.runs if not rest or rest[0] is None else rest[0])
        for label, fn, *rest in rows
    }
    from aftersales.analytics import overview as parts

    pieces = {
        "totals (this period)": lambda: parts.totals(scope, month),
        "totals (the period before)": lambda: parts.totals(scope, month.previous()),
        "by day": lambda: parts.by_day(scope, month),
        "reasons": lambda: parts.reasons(scope, month),
        "times": lambda: parts.times(scope, month),
        "SLA compliance": lambda: parts.sla_compliance(scope, month),
    }
    piece_times = {label: timed(fn, max(3, args.runs // 4)) for label, fn in pieces.items()}
    print("| query | median ms | p95 ms |")
    print("|---|---:|---:|")
    for label, (median, p95) in results.items():
        print(f"| {label} | {median:,.0f} | {p95:,.0f} |")
    print("\nwhere the overview's time goes (from the facts; median ms):\n")
    for label, (median, _p95) in piece_times.items():
        print(f"- {label}: {median:,.0f}")
    duck_ov = results["DuckDB: the same overview figures"][0]
    duck_pp = results["DuckDB: the same problem-product figures"][0]
    print()
    for label in rows[0][0], rows[1][0]:
        print(f"- {label}: {results[label][0] / duck_ov:.1f}× DuckDB (median)")
    print(f"- problem products: {results[rows[3][0]][0] / duck_pp:.1f}× DuckDB (median)")


if __name__ == "__main__":
    main()
