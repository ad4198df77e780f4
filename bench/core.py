# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""Core throughput and latency, each beside a raw-SQL baseline measured in the same run.

    .venv/bin/python bench/core.py                                   # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/core.py --db-name helper_c_bench       # PostgreSQL

(a) cases opened per second through `open_case`, against raw SQL inserts of the same rows
    (case, case item, audit event, chain head);
(b) cases refunded per second through `approve_case` + `refund_case` + `execute_refund`,
    against raw SQL of the case core's row writes (case updates, decision, line, item
    total, execution and its task row, three audit events, chain head);
(c) latency of GET /api/v1/cases?limit=50 with filters, 100,000 cases in the database,
    against the same count + page SQL executed directly.

Both baselines are given twice: all rows with `executemany` in one transaction (the floor
for writing those rows at all), and one transaction per case with one statement per row
(the same transaction shape as the service). The baselines compute the same audit hashes,
so the chain still verifies at the end; the script checks that. The baselines write the
case core's rows only; what the services write besides (SLA clocks and their timer tasks,
policy reads) is printed as statements per case, so the difference is visible.

For PostgreSQL, DATABASE_URL names the server; the script creates the database `--db-name`
(default helper_c_bench), works only in it, and drops it at the end (unless --keep-db).
`AFTERSALES_DEBUG=true` is set only to get past the secret-key check; query logging is then
switched off (production runs without it).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is on sys.path as the script's directory, and bench/queue.py would shadow the standard
# library's `queue` (imported below by Django's dependencies).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases opened in (a)")
    parser.add_argument("--refunds", type=int, default=600, help="cases refunded in (b)")
    parser.add_argument("--list-cases", type=int, default=100_000, help="cases for (c)")
    parser.add_argument("--requests", type=int, default=200, help="list requests in (c)")
    parser.add_argument("--db-name", default="helper_c_bench", help="PostgreSQL database")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", action="store_true", help="also print where open_case and refunds spend time"
    )
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds of (a), (b)")
    parser.add_argument("--skip-list", action="store_true", help="run (a) and (b) only")
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of one case of (a) and (b)"
    )
    return parser.parse_args()


# --- Setting up the database ---


def configure(args: argparse.Namespace) -> Callable[[], None]:
    """Point Django at a fresh database of its own; return the clean-up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-bench-"))
    os.environ["AFTERSALES_VAR_DIR"] = str(workdir)
    os.environ["AFTERSALES_MEDIA_ROOT"] = str(workdir / "media")
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        os.environ["AFTERSALES_SQLITE_PATH"] = str(workdir / "bench.sqlite3")

        def cleanup() -> None:
            if args.keep_db:
                print(f"\nkept {workdir / 'bench.sqlite3'}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)

        return cleanup

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    name = args.db_name
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
        shutil.rmtree(workdir, ignore_errors=True)

    return cleanup


def setup_django() -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.DEBUG = False  # no query log: measure what production runs
    call_command("migrate", verbosity=0, interactive=False)


def machine() -> dict[str, str]:
    import django
    from django.db import connection

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if connection.vendor == "sqlite":
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "CPU": model,
        "cores": f"{os.cpu_count()} logical",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "database": database,
        "OS": f"{platform.system()} {platform.release()}",
        "load average at start": " ".join(f"{x:.2f}" for x in load),
    }


# --- Fixtures (not timed) ---


class Fixture:
    """One shop, its staff, catalog and buyers, and builders of orders in bulk."""

    def __init__(self, rng: random.Random) -> None:
        from django.contrib.auth import get_user_model

        from aftersales.catalog.models import Product, Sku
        from aftersales.core.actors import Actor
        from aftersales.orders.models import Buyer
        from aftersales.shops.choices import Platform, Role
        from aftersales.shops.services import (
            actor_for_user,
            add_member,
            create_api_key,
            create_shop,
        )

        self.rng = rng
        system = Actor.system("bench")
        self.shop = create_shop(
            platform=Platform.DOUYIN, platform_shop_id="bench-1", name="压测店铺", by=system
        )
        self.other_shop = create_shop(
            platform=Platform.DOUYIN, platform_shop_id="bench-2", name="另一家店", by=system
        )
        self.user = get_user_model().objects.create_user("bench-agent", password=None)
        add_member(shop=self.shop, user=self.user, role=Role.AGENT, by=system)
        self.actor = actor_for_user(self.user)
        self.api_key = create_api_key(shop=self.shop, name="bench", by=system)[1]
        self.skus = {}
        self.buyers = {}
        for shop in (self.shop, self.other_shop):
            products = Product.objects.bulk_create(
                Product(shop=shop, platform_product_id=f"p{i}", name=f"商品{i}", category="apparel")
                for i in range(20)
            )
            self.skus[shop.pk] = Sku.objects.bulk_create(
                Sku(
                    shop=shop,
                    product=products[i % 20],
                    platform_sku_id=f"s{i}",
                    spec="颜色:黑色;尺码:M",
                    list_price_fen=rng.randrange(3000, 50000, 100),
                )
                for i in range(100)
            )
            self.buyers[shop.pk] = Buyer.objects.bulk_create(
                (
                    Buyer(
                        shop=shop,
                        platform_buyer_id=f"b{shop.pk}-{i}",
                        nickname=f"买家{i}",
                        phone="138" + f"{i:08d}",
                        vip_level=1 if i % 20 == 0 else 0,
                    )
                    for i in range(5000)
                ),
                batch_size=2000,
            )
        self._order_seq = 0

    def orders(self, count: int, *, shop: Any = None, lines: int = 2) -> list[Any]:
        """Delivered orders with `lines` items each, written in bulk."""
        from django.utils import timezone

        from aftersales.orders.models import Order, OrderItem

        shop = shop or self.shop
        rng = self.rng
        now = timezone.now()
        orders = []
        for _ in range(count):
            self._order_seq += 1
            paid = now - timedelta(days=rng.uniform(3, 180))
            orders.append(
                Order(
                    shop=shop,
                    buyer=rng.choice(self.buyers[shop.pk]),
                    platform_order_id=f"69{self._order_seq:017d}",
                    status="delivered",
                    paid_at=paid,
                    shipped_at=paid + timedelta(days=1),
                    delivered_at=paid + timedelta(days=3),
                    shipping_fee_paid_fen=rng.choice((0, 0, 600, 800)),
                    receiver_name="张三",
                    receiver_phone="13900000000",
                    receiver_address="浙江省杭州市西湖区文三路1号",
                )
            )
        Order.objects.bulk_create(orders, batch_size=2000)
        items = []
        for order in orders:
            order.bench_items = []
            for _ in range(lines):
                sku = rng.choice(self.skus[shop.pk])
                quantity = rng.choice((1, 1, 2))
                item = OrderItem(
                    shop=shop,
                    order=order,
                    sku=sku,
                    platform_item_id=f"{order.platform_order_id}-{len(order.bench_items)}",
                    quantity=quantity,
                    list_price_fen=sku.list_price_fen,
                    paid_amount_fen=sku.list_price_fen * quantity * 85 // 100,
                )
                order.bench_items.append(item)
                items.append(item)
        OrderItem.objects.bulk_create(items, batch_size=2000)
        return orders

    def pending_refund_cases(self, count: int) -> list[Any]:
        """Refund-only cases awaiting review, opened through the services (not timed), so their
        clocks and report facts are there as the refund path finds them in production."""
        orders = self.orders(count, lines=1)
        open_through_services(self, orders, type="refund_shipped", reason="damaged")
        from aftersales.cases.models import Case

        by_order = {c.order_id: c for c in Case.objects.filter(order__in=orders)}
        cases = []
        for order in orders:
            case = by_order[order.pk]
            case.order = order  # with its buyer, as the caller holds it
            case.bench_item = order.bench_items[0]
            cases.append(case)
        return cases


# --- Raw SQL helpers ---


class RawInsert:
    """INSERT of every column of a model, the values taken from an unsaved instance and adapted
    exactly as the ORM adapts them. Built from the model, so a column another change adds is
    written too (with the instance's default)."""

    def __init__(self, model: Any) -> None:
        from django.db import connection

        self.connection = connection
        self.fields = list(model._meta.concrete_fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"

    def row(self, instance: Any) -> tuple[Any, ...]:
        return tuple(
            f.get_db_prep_save(getattr(instance, f.attname), self.connection) for f in self.fields
        )


def next_ids(*models: Any) -> list[int]:
    from django.db import connection

    ids = []
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
            ids.append(cursor.fetchone()[0] + 1)
    return ids


def reset_sequences(*models: Any) -> None:
    """After inserting explicit ids, PostgreSQL's identity sequences must catch up."""
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Chain:
    """The shop's audit chain as the baseline extends it: the same hashes as record_event."""

    def __init__(self, shop_id: int) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_seq, last_hash FROM audit_auditchainhead WHERE shop_id = %s",
                [shop_id],
            )
            self.seq, self.hash = cursor.fetchone()
        self.shop_id = shop_id

    def link(
        self,
        *,
        event_id: int,
        case_id: int,
        type: str,
        actor: Any,
        before: dict[str, Any],
        after: dict[str, Any],
        payload: dict[str, Any],
        created_at: Any,
    ) -> Any:
        from django.conf import settings

        from aftersales.audit.chain import GENESIS, compute_hash
        from aftersales.audit.models import AuditEvent

        self.seq += 1
        event = AuditEvent(
            id=event_id,
            shop_id=self.shop_id,
            seq=self.seq,
            case_id=case_id,
            type=type,
            actor_kind=actor.kind,
            actor_label=actor.label,
            actor_user_id=actor.user_id,
            before=before,
            after=after,
            payload=payload,
            created_at=created_at,
            prev_hash=self.hash or GENESIS,
            key_id=settings.AUDIT_CHAIN_KEY_ID,  # keyed as record_event keys it
        )
        event.hash = compute_hash(event)
        self.hash = event.hash
        return event


HEAD_SQL = "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE shop_id = %s"


def lock_sql(select: str) -> str:
    """A locking read, as the services take it (SQLite locks the whole database on BEGIN)."""
    from django.db import connection

    return select + (" FOR UPDATE" if connection.vendor == "postgresql" else "")


class Writer:
    """Collects a case's statements in the order the services issue them, one list per
    transaction, then runs them either one transaction per step (the services' shape: the
    locking reads included), or at the end grouped by statement with `executemany` in one
    transaction (the floor for writing these rows at all: no locks, the chain head once)."""

    def __init__(self, *, per_case: bool) -> None:
        self.per_case = per_case
        self.step: list[tuple[str, tuple[Any, ...], bool]] = []
        self.batches: dict[str, list[tuple[Any, ...]]] = {}
        self.kinds: Counter[str] = Counter()  # statements, by kind (per-case shape)

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        self.step.append((statement, row, False))
        self.kinds[statement.split(None, 1)[0]] += 1

    def lock(self, statement: str, row: tuple[Any, ...]) -> None:
        """A locking read the guarantees need (the case row, the items, the chain head)."""
        self.step.append((statement, row, True))
        self.kinds["SELECT"] += 1

    def commit(self, *, atomic: bool = True) -> None:
        """End one transaction of the case (`atomic=False`: its statements autocommit)."""
        from contextlib import nullcontext

        from django.db import connection, transaction

        if self.per_case:
            with transaction.atomic() if atomic else nullcontext(), connection.cursor() as cursor:
                for statement, row, read in self.step:
                    cursor.execute(statement, row)
                    if read:
                        cursor.fetchall()
        else:
            for statement, row, read in self.step:
                if not read:
                    self.batches.setdefault(statement, []).append(row)
        self.step = []

    def finish(self) -> None:
        from django.db import connection, transaction

        if self.per_case:
            return
        heads = self.batches.pop(HEAD_SQL, [])[-1:]
        with transaction.atomic(), connection.cursor() as cursor:
            for statement, rows in self.batches.items():
                cursor.executemany(statement, rows)
            for row in heads:
                cursor.execute(HEAD_SQL, row)


@contextmanager
def counting_statements() -> Iterator[tuple[Counter[str], list[float], Counter[str]]]:
    """Count statements by their first word, the time spent executing them, and the rows
    written by table (`INSERT table`, `UPDATE table`: what the baselines must match)."""
    import re

    from django.db import connection

    counts: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    spent = [0.0]
    target = re.compile(r'^(INSERT INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        counts[sql.split(None, 1)[0].upper()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started
            match = target.match(sql.lstrip())
            if match:
                if match.group(1).upper().startswith("INSERT"):
                    # The rowcount of an INSERT … RETURNING is not known before its rows
                    # are fetched: count the rows given.
                    written = len(params) if many else sql.count("), (") + 1
                    rows[f"INSERT {match.group(2)}"] += written
                else:
                    rows[f"UPDATE {match.group(2)}"] += max(context["cursor"].rowcount, 0)

    with connection.execute_wrapper(wrapper):
        yield counts, spent, rows


AXES_NEW = {
    "status": "pending_review",
    "refund_status": "none",
    "return_status": "not_required",
    "dispute_status": "none",
}


def timer_rows(task_insert: RawInsert, clock: Any, now: Any) -> list[tuple[Any, ...]]:
    """The two deferred task rows the services queue per started clock (warning, breach), in
    the baseline's transaction; written only while the services write them (`Rows`)."""
    import uuid

    from django_tasks_db.models import DBTaskResult

    return [
        task_insert.row(
            DBTaskResult(
                id=uuid.uuid4(),
                status="READY",
                enqueued_at=now,
                args_kwargs={"args": [clock.id], "kwargs": {}},
                task_path="aftersales.sla.tasks.check_clock",
                queue_name="default",
                backend_name="default",
                run_after=at,
                exception_class_path="",
                traceback="",
            )
        )
        for at in (clock.at_risk_at, clock.due_at)
    ]


class Rows:
    """What the services wrote per case in the counted sample, by table: the baselines write
    the same rows, and the report prints both side by side."""

    def __init__(self, rows: Counter[str], n: int) -> None:
        self.per_case = {key: value / n for key, value in rows.items()}

    @property
    def timer_tasks(self) -> bool:
        return self.per_case.get("INSERT django_tasks_database_dbtaskresult", 0) > 1


# The day's count row exists: the counted sample of the services created it.
DAILY_SQL = (
    "UPDATE analytics_dailycasefact SET cases = cases + 1 "
    "WHERE shop_id = %s AND day = %s AND reason = %s AND type = %s AND assignee_id = %s"
)


# --- (a) Opening cases ---


def open_through_services(
    fixture: Fixture, orders: list[Any], *, type: str = "return_refund", reason: str = "no_reason"
) -> float:
    from aftersales.cases import services

    started = time.perf_counter()
    for index, order in enumerate(orders):
        item = order.bench_items[0]
        services.open_case(
            order=order,
            type=type,
            reason=reason,
            items=[
                services.RequestedItem(
                    order_item=item, quantity=1 if type == "return_refund" else item.quantity
                )
            ],
            by=fixture.actor,
            buyer_statement="尺码不合适,七天无理由退货",
            platform_case_id=f"svc-{index}-{order.pk}",
        )
    return time.perf_counter() - started


def snapshot_of(order: Any) -> dict[str, Any]:
    """The same JSON `open_case` stores, built from the order in memory."""

    def ts(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "status": order.status,
        "paid_at": ts(order.paid_at),
        "shipped_at": ts(order.shipped_at),
        "delivered_at": ts(order.delivered_at),
        "shipping_fee_paid_fen": order.shipping_fee_paid_fen,
        "shipping_refunded_fen": order.shipping_refunded_fen,
        "has_shipping_insurance": order.has_shipping_insurance,
        "items": [
            {
                "id": item.pk,
                "sku": item.sku_id,
                "quantity": item.quantity,
                "list_price_fen": item.list_price_fen,
                "paid_amount_fen": item.paid_amount_fen,
                "refunded_amount_fen": item.refunded_amount_fen,
            }
            for item in order.bench_items
        ],
    }


def facts_in_memory(order: Any, item: Any, quantity: int, case: Any) -> Any:
    """The policy's facts of a new case, from what the caller holds (no query)."""
    from aftersales.cases.reasons import REASONS
    from aftersales.policy.engine import CaseFacts, ItemFacts

    product = item.sku.product
    return CaseFacts(
        type=case.type,
        reason=case.reason,
        responsible=REASONS[case.reason].responsible,
        order_status=order.status,
        applied_at=case.applied_at,
        delivered_at=order.delivered_at,
        items=(
            ItemFacts(
                category=product.category,
                quantity=quantity,
                ordered_quantity=item.quantity,
                paid_amount_fen=item.paid_amount_fen,
                refunded_amount_fen=item.refunded_amount_fen,
                is_high_risk=product.is_high_risk,
                exclusion_confirmed=item.return_exclusion_confirmed,
                best_before=item.best_before,
            ),
        ),
        shipping_fee_paid_fen=order.shipping_fee_paid_fen,
        shipping_refunded_fen=order.shipping_refunded_fen,
        has_shipping_insurance=order.has_shipping_insurance,
        buyer_vip_level=order.buyer.vip_level,
        requested_amount_fen=case.requested_amount_fen,
        evidence=frozenset(),
        goods_intact=None,
        package_opened=None,
        technical_support_done=False,
    )


def new_clock(clock_id: int, case: Any, kind: str, now: Any, facts: Any, policy: Any) -> Any:
    from aftersales.policy import deadlines
    from aftersales.sla.models import SlaClock
    from aftersales.sla.rules import CLOCK_RULES

    due_at = deadlines.due_at(kind, now, facts, policy)
    return SlaClock(
        id=clock_id,
        shop_id=case.shop_id,
        case_id=case.id,
        kind=kind,
        started_at=now,
        due_at=due_at,
        at_risk_at=due_at - (due_at - now) * policy.sla["at_risk_fraction"],
        is_buyer_clock=CLOCK_RULES[kind].buyer_clock,
        policy_version=policy.version,
    )


def open_with_raw_sql(
    fixture: Fixture, orders: list[Any], rows: Rows, *, per_case: bool
) -> tuple[float, Counter[str]]:
    """The rows `open_case` writes, one transaction per case: the case, its item, the audit
    event and chain head (read under lock), the three clocks the policy's deadlines give
    (the review clock's hours from the policy's decision on the case, evaluated in Python),
    the reports' fact rows, and the clocks' timer task rows while the services queue them."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from aftersales.analytics.facts import shanghai_day
    from aftersales.analytics.models import CaseFact, CaseProductFact
    from aftersales.audit.models import AuditEvent
    from aftersales.cases.models import Case, CaseItem
    from aftersales.cases.money import item_cap
    from aftersales.policy.deadlines import ClockFacts
    from aftersales.policy.engine import decide
    from aftersales.policy.services import policy_for
    from aftersales.sla.models import SlaClock

    inserts = {
        model: RawInsert(model)
        for model in (Case, CaseItem, AuditEvent, SlaClock, CaseFact, CaseProductFact)
    }
    task_insert = RawInsert(DBTaskResult)
    head_lock = lock_sql("SELECT last_seq, last_hash FROM audit_auditchainhead WHERE shop_id = %s")
    case_id, item_id, event_id, clock_id, product_fact_id = next_ids(
        Case, CaseItem, AuditEvent, SlaClock, CaseProductFact
    )
    shop_id = fixture.shop.pk
    policy = policy_for(shop_id)  # a program of its own would keep it; not timed

    started = time.perf_counter()
    chain = Chain(shop_id)
    writer = Writer(per_case=per_case)
    for index, order in enumerate(orders):
        now = timezone.now()
        item = order.bench_items[0]
        requested = item_cap(item, 1).cap_fen
        case = Case(
            id=case_id,
            shop_id=shop_id,
            order_id=order.pk,
            platform_case_id=f"raw-{index}-{order.pk}",
            type="return_refund",
            reason="no_reason",
            buyer_statement="尺码不合适,七天无理由退货",
            requested_amount_fen=requested,
            order_snapshot=snapshot_of(order),
            priority=1 if order.buyer.vip_level else 0,
            applied_at=now,
            updated_at=now,
        )
        writer.lock(head_lock, (shop_id,))
        writer.add(inserts[Case].sql, inserts[Case].row(case))
        writer.add(
            inserts[CaseItem].sql,
            inserts[CaseItem].row(
                CaseItem(id=item_id, case_id=case_id, order_item_id=item.pk, quantity=1)
            ),
        )
        event = chain.link(
            event_id=event_id,
            case_id=case_id,
            type="case_opened",
            actor=fixture.actor,
            before={},
            after=AXES_NEW,
            payload={
                "type": "return_refund",
                "reason": "no_reason",
                "requested_amount_fen": requested,
                "items": {str(item.pk): 1},
            },
            created_at=now,
        )
        writer.add(inserts[AuditEvent].sql, inserts[AuditEvent].row(event))
        writer.add(HEAD_SQL, (event.seq, event.hash, shop_id))
        # The policy's decision on the new case gives the review clock its hours.
        decision = decide(facts_in_memory(order, item, 1, case), policy)
        facts = ClockFacts(
            vip=order.buyer.vip_level > 0,
            is_complex=decision.complexity == "complex",
            categories=frozenset({item.sku.product.category}),
        )
        for kind in ("first_response", "plan", "review"):
            clock = new_clock(clock_id, case, kind, now, facts, policy)
            writer.add(inserts[SlaClock].sql, inserts[SlaClock].row(clock))
            if rows.timer_tasks:
                for task in timer_rows(task_insert, clock, now):
                    writer.add(task_insert.sql, task)
            clock_id += 1
        day = shanghai_day(now)
        writer.add(
            inserts[CaseProductFact].sql,
            inserts[CaseProductFact].row(
                CaseProductFact(
                    id=product_fact_id,
                    case_id=case_id,
                    shop_id=shop_id,
                    product_id=item.sku.product_id,
                    order_id=order.pk,
                    paid_day=shanghai_day(order.paid_at),
                    reason="no_reason",
                )
            ),
        )
        writer.add(
            inserts[CaseFact].sql,
            inserts[CaseFact].row(
                CaseFact(
                    case_id=case_id,
                    shop_id=shop_id,
                    order_id=order.pk,
                    reason="no_reason",
                    type="return_refund",
                    applied_at=now,
                    applied_day=day,
                )
            ),
        )
        writer.add(DAILY_SQL, (shop_id, day, "no_reason", "return_refund", 0))
        writer.commit()
        case_id, item_id, event_id, product_fact_id = (
            case_id + 1,
            item_id + 1,
            event_id + 1,
            product_fact_id + 1,
        )
    writer.finish()
    elapsed = time.perf_counter() - started
    reset_sequences(Case, CaseItem, AuditEvent, SlaClock, CaseProductFact)
    return elapsed, writer.kinds


# --- (b) Refunding cases ---


def refund_through_services(fixture: Fixture, cases: list[Any]) -> float:
    from aftersales.cases import services
    from aftersales.cases.models import RefundExecution

    started = time.perf_counter()
    for case in cases:
        services.approve_case(case=case, by=fixture.actor)
        decision = services.refund_case(case=case, by=fixture.actor)
        # What the worker does with the task refund_case queued.
        execution = RefundExecution.objects.get(decision=decision)
        services.execute_refund(execution=execution, by=fixture.actor)
    return time.perf_counter() - started


CASE_AXES_SQL = (
    "UPDATE cases_case SET status = %s, refund_status = %s, return_status = %s, "
    "dispute_status = %s{extra}, updated_at = %s WHERE id = %s"
)
APPROVE_SQL = CASE_AXES_SQL.format(extra=", approved_at = %s")
PENDING_SQL = CASE_AXES_SQL.format(extra="")
COMPLETED_SQL = CASE_AXES_SQL.format(extra=", resolved_at = %s")
ITEM_SQL = (
    "UPDATE orders_orderitem SET refunded_amount_fen = refunded_amount_fen + %s WHERE id = %s"
)
CLAIM_SQL = (
    "UPDATE cases_refundexecution SET status = 'executing', attempts = attempts + 1, "
    "claimed_at = %s WHERE id = %s AND status IN ('pending', 'failed')"
)
DONE_SQL = (
    "UPDATE cases_refundexecution SET status = 'succeeded', external_reference = %s, "
    "last_error = '', executed_at = %s WHERE id = %s"
)
STOP_CLOCKS_SQL = (
    "UPDATE sla_slaclock SET state = 'stopped', stopped_at = %s "
    "WHERE case_id = %s AND state <> 'stopped'"
)
STOP_REFUND_CLOCK_SQL = (
    "UPDATE sla_slaclock SET state = 'stopped', stopped_at = %s "
    "WHERE case_id = %s AND kind = 'refund' AND state <> 'stopped'"
)
RESPONDED_SQL = (
    "UPDATE analytics_casefact SET first_response_at = COALESCE(first_response_at, %s), "
    "decided_at = COALESCE(decided_at, %s) WHERE case_id = %s"
)
REFUNDED_FACT_SQL = (
    "UPDATE analytics_casefact SET refund_executed_at = %s, refunded_fen = %s WHERE case_id = %s"
)


def refund_with_raw_sql(
    fixture: Fixture, cases: list[Any], rows: Rows, *, per_case: bool
) -> tuple[float, Counter[str]]:
    """The rows approve_case + refund_case + execute_refund write, in the same order and the
    same transactions (approve; decide; the claim, autocommitted; the result), each step
    reading under lock what its guarantee needs: the case row, the refunded items, the chain
    head. The buyer's survey and its kept message (a shop without a platform link) included."""
    import secrets
    import uuid

    from django.db import connection
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from aftersales.analytics.models import Survey
    from aftersales.audit.models import AuditEvent
    from aftersales.cases.models import RefundDecision, RefundExecution, RefundLine
    from aftersales.cases.money import item_cap
    from aftersales.platforms.models import StoredBuyerMessage
    from aftersales.policy.deadlines import ClockFacts
    from aftersales.policy.services import policy_for
    from aftersales.sla.models import SlaClock

    inserts = {
        model: RawInsert(model)
        for model in (
            RefundDecision,
            RefundLine,
            RefundExecution,
            DBTaskResult,
            AuditEvent,
            SlaClock,
            Survey,
            StoredBuyerMessage,
        )
    }
    dt = connection.ops.adapt_datetimefield_value
    case_lock = lock_sql(
        "SELECT id, status, refund_status, return_status, dispute_status FROM cases_case "
        "WHERE id = %s"
    )
    item_lock = lock_sql(
        "SELECT id, quantity, paid_amount_fen, refunded_amount_fen FROM orders_orderitem "
        "WHERE id = %s"
    )
    head_lock = lock_sql("SELECT last_seq, last_hash FROM audit_auditchainhead WHERE shop_id = %s")
    decision_id, line_id, execution_id, event_id, clock_id, survey_id, message_id = next_ids(
        RefundDecision,
        RefundLine,
        RefundExecution,
        AuditEvent,
        SlaClock,
        Survey,
        StoredBuyerMessage,
    )
    shop_id, actor = fixture.shop.pk, fixture.actor
    policy = policy_for(shop_id)

    started = time.perf_counter()
    chain = Chain(shop_id)
    writer = Writer(per_case=per_case)
    add = writer.add

    def audit(case_id: int, type: str, before: dict, after: dict, payload: dict, now: Any) -> None:
        nonlocal event_id
        writer.lock(head_lock, (shop_id,))
        event = chain.link(
            event_id=event_id,
            case_id=case_id,
            type=type,
            actor=actor,
            before=before,
            after=after,
            payload=payload,
            created_at=now,
        )
        add(inserts[AuditEvent].sql, inserts[AuditEvent].row(event))
        add(HEAD_SQL, (event.seq, event.hash, shop_id))
        event_id += 1

    for case in cases:
        now = timezone.now()
        stamp = dt(now)
        # approve_case
        writer.lock(case_lock, (case.pk,))
        add(APPROVE_SQL, ("awaiting_refund", "none", "not_required", "none", stamp, stamp, case.pk))
        audit(
            case.pk,
            "case_approved",
            {"status": "pending_review"},
            {"status": "awaiting_refund"},
            {"approved_at": now.isoformat()},
            now,
        )
        add(STOP_CLOCKS_SQL, (stamp, case.pk))
        vip = case.order.buyer.vip_level > 0
        clock = new_clock(
            clock_id, case, "refund", now, ClockFacts(vip, False, frozenset()), policy
        )
        add(inserts[SlaClock].sql, inserts[SlaClock].row(clock))
        if rows.timer_tasks:
            for task in timer_rows(inserts[DBTaskResult], clock, now):
                add(inserts[DBTaskResult].sql, task)
        clock_id += 1
        add(RESPONDED_SQL, (stamp, stamp, case.pk))
        writer.commit()
        # refund_case
        now = timezone.now()
        stamp = dt(now)
        item = case.bench_item
        amount = item_cap(item, item.quantity).cap_fen
        writer.lock(case_lock, (case.pk,))
        writer.lock(item_lock, (item.pk,))
        add(
            inserts[RefundDecision].sql,
            inserts[RefundDecision].row(
                RefundDecision(
                    id=decision_id,
                    shop_id=shop_id,
                    case_id=case.pk,
                    order_id=case.order_id,
                    goods_amount_fen=amount,
                    decided_by=actor.label,
                    decided_at=now,
                )
            ),
        )
        add(
            inserts[RefundLine].sql,
            inserts[RefundLine].row(
                RefundLine(
                    id=line_id, decision_id=decision_id, order_item_id=item.pk, amount_fen=amount
                )
            ),
        )
        add(ITEM_SQL, (amount, item.pk))
        add(
            inserts[RefundExecution].sql,
            inserts[RefundExecution].row(
                RefundExecution(
                    id=execution_id,
                    shop_id=shop_id,
                    decision_id=decision_id,
                    idempotency_key=f"refund-case-{case.pk}",
                    amount_fen=amount,
                    created_at=now,
                )
            ),
        )
        add(PENDING_SQL, ("awaiting_refund", "pending", "not_required", "none", stamp, case.pk))
        audit(
            case.pk,
            "refund_decided",
            {"refund_status": "none"},
            {"refund_status": "pending"},
            {
                "decision": decision_id,
                "goods_amount_fen": amount,
                "shipping_amount_fen": 0,
                "return_postage_fen": 0,
                "requested_amount_fen": case.requested_amount_fen,
                "is_partial": False,
                "reason": "",
                "lines": {str(item.pk): amount},
            },
            now,
        )
        writer.commit()
        # The execution's task row: the services enqueue it after commit (autocommit).
        add(
            inserts[DBTaskResult].sql,
            inserts[DBTaskResult].row(
                DBTaskResult(
                    id=uuid.uuid4(),
                    status="READY",
                    enqueued_at=now,
                    args_kwargs={"args": [execution_id], "kwargs": {}},
                    task_path="aftersales.cases.tasks.execute_refund_task",
                    queue_name="default",
                    backend_name="default",
                    run_after=now,
                    exception_class_path="",
                    traceback="",
                )
            ),
        )
        # execute_refund: the claim autocommits (the gateway call runs outside a transaction).
        add(CLAIM_SQL, (stamp, execution_id))
        writer.commit(atomic=False)
        now = timezone.now()
        stamp = dt(now)
        reference = f"manual:refund-case-{case.pk}"
        writer.lock(case_lock, (case.pk,))
        add(DONE_SQL, (reference, stamp, execution_id))
        add(COMPLETED_SQL, ("completed", "refunded", "not_required", "none", stamp, stamp, case.pk))
        audit(
            case.pk,
            "refund_executed",
            {"status": "awaiting_refund", "refund_status": "pending"},
            {"status": "completed", "refund_status": "refunded"},
            {
                "execution": execution_id,
                "amount_fen": amount,
                "reference": reference,
                "resolved_at": now.isoformat(),
            },
            now,
        )
        add(STOP_REFUND_CLOCK_SQL, (stamp, case.pk))
        add(REFUNDED_FACT_SQL, (stamp, amount, case.pk))
        survey = Survey(
            id=survey_id,
            shop_id=shop_id,
            case_id=case.pk,
            token=secrets.token_urlsafe(32),
            sent_at=now,
        )
        add(inserts[Survey].sql, inserts[Survey].row(survey))
        add(
            inserts[StoredBuyerMessage].sql,
            inserts[StoredBuyerMessage].row(
                StoredBuyerMessage(
                    id=message_id,
                    shop_id=shop_id,
                    case_id=case.pk,
                    text=f"您的售后已处理完毕。请为本次服务打分：/analytics/survey/{survey.token}/",
                    cause="satisfaction_survey",
                    created_at=now,
                )
            ),
        )
        writer.commit()
        decision_id, line_id, execution_id = decision_id + 1, line_id + 1, execution_id + 1
        survey_id, message_id = survey_id + 1, message_id + 1
    writer.finish()
    elapsed = time.perf_counter() - started
    reset_sequences(
        RefundDecision,
        RefundLine,
        RefundExecution,
        AuditEvent,
        SlaClock,
        Survey,
        StoredBuyerMessage,
    )
    return elapsed, writer.kinds


# --- (c) The case list ---


def fill_case_list(fixture: Fixture, total: int) -> None:
    """`total` cases written in bulk: about 90% in the bench shop, the rest in another."""
    from django.utils import timezone

    from aftersales.cases.models import Case

    rng = fixture.rng
    now = timezone.now()
    statuses = (
        ("completed", 55),
        ("closed", 12),
        ("pending_review", 8),
        ("awaiting_return", 8),
        ("awaiting_inspection", 4),
        ("awaiting_evidence", 3),
        ("rejected", 3),
        ("awaiting_refund", 3),
        ("awaiting_shipment", 2),
        ("awaiting_buyer_receipt", 2),
    )
    types = (
        ("return_refund", 50),
        ("refund_shipped", 15),
        ("refund_unshipped", 15),
        ("exchange", 12),
        ("resend", 5),
        ("repair", 3),
    )
    reasons = (
        "no_reason",
        "wrong_size",
        "quality_issue",
        "damaged",
        "not_as_described",
        "functional_fault",
        "changed_mind",
        "missing_item",
    )
    status_values, status_weights = zip(*statuses, strict=True)
    type_values, type_weights = zip(*types, strict=True)
    serial = 0
    # A tenth of the cases belong to another shop: the API must filter them out.
    for shop, count in ((fixture.other_shop, total // 10), (fixture.shop, total - total // 10)):
        while count > 0:
            chunk = min(count, 10_000)
            orders = fixture.orders(max(1, chunk // 2), shop=shop, lines=1)
            cases = []
            for i in range(chunk):
                order = orders[i % len(orders)]
                serial += 1
                cases.append(
                    Case(
                        shop=shop,
                        order=order,
                        platform_case_id=f"72{serial:017d}",
                        type=rng.choices(type_values, type_weights)[0],
                        reason=rng.choice(reasons),
                        requested_amount_fen=order.bench_items[0].paid_amount_fen,
                        priority=1 if order.buyer.vip_level else 0,
                        assignee=fixture.user if rng.random() < 0.6 else None,
                        status=rng.choices(status_values, status_weights)[0],
                        applied_at=now - timedelta(days=rng.uniform(0, 365)),
                    )
                )
            Case.objects.bulk_create(cases, batch_size=2000)
            count -= chunk


def list_queries(fixture: Fixture) -> list[str]:
    """Query strings an agent's queue and an integrator would send."""
    from urllib.parse import urlencode

    from aftersales.cases.models import Case

    case = Case.objects.filter(shop=fixture.shop).order_by("pk")[500]
    latest = Case.objects.filter(shop=fixture.shop).order_by("-applied_at").first()
    week_ago = latest.applied_at - timedelta(days=7)
    params: list[list[tuple[str, Any]]] = [
        [],
        [("status", "pending_review")],
        [("status", "pending_review"), ("status", "awaiting_evidence"), ("order_by", "-priority")],
        [("type", "return_refund"), ("reason", "wrong_size")],
        [("applied_after", week_ago.isoformat())],
        [("assignee", fixture.user.pk), ("status", "awaiting_return")],
        [("refund_status", "none"), ("offset", 500)],
        [("q", case.order.platform_order_id)],
    ]
    return [urlencode([("limit", 50), *p]) for p in params]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure_list(fixture: Fixture, requests: int) -> dict[str, Any]:
    """Each round: one list request, the same count + page SQL run directly, and a trivial
    authenticated request (the fixed cost of any API call). Interleaved, so background load
    affects all three alike."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"X-API-Key": fixture.api_key})
    queries = list_queries(fixture)
    raw: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for query in queries:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/cases?" + query)
        assert response.status_code == 200, (query, response.content[:300])
        counts[query] = response.json()["count"]
        statements = [q["sql"] for q in captured.captured_queries if "cases_case" in q["sql"]]
        count_sql = next(s for s in statements if "COUNT(" in s.upper())
        page_sql = next(s for s in statements if " LIMIT " in s.upper() and s != count_sql)
        raw[query] = [count_sql, page_sql]
    api_times: list[float] = []
    raw_times: list[float] = []
    floor_times: list[float] = []
    by_query: dict[str, list[float]] = {q: [] for q in queries}
    raw_by_query: dict[str, list[float]] = {q: [] for q in queries}
    for index in range(requests + len(queries)):
        query = queries[index % len(queries)]
        started = time.perf_counter()
        response = client.get("/api/v1/cases?" + query)
        api = time.perf_counter() - started
        assert response.status_code == 200
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in raw[query]:
                cursor.execute(statement)
                cursor.fetchall()
        direct = time.perf_counter() - started
        started = time.perf_counter()
        response = client.get("/api/v1/codes/case-types")
        floor = time.perf_counter() - started
        assert response.status_code == 200
        if index < len(queries):
            continue  # the first round warms up
        api_times.append(api)
        raw_times.append(direct)
        floor_times.append(floor)
        by_query[query].append(api)
        raw_by_query[query].append(direct)
    return {
        "raw_by_query": raw_by_query,
        "api": api_times,
        "raw": raw_times,
        "floor": floor_times,
        "by_query": by_query,
        "counts": counts,
        "raw_sql": raw,
    }


# --- Running it all ---


def where_time_goes(label: str, run: Callable[[], None]) -> None:
    """The project's own functions by cumulative time under cProfile (shares, not speeds:
    the profiler slows Python code more than database waits)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    total = max(value[3] for value in stats.stats.values())  # type: ignore[attr-defined]
    rows = [
        (value[3], f"{Path(file).relative_to(ROOT)}:{line} {name}")
        for (file, line, name), value in stats.stats.items()  # type: ignore[attr-defined]
        if file.startswith(str(ROOT / "aftersales"))
    ]
    print(f"\nwhere {label} spends its time (cProfile, cumulative share):")
    for seconds, where in sorted(rows, reverse=True)[:40]:
        print(f"  {100 * seconds / total:5.1f}%  {where}")


class Counted:
    """Statements per case by kind, rows written per case by table, and the share of the
    time spent inside the driver, of one counted sample run."""

    def __init__(self, run: Callable[[], Any], n: int) -> None:
        with counting_statements() as (counts, spent, rows):
            started = time.perf_counter()
            run()
            total = time.perf_counter() - started
        self.n = n
        self.counts = counts
        self.rows = Rows(rows, n)
        self.share = spent[0] / total

    def statements(self) -> str:
        kinds = ("SELECT", "INSERT", "UPDATE")
        shown = ", ".join(f"{kind} {self.counts.get(kind, 0) / self.n:.1f}" for kind in kinds)
        other = sum(v for k, v in self.counts.items() if k not in kinds) / self.n
        total = sum(self.counts.values()) / self.n
        return f"{total:.1f} ({shown}, other {other:.1f})"


def rows_side_by_side(label: str, service: Counted, raw: Counted) -> list[str]:
    """The rows each side wrote per case, by table: the baseline must write what the services
    write (a difference is marked)."""
    lines = [f"\nrows written per case, {label}: services / raw SQL baseline"]
    for key in sorted(set(service.rows.per_case) | set(raw.rows.per_case)):
        ours, theirs = service.rows.per_case.get(key, 0), raw.rows.per_case.get(key, 0)
        mark = "" if abs(ours - theirs) < 0.05 else "   <-- differs"
        lines.append(f"  {key}: {ours:.1f} / {theirs:.1f}{mark}")
    return lines


def show_statements(fixture: Fixture) -> None:
    """Every statement one case of (a) and of (b) runs, in order (`--show-sql`)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    orders, cases = fixture.orders(1), fixture.pending_refund_cases(1)
    for label, run in (
        ("open_case", lambda: open_through_services(fixture, orders)),
        ("approve + refund + execute", lambda: refund_through_services(fixture, cases)),
    ):
        with CaptureQueriesContext(connection) as captured:
            run()
        print(f"\n{label}: {len(captured.captured_queries)} statements")
        for query in captured.captured_queries:
            print("  " + query["sql"][:200])


def main() -> None:
    args = parse_args()
    cleanup = configure(args)
    try:
        setup_django()
        report(args)
    finally:
        cleanup()


def throughput_rows(label: str, n: int, service: float, per_case: float, bulk: float) -> list[str]:
    def row(name: str, seconds: float, ratio: str) -> str:
        return f"| {name} | {n / seconds:,.0f} | {1e6 * seconds / n:,.0f} | {ratio} |"

    return [
        row(f"{label} through the services", service, "1.0"),
        row(f"{label}: raw SQL, 1 transaction per case", per_case, f"{service / per_case:.1f}"),
        row(f"{label}: raw SQL, executemany, 1 transaction", bulk, f"{service / bulk:.1f}"),
    ]


def report(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.db.models import F

    from aftersales.audit.chain import verify_chain
    from aftersales.cases.models import Case
    from aftersales.orders.models import OrderItem

    rng = random.Random(args.seed)
    print("## bench/core.py")
    print()
    for key, value in machine().items():
        print(f"- {key}: {value}")
    fixture = Fixture(rng)

    # (a) Opening. A first sample of each counts statements and rows (and warms up); then the
    # timed runs, services and baseline interleaved in rounds so the machine's load falls on
    # both alike.
    n, rounds = args.cases, args.rounds
    sample_orders, raw_orders = fixture.orders(100), fixture.orders(100)
    counted_a = Counted(lambda: open_through_services(fixture, sample_orders), 100)
    counted_a_raw = Counted(
        lambda: open_with_raw_sql(fixture, raw_orders, counted_a.rows, per_case=True), 100
    )
    a_service = a_per_case = 0.0
    for _ in range(rounds):
        chunk = fixture.orders(n // rounds)
        a_service += open_through_services(fixture, chunk)
        chunk = fixture.orders(n // rounds)
        a_per_case += open_with_raw_sql(fixture, chunk, counted_a.rows, per_case=True)[0]
    a_bulk, _kinds = open_with_raw_sql(fixture, fixture.orders(n), counted_a.rows, per_case=False)
    n = rounds * (n // rounds)

    # (b) Refunding: the cases are opened through the services first (not timed).
    m = args.refunds
    sample_b = fixture.pending_refund_cases(100)
    counted_b = Counted(lambda: refund_through_services(fixture, sample_b), 100)
    sample_b_raw = fixture.pending_refund_cases(100)
    counted_b_raw = Counted(
        lambda: refund_with_raw_sql(fixture, sample_b_raw, counted_b.rows, per_case=True), 100
    )
    pending: dict[str, list[Any]] = {"service": [], "per_case": [], "bulk": []}
    b_service = b_per_case = 0.0
    for _ in range(rounds):
        chunk = fixture.pending_refund_cases(m // rounds)
        pending["service"] += chunk
        b_service += refund_through_services(fixture, chunk)
        chunk = fixture.pending_refund_cases(m // rounds)
        pending["per_case"] += chunk
        b_per_case += refund_with_raw_sql(fixture, chunk, counted_b.rows, per_case=True)[0]
    pending["bulk"] = fixture.pending_refund_cases(m)
    b_bulk, _kinds = refund_with_raw_sql(fixture, pending["bulk"], counted_b.rows, per_case=False)
    m = rounds * (m // rounds)
    if args.show_sql:
        show_statements(fixture)
    load_after_ab = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)

    # The baselines wrote equivalent rows: the audit chain verifies through all of them, every
    # case is where the service would have left it, no item is refunded above what was paid.
    assert verify_chain(fixture.shop.pk) is None, verify_chain(fixture.shop.pk)
    refunded = [c.pk for key in pending for c in pending[key]]
    assert Case.objects.filter(pk__in=refunded, status="completed").count() == len(refunded)
    assert not OrderItem.objects.filter(refunded_amount_fen__gt=F("paid_amount_fen")).exists()

    print()
    print("| (a), (b) | cases/s | µs per case | raw is × faster |")
    print("|---|---:|---:|---:|")
    for line in throughput_rows("(a) open a case", n, a_service, a_per_case, a_bulk):
        print(line)
    for line in throughput_rows("(b) approve + refund + execute", m, b_service, b_per_case, b_bulk):
        print(line)
    print()
    print(
        f"- services ÷ raw SQL per case: (a) {a_per_case / a_service:.2f}×, "
        f"(b) {b_per_case / b_service:.2f}× (goal ≥ 0.2×)"
    )
    print(f"- load average after (a) and (b): {' '.join(f'{x:.2f}' for x in load_after_ab)}")
    print(
        f"- statements per case, open_case: {counted_a.statements()}; "
        f"{100 * counted_a.share:.0f}% of its time inside cursor.execute"
    )
    print(f"- statements per case, its raw-SQL baseline: {counted_a_raw.statements()}")
    print(
        f"- statements per case, approve + refund + execute: {counted_b.statements()}; "
        f"{100 * counted_b.share:.0f}% of its time inside cursor.execute"
    )
    print(f"- statements per case, their raw-SQL baseline: {counted_b_raw.statements()}")
    for line in rows_side_by_side("(a) open_case", counted_a, counted_a_raw):
        print(line)
    for line in rows_side_by_side("(b) approve + refund + execute", counted_b, counted_b_raw):
        print(line)
    if args.profile:
        more = fixture.orders(100)
        where_time_goes("open_case", lambda: open_through_services(fixture, more))
        cases = fixture.pending_refund_cases(100)
        where_time_goes(
            "approve + refund + execute", lambda: refund_through_services(fixture, cases)
        )
    if args.skip_list:
        return

    # (c) The list, with `--list-cases` cases in the database.
    started = time.perf_counter()
    fill_case_list(fixture, args.list_cases - Case.objects.count())
    fill_seconds = time.perf_counter() - started
    # Statistics as a database in steady state has them (PostgreSQL's autovacuum would also
    # have set the visibility map, which lets counts use index-only scans).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    total_cases = Case.objects.count()
    listing = measure_list(fixture, args.requests)

    print()
    print(f"| (c) {args.requests} requests, {total_cases:,} cases | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    rows = (
        ("GET /api/v1/cases?limit=50&… (API key)", "api"),
        ("same count + page SQL, run directly", "raw"),
        ("GET /api/v1/codes/case-types (fixed cost of a request)", "floor"),
    )
    for name, key in rows:
        ms = [1000 * t for t in listing[key]]
        print(f"| {name} | " + " | ".join(f"{percentile(ms, p):.2f}" for p in (50, 95, 99)) + " |")
    api, raw = listing["api"], listing["raw"]
    ratios = " | ".join(f"{percentile(api, p) / percentile(raw, p):.1f}" for p in (50, 95, 99))
    print(f"| API ÷ raw SQL | {ratios} |")
    print()

    print(f"- {total_cases:,} cases for (c); the bulk insert of them took {fill_seconds:.1f} s")
    print("- median by query string: API ms / raw SQL ms (matching cases):")
    for query, times in listing["by_query"].items():
        median = 1000 * statistics.median(times)
        direct = 1000 * statistics.median(listing["raw_by_query"][query])
        print(f"  - `{query}`: {median:.2f} / {direct:.2f} ({listing['counts'][query]:,})")
    if os.environ.get("BENCH_SHOW_SQL"):
        for query, statements in listing["raw_sql"].items():
            print(f"\n{query}\n" + "\n".join(statements))


if __name__ == "__main__":
    main()
