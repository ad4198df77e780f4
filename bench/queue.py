"""The queue page's and the API case list's server time with 100k and 1M cases on PostgreSQL,
beside their raw SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/queue.py
    ... bench/queue.py --sizes 100000            # only 100k
    ... bench/queue.py --explain                 # also print the plans of the main queries
    ... bench/queue.py --jit-on-too              # each scenario again with SET jit = on
                                                 # (SHOW jit printed and checked per row)

The script creates its own database (`--db-name`, default bench_queue), migrates it and fills
it on the server with INSERT … SELECT over generate_series (no Python per row): one shop under
test and a second shop, buyers (5 % VIP), orders with one item, cases and their SLA clocks.
Most cases are history (completed or closed, with their stopped clocks); `--open-fraction`
(default 5 %) are open, spread over the open statuses with their running, paused or buyer
clocks, due from a day ago to three days ahead. For each size it times GET requests of the
queue through Django's full stack (session, middleware, template) for a logged-in agent, and
GET requests of the API's case list (`/api/v1/cases`) with an integrator's key, and then the
very SQL statements those requests ran (captured from the connection), executed directly over
the same connection: the difference is Django's and the template's share. The case rows carry
their next deadline and SLA flags (`sla/deadlines.py`); the fill computes them in SQL as
`refresh_case_deadlines` does, and their buyer's VIP flag (`Case.buyer_vip`) as
`set_buyer_vip_level` keeps it, and their products' category (`Case.product_category`) as
`open_case` does. The fill writes no Douyin after-sales: `--platform-deadlines`
gives cases a platform deadline on the case row, as ingest carries it (`Case.platform_deadline`).
`--only` measures the scenarios whose names contain one of its words. The load average is
printed before and after each size.
Audit events are not generated; the queue does not read them. The database is dropped at the
end unless --keep-db.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path, and this file would then stand
# in for the standard library's `queue` (which psycopg and Django import): take it off.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))

OPEN_STATUSES = [
    "pending_review",
    "pending_review",
    "pending_review",
    "awaiting_evidence",
    "awaiting_return",
    "awaiting_inspection",
    "pending_final_review",
    "awaiting_refund",
    "awaiting_shipment",
    "awaiting_buyer_receipt",
    "rejected",
]
TYPES = ["refund_unshipped", "refund_shipped", "return_refund", "exchange", "resend", "repair"]
REASONS = ["no_reason", "changed_mind", "wrong_size", "quality_issue", "damaged", "wrong_item"]
CATEGORIES = ["apparel", "food", "beauty", "electronics", "home", "general"]

# Which clocks a case in each status has: (kind, state, is the buyer's). Earlier clocks of
# the case (first response, plan, review) are added stopped for every status but review.
LIVE_CLOCKS = [
    ("pending_review", "first_response", "running", False),
    ("pending_review", "plan", "running", False),
    ("pending_review", "review", "running", False),
    ("awaiting_evidence", "plan", "paused", False),
    ("awaiting_evidence", "review", "paused", False),
    ("awaiting_return", "return_shipment", "running", True),
    ("awaiting_inspection", "inspection", "running", False),
    ("pending_final_review", "final_review", "running", False),
    ("awaiting_refund", "refund", "running", False),
    ("awaiting_shipment", "replacement_shipment", "running", False),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="case counts, ascending")
    parser.add_argument("--open-fraction", type=float, default=0.05)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per scenario")
    parser.add_argument("--db-name", default="bench_queue")
    parser.add_argument("--keep-db", action="store_true")
    # Measure again on a database a run kept (--keep-db) at its one size, without filling it
    # anew (the fill of 1M cases takes 9-12 minutes on a loaded 2-core machine): migrated to
    # the code under test, then measured. Implies --keep-db.
    parser.add_argument("--reuse-db", action="store_true", help="measure a kept database again")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    # The fill writes no Douyin after-sales, so no case has a platform deadline unless asked:
    # then two in three open cases get one on the case row (from 12 hours ago to 3 days
    # ahead), and one in ten finished cases a past one, as ingest carries them
    # (`Case.platform_deadline`; the queue reads only the case row). Once per database.
    parser.add_argument(
        "--platform-deadlines",
        action="store_true",
        help="give cases a platform deadline on the case row (code with Case.platform_deadline)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="only the scenarios whose names contain one of these (comma-separated)",
    )
    # The settings turn JIT off for every connection (`-c jit=off`); this measures each
    # scenario a second time with it on, to show what it would cost.
    parser.add_argument("--jit-on-too", action="store_true", help="measure again with SET jit = on")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> Callable[[], None]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/queue.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"  # only to pass the secret-key check
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    os.environ["AFTERSALES_VAR_DIR"] = tempfile.mkdtemp(prefix="aftersales-bench-queue-")

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    name = args.db_name
    if args.reuse_db:
        args.keep_db = True
    else:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))

    def cleanup() -> None:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

    return cleanup


def setup_django() -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.DEBUG = False  # no query log: measure what production runs
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0, interactive=False)
    from aftersales.cases.models import Case

    global CARRIES_CATEGORY, CARRIES_DEADLINE, CARRIES_VIP
    names = {f.name for f in Case._meta.get_fields()}
    CARRIES_DEADLINE = "next_due_at" in names
    CARRIES_VIP = "buyer_vip" in names
    CARRIES_CATEGORY = "product_category" in names


# --- Filling the database (not timed as part of the results) ------------------------------------


CARRIES_DEADLINE = True  # whether the code under test has Case.next_due_at (set at setup)
CARRIES_VIP = True  # whether it has Case.buyer_vip and Case.platform_deadline
CARRIES_CATEGORY = True  # whether it has Case.product_category


def database_defaults() -> None:
    """Give the bulk-filled tables' columns their models' defaults in the database too, so the
    INSERTs below name only what they choose and a column added later does not break them."""
    from django.apps import apps
    from django.db import connection

    tables = ["orders_order", "orders_orderitem", "cases_case", "sla_slaclock"]
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


class Fixture:
    """Two shops, their staff, products, skus and buyers; the bulk rows come from SQL."""

    def __init__(self) -> None:
        database_defaults()
        from aftersales.shops.models import Shop

        if Shop.objects.filter(platform_shop_id="q-1").exists():
            self._reuse()
            return
        from django.contrib.auth import get_user_model

        from aftersales.catalog.models import Product, Sku
        from aftersales.core.actors import Actor
        from aftersales.shops.choices import Platform, Role
        from aftersales.shops.services import add_member, create_shop

        system = Actor.system("bench")
        users = get_user_model().objects
        self.shop = create_shop(
            platform=Platform.DOUYIN, platform_shop_id="q-1", name="压测店铺", by=system
        )
        self.other = create_shop(
            platform=Platform.DOUYIN, platform_shop_id="q-2", name="另一家店", by=system
        )
        self.agents = []
        for i in range(10):
            user = users.create_user(f"agent{i}", password=None)
            add_member(shop=self.shop, user=user, role=Role.AGENT, by=system)
            self.agents.append(user.pk)
        self.user = users.get(pk=self.agents[0])
        from aftersales.shops.services import create_api_key

        _, self.api_key = create_api_key(shop=self.shop, name="bench", by=system)
        self.skus: dict[int, list[int]] = {}
        for shop in (self.shop, self.other):
            products = Product.objects.bulk_create(
                Product(
                    shop=shop,
                    platform_product_id=f"p{i}",
                    name=f"商品{i}",
                    category=CATEGORIES[i % len(CATEGORIES)],
                )
                for i in range(60)
            )
            skus = Sku.objects.bulk_create(
                Sku(
                    shop=shop,
                    product=p,
                    platform_sku_id=f"s{p.pk}",
                    spec="默认",
                    list_price_fen=9900,
                )
                for p in products
            )
            self.skus[shop.pk] = [s.pk for s in skus]
        self.buyers: dict[int, tuple[int, int]] = {}
        for shop in (self.shop, self.other):
            self.buyers[shop.pk] = self._buyers(shop.pk, 20_000)
        self.total = 0

    def _reuse(self) -> None:
        """The fixture of a kept database (--reuse-db): its shops, agents and cases as they
        are, and a new API key (a key is stored hashed)."""
        from django.contrib.auth import get_user_model

        from aftersales.core.actors import Actor
        from aftersales.shops.models import Shop
        from aftersales.shops.services import create_api_key

        self.shop = Shop.objects.get(platform_shop_id="q-1")
        self.other = Shop.objects.get(platform_shop_id="q-2")
        users = get_user_model().objects
        self.agents = [users.get(username=f"agent{i}").pk for i in range(10)]
        self.user = users.get(pk=self.agents[0])
        _, self.api_key = create_api_key(shop=self.shop, name="bench", by=Actor.system("bench"))
        self.total = counts(self.shop.pk)["cases"]

    def _buyers(self, shop_id: int, count: int) -> tuple[int, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO orders_buyer (shop_id, platform_buyer_id, nickname, phone, vip_level)
                SELECT %s, 'b' || %s || '-' || i, '买家' || i, '138' || lpad(i::text, 8, '0'),
                       CASE WHEN i %% 20 = 0 THEN 1 + i %% 3 ELSE 0 END
                FROM generate_series(1, %s) i
                RETURNING id
                """,
                [shop_id, shop_id, count],
            )
            ids = [row[0] for row in cursor.fetchall()]
        return min(ids), max(ids)

    def grow(self, total: int, open_fraction: float) -> None:
        """Add cases until the shop under test has `total` (the other shop gets a tenth)."""
        if self.total >= total:
            return  # a kept database (--reuse-db) of this size
        for shop, share in ((self.shop, 1.0), (self.other, 0.1)):
            have = int(self.total * share)
            want = int(total * share)
            step = 200_000
            self._settle(shop.pk)
            for start in range(have, want, step):
                self._add(shop.pk, start + 1, min(want, start + step), want, open_fraction)
        self.total = total
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done by then

    def carry_platform_deadlines(self) -> int:
        """`--platform-deadlines`: what ingest would have carried onto the case rows of a
        shop on Douyin. Returns how many cases got one (0 if some had one already)."""
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM cases_case WHERE platform_deadline IS NOT NULL LIMIT 1")
            if cursor.fetchone():
                return 0
            cursor.execute(
                """
                UPDATE cases_case SET platform_deadline = CASE
                    WHEN status NOT IN ('completed', 'closed')
                    THEN now() + (((id * 37) %% 84) - 12) * interval '1 hour'
                    ELSE applied_at + interval '2 days' END
                WHERE (status NOT IN ('completed', 'closed') AND id %% 3 <> 0)
                   OR (status IN ('completed', 'closed') AND id %% 10 = 1)
                """,
                [],  # (with parameters, so that `%%` is the modulo operator)
            )
            updated = cursor.rowcount
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_case")
        return updated

    def _settle(self, shop_id: int) -> None:
        """Time passes before the shop grows: the cases open so far are closed."""
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_slaclock SET state = 'stopped', stopped_at = now()"
                " WHERE shop_id = %s AND state <> 'stopped'",
                [shop_id],
            )
            if not CARRIES_DEADLINE:
                cursor.execute(
                    "UPDATE cases_case SET status = 'closed' WHERE shop_id = %s"
                    " AND status NOT IN ('completed', 'closed')",
                    [shop_id],
                )
                return
            cursor.execute(
                "UPDATE cases_case SET status = 'closed', next_due_at = NULL,"
                " sla_breached = false, sla_at_risk = false, sla_recheck_at = NULL"
                " WHERE shop_id = %s AND (status NOT IN ('completed', 'closed')"
                " OR next_due_at IS NOT NULL OR sla_recheck_at IS NOT NULL)",
                [shop_id],
            )

    def _add(self, shop_id: int, first: int, last: int, want: int, open_fraction: float) -> None:
        from django.db import connection, transaction

        low, high = self.buyers[shop_id]
        skus = self.skus[shop_id]
        open_pick = "(ARRAY[" + ",".join(f"'{s}'" for s in OPEN_STATUSES) + "])"
        types = "(ARRAY[" + ",".join(f"'{t}'" for t in TYPES) + "])"
        reasons = "(ARRAY[" + ",".join(f"'{r}'" for r in REASONS) + "])"
        agents = "(ARRAY[" + ",".join(str(a) for a in self.agents) + "])"
        live = ",".join(
            f"('{status}','{kind}','{state}',{'true' if buyer else 'false'})"
            for status, kind, state, buyer in LIVE_CLOCKS
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM orders_order")
            orders_before = cursor.fetchone()[0]
            cursor.execute("SELECT coalesce(max(id), 0) FROM cases_case")
            cases_before = cursor.fetchone()[0]
            cursor.execute(
                """
                INSERT INTO orders_order (shop_id, buyer_id, platform_order_id, status, paid_at,
                    shipped_at, delivered_at, shipping_fee_paid_fen, shipping_refunded_fen,
                    has_shipping_insurance, receiver_name, receiver_phone, receiver_address)
                SELECT %(shop)s, %(low)s + (i::bigint * 7919) %% (%(high)s - %(low)s + 1),
                       'o' || %(shop)s || '-' || i, 'delivered',
                       now() - interval '10 days', now() - interval '9 days',
                       now() - interval '7 days', 1000, 0, i %% 4 = 0,
                       '张三', '13900000000', '浙江省杭州市西湖区文三路100号'
                FROM generate_series(%(first)s, %(last)s) i
                ORDER BY i
                """,
                {"shop": shop_id, "low": low, "high": high, "first": first, "last": last},
            )
            cursor.execute(
                f"""
                INSERT INTO orders_orderitem (shop_id, order_id, sku_id, platform_item_id,
                    quantity, list_price_fen, paid_amount_fen, refunded_amount_fen,
                    return_exclusion_confirmed)
                SELECT o.shop_id, o.id, (ARRAY{skus})[1 + o.id %% {len(skus)}], 'i' || o.id, 1,
                       9900, 8800, 0, false
                FROM orders_order o WHERE o.id > %s ORDER BY o.id
                """,
                [orders_before],
            )
            # Open cases are mostly the newest (90 %: after-sales cases are settled within
            # days or weeks), plus 10 % lingering anywhere in the history. i is the case's
            # number in the shop, r a fixed pseudo-random number in [0, 1) per order.
            cursor.execute(
                f"""
                INSERT INTO cases_case (shop_id, order_id, platform_case_id, type, reason,
                    buyer_statement, requested_amount_fen, order_snapshot, priority, status,
                    refund_status, return_status, dispute_status, evidence_request_note,
                    reject_reason, reject_note, close_note, applied_at, updated_at, assignee_id)
                SELECT shop_id, id, 'P' || id, {types}[1 + id %% 6], {reasons}[1 + (id / 6) %% 6],
                       '', 8800, '{{}}', 0, status,
                       CASE WHEN status = 'completed' THEN 'refunded' ELSE 'none' END,
                       'not_required', 'none', '', '', '', '', applied_at, applied_at,
                       CASE WHEN id %% 3 = 0 THEN {agents}[1 + id %% {len(self.agents)}] END
                FROM (
                    SELECT o.id, o.shop_id,
                           CASE WHEN newest OR lingering
                                THEN {open_pick}[1 + o.id %% {len(OPEN_STATUSES)}]
                                WHEN r < 0.8 THEN 'completed'
                                ELSE 'closed' END AS status,
                           CASE WHEN newest
                                THEN now() - (%(want)s - i) / (%(want)s * %(open)s * 0.9)
                                             * interval '5 days'
                                ELSE now() - interval '6 days'
                                     - (%(want)s - i)::numeric / %(want)s * interval '700 days'
                           END AS applied_at
                    FROM (
                        SELECT o.*,
                               i > %(want)s * (1 - %(open)s * 0.9) AS newest,
                               r < %(open)s * 0.1 AS lingering
                        FROM (SELECT o.*, %(first)s + (o.id - %(before)s - 1) AS i,
                                     ((o.id * 1103515245 + 12345) %% 2147483648)
                                     / 2147483648.0 AS r
                              FROM orders_order o WHERE o.id > %(before)s) o
                    ) o
                ) picked
                ORDER BY id
                """,
                {
                    "open": open_fraction,
                    "before": orders_before,
                    "first": first,
                    "want": want,
                },
            )
            cursor.execute(
                """
                INSERT INTO cases_caseitem (case_id, order_item_id, quantity)
                SELECT c.id, oi.id, 1 FROM cases_case c JOIN orders_orderitem oi
                    ON oi.order_id = c.order_id WHERE c.id > %s
                """,
                [cases_before],
            )
            # History: the first three clocks of every case not still in first review.
            cursor.execute(
                """
                INSERT INTO sla_slaclock (shop_id, case_id, kind, state, started_at, due_at,
                    at_risk_at, stopped_at, breached_at, is_buyer_clock, policy_version)
                SELECT c.shop_id, c.id, k.kind, 'stopped', c.applied_at,
                       c.applied_at + k.hours * interval '1 hour',
                       c.applied_at + k.hours * 0.75 * interval '1 hour',
                       c.applied_at + interval '90 minutes',
                       CASE WHEN c.id %% 17 = 0 THEN c.applied_at + interval '2 hours' END,
                       false, 'default@bench'
                FROM cases_case c
                CROSS JOIN (VALUES ('first_response', 2), ('plan', 24), ('review', 48))
                    AS k(kind, hours)
                WHERE c.id > %s AND c.status <> 'pending_review'
                """,
                [cases_before],
            )
            # The live clocks: due from a day ago to three days ahead, warned six hours before.
            cursor.execute(
                f"""
                INSERT INTO sla_slaclock (shop_id, case_id, kind, state, started_at, due_at,
                    at_risk_at, paused_at, remaining_at_pause, breached_at, is_buyer_clock,
                    policy_version)
                SELECT shop_id, id, kind, state, applied_at, due, due - interval '6 hours',
                       CASE WHEN state = 'paused' THEN now() END,
                       CASE WHEN state = 'paused' THEN due - now() END,
                       CASE WHEN state = 'running' AND NOT buyer AND due < now() THEN due END,
                       buyer, 'default@bench'
                FROM (
                    SELECT c.id, c.shop_id, c.applied_at, m.kind, m.state, m.buyer,
                           now() + ((((c.id * 31 + length(m.kind) * 7) %% 96) - 24)
                                    * interval '1 hour') AS due
                    FROM cases_case c JOIN (VALUES {live}) m(status, kind, state, buyer)
                        ON m.status = c.status
                    WHERE c.id > %s
                ) live
                """,
                [cases_before],
            )
            # What the case carries from its buyer (`cases.services.set_buyer_vip_level`).
            if CARRIES_VIP:
                cursor.execute(
                    "UPDATE cases_case c SET buyer_vip = true FROM orders_order o"
                    " JOIN orders_buyer b ON b.id = o.buyer_id"
                    " WHERE c.id > %s AND o.id = c.order_id AND b.vip_level > 0",
                    [cases_before],
                )
            # The category its one item's product has (`cases.services.shared_category`).
            if CARRIES_CATEGORY:
                cursor.execute(
                    "UPDATE cases_case c SET product_category = p.category"
                    " FROM cases_caseitem ci JOIN orders_orderitem oi ON oi.id = ci.order_item_id"
                    " JOIN catalog_sku s ON s.id = oi.sku_id"
                    " JOIN catalog_product p ON p.id = s.product_id"
                    " WHERE c.id > %s AND ci.case_id = c.id",
                    [cases_before],
                )
            # What the case carries from its running merchant clocks (sla/deadlines.py).
            if not CARRIES_DEADLINE:
                return  # the code before issue 16, measured for the comparison
            cursor.execute(
                """
                UPDATE cases_case c SET next_due_at = m.due, sla_breached = m.breached,
                    sla_at_risk = m.at_risk, sla_recheck_at = m.recheck
                FROM (
                    SELECT case_id, min(due_at) AS due,
                           bool_or(breached_at IS NOT NULL) AS breached,
                           bool_or(at_risk_at <= now() AND due_at > now()) AS at_risk,
                           min(CASE WHEN at_risk_at > now() THEN at_risk_at
                                    WHEN due_at > now() THEN due_at END) AS recheck
                    FROM sla_slaclock
                    WHERE state = 'running' AND NOT is_buyer_clock AND case_id > %s
                    GROUP BY case_id
                ) m
                WHERE c.id = m.case_id
                """,
                [cases_before],
            )


# --- Measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def capture(client: Any, path: str) -> list[tuple[str, Any]]:
    """The SQL statements one request runs, with their parameters."""
    from django.db import connection

    statements: list[tuple[str, Any]] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return statements


def time_requests(client: Any, path: str, n: int) -> list[float]:
    for _ in range(3):
        client.get(path)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return times


def time_sql(statements: list[tuple[str, Any]], n: int) -> list[float]:
    from django.db import connection

    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()

    for _ in range(3):
        run()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def explain(statements: list[tuple[str, Any]]) -> None:
    """The plans of the queue's own queries (the longest statements of the request)."""
    from django.db import connection

    queue_sql = [s for s in statements if "cases_case" in s[0] or "orders_buyer" in s[0]]
    with connection.cursor() as cursor:
        for sql, params in queue_sql:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n" + sql[:300] + ("…" if len(sql) > 300 else ""))
            for (line,) in cursor.fetchall():
                print("   ", line)


def set_jit(on: bool) -> str:
    """PostgreSQL compiles expensive plans (jit_above_cost). The settings turn it off for
    every connection (`-c jit=off`), so `RESET jit` gives off again: this sets it explicitly
    on the connection the requests and the raw SQL both use, checks it took, and returns what
    `SHOW jit` says, for the output."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET jit = on" if on else "SET jit = off")
        cursor.execute("SHOW jit")
        shown = cursor.fetchone()[0]
    assert shown == ("on" if on else "off"), shown
    return str(shown)


def show_jit() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return str(cursor.fetchone()[0])


def jitted(statements: list[tuple[str, Any]]) -> int:
    """How many of the statements PostgreSQL plans to JIT-compile now (their plan's `JIT`
    part): with jit on, those whose estimated cost passes `jit_above_cost`."""
    import json

    from django.db import connection

    count = 0
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            count += "JIT" in plan[0]
    return count


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def scenarios(fixture: Fixture) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.platform_order_id FROM cases_case c JOIN orders_order o ON o.id = c.order_id"
            " WHERE c.shop_id = %s ORDER BY c.id DESC LIMIT 1",
            [fixture.shop.pk],
        )
        order_id = cursor.fetchone()[0]
    return [
        ("all open, page 1", "/"),
        ("page 5", "/?page=5"),
        ("breached", "/?sla=breached"),
        ("at risk", "/?sla=at_risk"),
        ("mine", "/?assignee=mine"),
        ("unassigned", "/?assignee=unassigned"),
        ("mine + at risk", "/?assignee=mine&sla=at_risk"),
        ("status pending review", "/?status=pending_review"),
        ("type", "/?type=exchange"),
        ("reason", "/?reason=quality_issue"),
        ("VIP only", "/?vip=on"),
        ("type + category", "/?type=exchange&category=electronics"),
        ("platform deadline within 24 h", "/?platform_due=on"),
        ("sorted by platform deadline", "/?sort=platform_deadline"),
        # Every status: the whole history is in view, a million cases (the counts stop at
        # their cap).
        ("all statuses", "/?status=all"),
        ("all statuses, page 5", "/?status=all&page=5"),
        ("all statuses + mine", "/?status=all&assignee=mine"),
        ("all statuses + breached", "/?status=all&sla=breached"),
        ("all statuses + type", "/?status=all&type=exchange"),
        ("all statuses + reason", "/?status=all&reason=quality_issue"),
        ("all statuses + type + reason", "/?status=all&type=exchange&reason=quality_issue"),
        ("all statuses + VIP", "/?status=all&vip=on"),
        ("all statuses + platform deadline 24 h", "/?status=all&platform_due=on"),
        ("all statuses, by platform deadline", "/?status=all&sort=platform_deadline"),
        ("status completed", "/?status=completed"),
        ("search an order id", f"/?q={order_id}&status=all"),
        # The buyers are 买家<i> with the phone 138<i, 8 digits>: a nickname's beginning names
        # at most 50 of them, a phone's last 4 digits two, the whole phone one. A search looks
        # in every status (issue 14).
        ("search a nickname's beginning", "/?q=" + quote("买家123")),
        ("search a phone's last 4", "/?q=1234"),
        ("search a whole phone", "/?q=13800001234"),
        # The API's case list (`api.list_cases`), as an integrator calls it.
        ("API list, newest first", "/api/v1/cases?limit=50"),
        ("API list, page 5", "/api/v1/cases?limit=50&offset=200"),
        ("API list, pending review", "/api/v1/cases?status=pending_review&limit=50"),
        ("API list, open statuses", "/api/v1/cases?" + OPEN_QUERY + "&limit=50"),
        ("API list, recently updated", "/api/v1/cases?order_by=-updated_at&limit=50"),
        ("API list, by priority", "/api/v1/cases?order_by=-priority&limit=50"),
        ("API list, type + reason", "/api/v1/cases?type=exchange&reason=quality_issue&limit=50"),
        ("API list, assigned to me", "/api/v1/cases?assignee=me&limit=50"),
        ("API list, unassigned", "/api/v1/cases?assignee=none&limit=50"),
        ("API list, refunded", "/api/v1/cases?refund_status=refunded&limit=50"),
        ("API list, search an order id", f"/api/v1/cases?q={order_id}&limit=50"),
    ]


OPEN_QUERY = "&".join(f"status={s}" for s in sorted(set(OPEN_STATUSES)))


def machine() -> dict[str, str]:
    import django
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
        "CPU": f"{model}, {os.cpu_count()} logical cores",
        "Python / Django": f"{platform.python_version()} / {django.get_version()}",
        "database": database + " on the same machine",
    }


def counts(shop_id: int) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status NOT IN ('completed', 'closed'))"
            " FROM cases_case WHERE shop_id = %s",
            [shop_id],
        )
        total, open_ = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM sla_slaclock")
        clocks = cursor.fetchone()[0]
    return {"cases": total, "open": open_, "clocks (all shops)": clocks}


def main() -> None:
    args = parse_args()
    cleanup = configure(args)
    try:
        setup_django()
        from django.test import Client

        fixture = Fixture()
        client = Client()
        client.force_login(fixture.user)
        client.defaults["HTTP_X_API_KEY"] = fixture.api_key  # the API's calls (the page ignores it)
        sizes = [int(s) for s in args.sizes.split(",")]
        print("Queue page (GET /) for a logged-in agent of one shop, PostgreSQL\n")
        for key, value in machine().items():
            print(f"  {key}: {value}")
        print(f"  open cases: {args.open_fraction:.0%}; {args.requests} timed requests per row\n")
        header = (
            f"| {'cases':>9} | {'open':>6} | {'scenario':<40} | {'page p50':>8} | {'page p95':>8} "
            f"| {'SQL p50':>8} | {'SQL p95':>8} | {'ratio p50':>9} | {'ratio p95':>9} "
            f"| {'queries':>7} | {'JIT':>5} |"
        )
        rows = []
        for size in sizes:
            start = time.perf_counter()
            fixture.grow(size, args.open_fraction)
            if args.platform_deadlines:
                if not CARRIES_VIP:
                    sys.exit("--platform-deadlines needs the code with Case.platform_deadline")
                print(f"platform deadlines carried by {fixture.carry_platform_deadlines():,} cases")
            built = time.perf_counter() - start
            numbers = counts(fixture.shop.pk)
            print(
                f"built {numbers['cases']:,} cases ({numbers['open']:,} open, "
                f"{numbers['clocks (all shops)']:,} clocks in all) in {built:.0f} s"
            )
            print(f"load average before: {load_average()}; {time.strftime('%H:%M:%S')}")
            passes = [("", False)] + ([(" (jit on)", True)] if args.jit_on_too else [])
            for suffix, jit_on in passes:
                print(f"pass{suffix or ' (jit off)'}: SHOW jit = {set_jit(jit_on)}")
                only = [o.strip() for o in args.only.split(",") if o.strip()]
                for name, path in scenarios(fixture):
                    if only and not any(o in name for o in only):
                        continue
                    statements = capture(client, path)
                    if args.explain and not jit_on:
                        print(f"\n--- {name} ({numbers['cases']:,} cases)")
                        explain(statements)
                    page = time_requests(client, path, args.requests)
                    raw = time_sql(statements, args.requests)
                    # Still on (or off) after the requests, on the connection they used; how
                    # many of the request's statements the planner compiles.
                    assert show_jit() == ("on" if jit_on else "off")
                    jit = f"{jitted(statements)}/{len(statements)}" if jit_on else "off"
                    p50, p95 = percentile(page, 50) * 1000, percentile(page, 95) * 1000
                    s50, s95 = percentile(raw, 50) * 1000, percentile(raw, 95) * 1000
                    label = (name + suffix)[:40]
                    rows.append(
                        f"| {numbers['cases']:>9,} | {numbers['open']:>6,} | {label:<40} | "
                        f"{p50:>6.1f}ms | {p95:>6.1f}ms | {s50:>6.1f}ms | {s95:>6.1f}ms | "
                        f"{p50 / s50 if s50 else 0:>8.2f}x | {p95 / s95 if s95 else 0:>8.2f}x | "
                        f"{len(statements):>7} | {jit:>5} |"
                    )
                    print(rows[-1])
            set_jit(False)
            print(f"load average after: {load_average()}; {time.strftime('%H:%M:%S')}")
        print("\n" + header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for row in rows:
            print(row)
        print(
            "\npage: the whole request through Django (middleware, session, queries, template"
            " or JSON);"
            "\nSQL: the statements that request ran, captured and re-run directly on the"
            " same connection;"
            "\nJIT: in the jit-on pass, how many of the request's statements PostgreSQL"
            " compiles (`SHOW jit` checked on before and after each row); off otherwise."
        )
    finally:
        cleanup()


if __name__ == "__main__":
    main()
