# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""Policy decisions per second, and the SLA timer sweep with 100k pending clocks, each beside a
baseline measured in the same run.

    .venv/bin/python bench/policy.py                                 # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/policy.py                             # PostgreSQL, db bench_policy
    ... bench/policy.py --clocks 20000 --sweeps 10                   # smaller and quicker

(a) decisions per second of the pure `policy.engine.decide(facts, policy)` on a varied set of
    realistic facts (order states, categories incl. food, fresh, electronics, beauty, reasons,
    amounts, VIP buyers, evidence, partial refunds), in one process; per-decision p50/p95/p99;
    beside a minimal hand-written if/else triage of the same facts (the recommendation only,
    no explanation, no money, no deadlines), and against the target of 5,000 decisions/s per
    core. Then the same loop in 1 and in `--processes` processes at once (fork), to show how
    it scales per core. Also, per call: `Decision.as_json()` (what `decide_case` stores) and
    `policy_for(shop)` (a query, TOML parsing and merging, run by every `decide_case`).
(b) the SLA sweep (`sla.services.sweep`) with `--clocks` running clocks (default 100,000) of
    which `--due` (default 200) are due: half a warning, half a breach (merchant clocks). Timed
    separately: finding the due clocks (the sweep's two ORM queries, exactly as it runs them),
    the whole sweep including firing (claim, notifications, audit event per clock; each clock
    its own transaction), and a sweep when nothing is due (the steady-state tick). Beside the
    bare indexed query: the same two SELECTs in raw SQL on the same connection. The due clocks
    are re-armed between rounds (not timed). The plans are printed (EXPLAIN).

The engine needs no database; (b) does. For PostgreSQL, DATABASE_URL names the server; the
script creates the database `--db-name` (default bench_policy), works only in it, and drops it
at the end (unless --keep-db). Without DATABASE_URL it uses a SQLite file in a temp directory.
`AFTERSALES_DEBUG=true` is set only to get past the secret-key check; query logging is then
switched off (production runs without it).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is on sys.path as the script's directory, and bench/queue.py would shadow the standard
# library's `queue` (imported below by Django's dependencies and by multiprocessing).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_PER_CORE = 5_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=50_000, help="decide() calls in (a)")
    parser.add_argument("--facts", type=int, default=2_000, help="distinct facts, cycled")
    parser.add_argument("--processes", type=int, default=2, help="processes for the scaling run")
    parser.add_argument("--clocks", type=int, default=100_000, help="running clocks in (b)")
    parser.add_argument(
        "--due", type=int, default=200, help="of which due (half warn, half breach)"
    )
    parser.add_argument("--sweeps", type=int, default=30, help="timed rounds in (b)")
    parser.add_argument("--find-reps", type=int, default=5, help="find-query timings per round")
    parser.add_argument(
        "--big-clocks", type=int, default=1_000_000, help="then grow to this many (0: no)"
    )
    parser.add_argument("--big-sweeps", type=int, default=10, help="timed rounds at that size")
    parser.add_argument(
        "--timer-rows",
        default="100000,300000",
        help="the old design's deferred timer rows for the claim in (c)",
    )
    parser.add_argument("--claim-reps", type=int, default=200, help="claims timed per point")
    parser.add_argument("--skip-claim", action="store_true", help="no (c)")
    parser.add_argument("--db-name", default="bench_policy", help="PostgreSQL database")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-a", action="store_true", help="only (b)")
    parser.add_argument("--skip-b", action="store_true", help="only (a)")
    return parser.parse_args()


# --- Setting up the database ---


def configure(args: argparse.Namespace) -> Callable[[], None]:
    """Point Django at a fresh database of its own; return the clean-up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-bench-policy-"))
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
        else:
            print(f"\nkept the database {name}")
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
            version = cursor.fetchone()[0]
            cursor.execute("SHOW jit")
            jit = cursor.fetchone()[0]
        database = f"PostgreSQL {version} (jit {jit} for this connection)"
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def pcts(values: list[float], scale: float = 1.0) -> str:
    return " | ".join(f"{scale * percentile(values, p):,.2f}" for p in (50, 95, 99))


# --- (a) Pure evaluation ---

ORDER_SHAPES = [
    # (case type, order status, weight)
    ("refund_unshipped", "unshipped", 30),
    ("refund_shipped", "shipped", 10),
    ("refund_shipped", "delivered", 15),
    ("return_refund", "delivered", 25),
    ("return_refund", "shipped", 5),
    ("exchange", "delivered", 8),
    ("repair", "delivered", 4),
    ("resend", "delivered", 3),
]
REASONS_BY_STATUS = {
    "unshipped": ["changed_mind", "changed_mind", "late_shipment", "other", "wrong_size"],
    "shipped": ["changed_mind", "not_received", "late_shipment", "wrong_size", "other"],
    "delivered": [
        "no_reason",
        "no_reason",
        "no_reason",
        "wrong_size",
        "changed_mind",
        "quality_issue",
        "quality_issue",
        "functional_fault",
        "damaged",
        "wrong_item",
        "missing_item",
        "not_as_described",
        "expired",
    ],
}
CATEGORIES = [
    ("apparel", 30),
    ("food", 12),
    ("fresh", 6),
    ("electronics", 15),
    ("beauty", 15),
    ("home", 12),
    ("custom", 3),
    ("books", 3),
    ("digital", 2),
    ("general", 2),
]
PRICE_FEN = {  # a unit price range by category
    "apparel": (3_900, 59_900),
    "food": (990, 19_900),
    "fresh": (1_990, 29_900),
    "electronics": (9_900, 699_900),
    "beauty": (4_900, 129_900),
    "home": (1_990, 89_900),
    "custom": (9_900, 199_900),
    "books": (1_990, 12_900),
    "digital": (990, 9_900),
    "general": (990, 29_900),
}


def weighted(rng: random.Random, pairs: list[tuple[Any, ...]]) -> Any:
    return rng.choices([p[:-1] for p in pairs], weights=[p[-1] for p in pairs])[0]


def varied_case_json(rng: random.Random, now: datetime) -> dict[str, Any]:
    """One case as `policy_check` reads it (docs/policy.md): realistic, varied facts."""
    case_type, status = weighted(rng, ORDER_SHAPES)
    reason = rng.choice(REASONS_BY_STATUS[status])
    applied = now - timedelta(days=rng.uniform(0, 30), minutes=rng.randrange(1440))
    delivered = None
    if status == "delivered":
        # Mostly within the 7-day window, some just outside, a few long after.
        delivered = applied - timedelta(days=rng.choice((0.5, 1, 2, 3, 5, 6.9, 7.5, 9, 15)))
    items = []
    for _ in range(rng.choices((1, 2, 3), weights=(75, 20, 5))[0]):
        (category,) = weighted(rng, CATEGORIES)
        ordered = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        low, high = PRICE_FEN[category]
        unit = rng.randrange(low, high, 10)
        item: dict[str, Any] = {
            "category": category,
            "quantity": rng.randint(1, ordered),
            "ordered_quantity": ordered,
            "paid_amount_fen": unit * ordered * rng.choice((100, 95, 90, 85)) // 100,
            "is_high_risk": category in ("electronics", "beauty", "food") and rng.random() < 0.08,
            "exclusion_confirmed": category in ("beauty", "food") and rng.random() < 0.3,
        }
        if rng.random() < 0.05:
            item["refunded_amount_fen"] = item["paid_amount_fen"] // 4
        if category in ("food", "fresh"):
            item["best_before"] = (
                (applied + timedelta(days=rng.randint(-5, 240))).date().isoformat()
            )
        items.append(item)
    evidence = [e for e in ("photo", "video") if rng.random() < 0.45]
    case: dict[str, Any] = {
        "type": case_type,
        "reason": reason,
        "order_status": status,
        "applied_at": applied.isoformat(),
        "delivered_at": delivered.isoformat() if delivered else None,
        "items": items,
        "shipping_fee_paid_fen": rng.choice((0, 0, 0, 600, 800, 1000)),
        "has_shipping_insurance": rng.random() < 0.35,
        "buyer_vip_level": rng.choices((0, 1, 2, 3), weights=(88, 7, 3, 2))[0],
        "evidence": evidence,
        "technical_support_done": rng.random() < 0.2,
    }
    if rng.random() < 0.15:
        total = sum(i["paid_amount_fen"] for i in items)
        case["requested_amount_fen"] = max(1, total * rng.randint(20, 90) // 100)
    if status == "delivered" and case_type in ("return_refund", "exchange") and rng.random() < 0.4:
        case["goods_intact"] = rng.random() < 0.85
        case["package_opened"] = rng.random() < 0.3
    return case


def varied_facts(rng: random.Random, count: int) -> list[Any]:
    from django.utils import timezone

    from aftersales.policy.facts import CaseIn

    now = timezone.now()
    return [CaseIn.model_validate(varied_case_json(rng, now)).to_facts() for _ in range(count)]


def minimal_triage(facts: Any, limit_fen: int, evidence_rules: dict[str, list[str]]) -> str:
    """The baseline: the shortest if/else that picks a recommendation from the same facts.
    No trace, no money split, no deadlines, no no-reason window, no special categories."""
    if facts.order_status == "unshipped":
        return "approve_refund"
    if facts.order_status == "shipped" and facts.type in ("refund_shipped", "return_refund"):
        return "intercept_first"
    needed = evidence_rules.get(facts.reason)
    if needed and not facts.evidence.issuperset(needed):
        return "needs_evidence"
    return "needs_review"


def timed_loop(fn: Callable[[Any], Any], items: list[Any], n: int) -> float:
    """Seconds for n calls over items (cycled), one timer around the whole loop."""
    count = len(items)
    started = time.perf_counter()
    for i in range(n):
        fn(items[i % count])
    return time.perf_counter() - started


def per_call(fn: Callable[[Any], Any], items: list[Any], n: int) -> list[float]:
    """Seconds of each of n calls (perf_counter_ns, ~0.1 µs of overhead per call)."""
    clock = time.perf_counter_ns
    count = len(items)
    out = []
    for i in range(n):
        item = items[i % count]
        started = clock()
        fn(item)
        out.append((clock() - started) / 1e9)
    return out


# Set before the fork; the workers read them.
_WORK: dict[str, Any] = {}


def _worker(n: int) -> float:
    from aftersales.policy.engine import decide

    facts, policy = _WORK["facts"], _WORK["policy"]
    return timed_loop(lambda f: decide(f, policy), facts, n)


def parallel(processes: int, n: int) -> tuple[float, list[float]]:
    """Wall seconds for `processes` processes deciding n cases each at once, and each one's
    own seconds."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        pool.map(_worker, [200] * processes)  # start and warm up every worker
        started = time.perf_counter()
        own = pool.map(_worker, [n] * processes, chunksize=1)
        wall = time.perf_counter() - started
    return wall, own


def part_a(args: argparse.Namespace) -> list[str]:
    from django.db import connections
    from django.utils import timezone

    from aftersales.core.actors import Actor
    from aftersales.policy.document import default_policy
    from aftersales.policy.engine import decide
    from aftersales.policy.services import policy_for, publish_policy_version
    from aftersales.shops.choices import Platform
    from aftersales.shops.services import create_shop

    rng = random.Random(args.seed)
    facts = varied_facts(rng, args.facts)
    policy = default_policy()
    n = args.decisions
    limit = policy.data["triage"]["auto_approve_limit_fen"]
    evidence_rules = policy.data["evidence"]

    def do_decide(f: Any) -> Any:
        return decide(f, policy)

    def do_minimal(f: Any) -> Any:
        return minimal_triage(f, limit, evidence_rules)

    decisions = [decide(f, policy) for f in facts]
    recommendations = Counter(d.recommendation for d in decisions)
    complexity = Counter(d.complexity for d in decisions)
    agree = sum(
        d.recommendation == minimal_triage(f, limit, evidence_rules)
        for f, d in zip(facts, decisions, strict=True)
    )
    trace_len = statistics.mean(len(d.trace) for d in decisions)

    # Warm up, then: throughput (one timer per loop) and latency (one timer per call).
    timed_loop(do_decide, facts, min(n, 5_000))
    timed_loop(do_minimal, facts, min(n, 5_000))
    # The machine is shared: five loops of n/5 each, alternating, and the median rate.
    part = max(1, n // 5)
    decide_rates, minimal_rates = [], []
    for _ in range(5):
        decide_rates.append(part / timed_loop(do_decide, facts, part))
        minimal_rates.append(part / timed_loop(do_minimal, facts, part))
    lat_decide = per_call(do_decide, facts, n)
    lat_minimal = per_call(do_minimal, facts, n)
    m = min(n, 20_000)
    lat_json = per_call(lambda d: d.as_json(), decisions, m)
    lat_both = per_call(lambda f: decide(f, policy).as_json(), facts, m)

    # What every decide_case also runs: the policy in force, from the database (one query,
    # TOML parsing of the shop's version, merging into the default).
    shop = create_shop(
        platform=Platform.DOUYIN,
        platform_shop_id="bench-policy",
        name="压测店铺",
        by=Actor.system("bench"),
    )
    effective = timezone.now()
    publish_policy_version(
        shop=shop,
        document="[triage]\nauto_approve_limit_fen = 30000\n\n[sla]\nvip_factor = 0.6\n",
        effective_from=effective,
        by=Actor.system("bench"),
        note="bench",
    )
    at = effective + timedelta(seconds=1)
    for _ in range(20):
        policy_for(shop.pk, at)
    lat_policy_for = per_call(lambda _x: policy_for(shop.pk, at), [None], 500)
    lat_default = per_call(lambda _x: policy_for(None, at), [None], 500)

    # Per-core scaling: the same loop in 1 process, then in `--processes` at once.
    connections.close_all()  # nothing shared across the fork
    _WORK["facts"], _WORK["policy"] = facts, policy
    n_each = max(1_000, n // 2)
    k = args.processes
    ones, togethers, per_process = [], [], []
    for _ in range(3):  # alternating, the median of three
        wall_1, _own = parallel(1, n_each)
        wall_k, own_k = parallel(k, n_each)
        ones.append(n_each / wall_1)
        togethers.append(k * n_each / wall_k)
        per_process.append(statistics.mean(n_each / t for t in own_k))

    rate = statistics.median(decide_rates)
    minimal_rate = statistics.median(minimal_rates)

    def row(name: str, per_s: float, times: list[float]) -> str:
        return f"| {name} | {per_s:,.0f} | {pcts(times, 1e6)} |"

    def rate_of(times: list[float]) -> float:
        return len(times) / sum(times)

    shares = ", ".join(
        f"{key} {100 * v / len(facts):.0f}%" for key, v in recommendations.most_common()
    )
    one = statistics.median(ones)
    together = statistics.median(togethers)
    return [
        "",
        f"### (a) decide(): {n:,} decisions over {len(facts):,} distinct facts, one process",
        "",
        f"recommendations: {shares}; complex {100 * complexity['complex'] / len(facts):.0f}%;"
        f" {trace_len:.1f} trace lines per decision",
        f"the minimal triage agrees with decide() on {100 * agree / len(facts):.0f}% of the facts",
        "",
        "| | per second | µs p50 | µs p95 | µs p99 |",
        "|---|---:|---:|---:|---:|",
        row("`decide(facts, policy)`", rate, lat_decide),
        row("baseline: minimal if/else triage", minimal_rate, lat_minimal),
        row("`Decision.as_json()` alone", rate_of(lat_json), lat_json),
        row("`decide(...).as_json()`", rate_of(lat_both), lat_both),
        row("`policy_for(shop)` (query + TOML + merge)", rate_of(lat_policy_for), lat_policy_for),
        row("`policy_for(None)` (default, no query)", rate_of(lat_default), lat_default),
        "",
        f"- per second: the median of 5 loops of {part:,} (decide() ranged"
        f" {min(decide_rates):,.0f}–{max(decide_rates):,.0f}/s); µs: each call timed alone",
        f"- decide() takes {minimal_rate / rate:.0f}× the minimal triage's time;"
        f" {rate / TARGET_PER_CORE:.1f}× the target of {TARGET_PER_CORE:,}/s per core",
        "",
        f"| processes (fork), {n_each:,} decisions each, median of 3 | decisions/s in all"
        " | per process | per core vs target |",
        "|---|---:|---:|---:|",
        f"| 1 | {one:,.0f} | {one:,.0f} | {one / TARGET_PER_CORE:.1f}× |",
        f"| {k} | {together:,.0f} | {statistics.median(per_process):,.0f}"
        f" | {together / min(k, os.cpu_count() or 1) / TARGET_PER_CORE:.1f}× |",
        f"- scaling: {k} processes give {together / one:.2f}× one process"
        f" on {os.cpu_count()} logical cores",
    ]


# --- (b) The sweep ---

# (kind, hours, is the buyer's clock)
KINDS = [
    ("first_response", 2, False),
    ("plan", 24, False),
    ("review", 48, False),
    ("return_shipment", 9 * 24, True),  # 7 working days
    ("inspection", 48, False),
    ("final_review", 24, False),
    ("refund", 24, False),
    ("replacement_shipment", 48, False),
]


class SweepFixture:
    """One shop with its staff; `clocks` running clocks on cases with three live clocks each
    (distinct kinds), written in bulk. The due ones are merchant clocks."""

    def __init__(self, rng: random.Random, clocks: int, due: int) -> None:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from aftersales.cases.models import Case
        from aftersales.core.actors import Actor
        from aftersales.orders.models import Buyer, Order
        from aftersales.shops.choices import Platform, Role
        from aftersales.shops.services import add_member, create_shop
        from aftersales.sla.models import SlaClock

        system = Actor.system("bench")
        self.shop = create_shop(
            platform=Platform.DOUYIN, platform_shop_id="bench-sweep", name="压测店铺", by=system
        )
        users = get_user_model().objects
        agents = []
        for i, role in enumerate([Role.SUPERVISOR, Role.SUPERVISOR, Role.ADMIN] + [Role.AGENT] * 8):
            user = users.create_user(f"sweep-{role}-{i}", password=None)
            add_member(shop=self.shop, user=user, role=role, by=system)
            if role == Role.AGENT:
                agents.append(user.pk)
        self.agents = agents
        self.now = now = timezone.now().replace(microsecond=0)
        buyers = Buyer.objects.bulk_create(
            Buyer(shop=self.shop, platform_buyer_id=f"sb{i}", nickname=f"买家{i}", vip_level=0)
            for i in range(1_000)
        )
        self.buyers = buyers
        n_cases = -(-clocks // 3)
        orders = Order.objects.bulk_create(
            (
                Order(
                    shop=self.shop,
                    buyer=buyers[i % len(buyers)],
                    platform_order_id=f"so{i}",
                    status="delivered",
                    paid_at=now - timedelta(days=10),
                    shipped_at=now - timedelta(days=9),
                    delivered_at=now - timedelta(days=7),
                )
                for i in range(n_cases)
            ),
            batch_size=5_000,
        )
        cases = Case.objects.bulk_create(
            (
                Case(
                    shop=self.shop,
                    order=order,
                    type="return_refund",
                    reason="quality_issue",
                    requested_amount_fen=8_800,
                    status="pending_review",
                    applied_at=now - timedelta(hours=rng.uniform(0, 72)),
                    assignee_id=rng.choice(agents) if rng.random() < 0.5 else None,
                )
                for order in orders
            ),
            batch_size=5_000,
        )
        # Which clocks are due: spread over the cases, merchant clocks only (a buyer's expiry
        # closes the case, which would stop its clocks and end the repeated rounds).
        rows: list[Any] = []
        due_slots = set(rng.sample(range(clocks), due))
        self.warn_ids: list[int] = []
        self.breach_ids: list[int] = []
        flags: list[str] = []
        for index in range(clocks):
            case = cases[index // 3]
            if index % 3 == 0:
                kinds = rng.sample(KINDS, 3)
            kind, hours, buyer = kinds[index % 3]
            is_due = index in due_slots and not buyer
            if index in due_slots and buyer:  # swap in a merchant kind for this slot
                kind, hours, buyer = next(k for k in KINDS if not k[2] and k not in kinds)
                kinds[index % 3] = (kind, hours, buyer)
                is_due = True
            span = timedelta(hours=hours)
            if not is_due:
                elapsed = rng.uniform(0.0, 0.74)  # not at risk yet (at-risk from 0.75)
                flag = ""
            elif len(flags) % 2 == 0:
                elapsed = rng.uniform(0.76, 0.99)  # at risk, not breached
                flag = "warn"
            else:
                elapsed = rng.uniform(1.001, 1.05)  # breached; warned already
                flag = "breach"
            if flag:
                flags.append(flag)
            started = now - span * elapsed
            due_at = started + span
            at_risk = due_at - span * 0.25
            rows.append(
                SlaClock(
                    shop=self.shop,
                    case=case,
                    kind=kind,
                    started_at=started,
                    due_at=due_at,
                    at_risk_at=at_risk,
                    at_risk_notified_at=at_risk + timedelta(minutes=1)
                    if flag == "breach"
                    else None,
                    is_buyer_clock=buyer,
                    policy_version="default@2025.1",
                )
            )
            rows[-1].bench_flag = flag  # type: ignore[attr-defined]
        SlaClock.objects.bulk_create(rows, batch_size=5_000)
        for clock in rows:
            if clock.bench_flag == "warn":  # type: ignore[attr-defined]
                self.warn_ids.append(clock.pk)
            elif clock.bench_flag == "breach":  # type: ignore[attr-defined]
                self.breach_ids.append(clock.pk)
        self.clock_count = len(rows)
        self.case_count = len(cases)

    def grow(self, total: int, rng: random.Random) -> float:
        """Add pending clocks, none of them due, until there are `total` (every kind on new
        cases of the same shop); returns the seconds it took. The due ones stay the same."""
        from aftersales.cases.models import Case
        from aftersales.orders.models import Order
        from aftersales.sla.models import SlaClock

        started = time.perf_counter()
        now = self.now
        n_cases = -(-(total - self.clock_count) // len(KINDS))
        offset = self.case_count
        orders = Order.objects.bulk_create(
            (
                Order(
                    shop=self.shop,
                    buyer=self.buyers[i % len(self.buyers)],
                    platform_order_id=f"so{offset + i}",
                    status="delivered",
                    paid_at=now - timedelta(days=10),
                    shipped_at=now - timedelta(days=9),
                    delivered_at=now - timedelta(days=7),
                )
                for i in range(n_cases)
            ),
            batch_size=5_000,
        )
        cases = Case.objects.bulk_create(
            (
                Case(
                    shop=self.shop,
                    order=order,
                    type="return_refund",
                    reason="quality_issue",
                    requested_amount_fen=8_800,
                    status="pending_review",
                    applied_at=now - timedelta(hours=rng.uniform(0, 72)),
                    assignee_id=rng.choice(self.agents) if rng.random() < 0.5 else None,
                )
                for order in orders
            ),
            batch_size=5_000,
        )

        def clocks() -> Iterator[Any]:
            added = 0
            for case in cases:
                for kind, hours, buyer in KINDS:
                    if self.clock_count + added >= total:
                        return
                    span = timedelta(hours=hours)
                    started = now - span * rng.uniform(0.0, 0.74)  # not at risk yet
                    due_at = started + span
                    added += 1
                    yield SlaClock(
                        shop=self.shop,
                        case=case,
                        kind=kind,
                        started_at=started,
                        due_at=due_at,
                        at_risk_at=due_at - span * 0.25,
                        is_buyer_clock=buyer,
                        policy_version="default@2025.1",
                    )

        SlaClock.objects.bulk_create(clocks(), batch_size=5_000)
        self.case_count += len(cases)
        self.clock_count = SlaClock.objects.count()
        return time.perf_counter() - started

    def rearm(self) -> None:
        """Make the due clocks due again (not timed)."""
        from django.db import connection, transaction

        from aftersales.sla.models import Notification, SlaClock

        with transaction.atomic():
            Notification.objects.filter(clock_id__in=self.warn_ids + self.breach_ids).delete()
            SlaClock.objects.filter(pk__in=self.warn_ids).update(at_risk_notified_at=None)
            SlaClock.objects.filter(pk__in=self.breach_ids).update(breached_at=None)
        if connection.vendor == "postgresql":
            # Updated rows leave dead index entries behind; autovacuum would clear them within
            # a minute in production, and the sweep's queries would otherwise be measured
            # against an index bloated by our own re-arming.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM sla_slaclock")


def product_find(now: datetime, limit: int = 500) -> tuple[list[int], list[int]]:
    """The sweep's find: `sla.services.due_firings`, two raw statements merged (issue 16)."""
    from aftersales.sla.services import WARNING, due_firings

    due = due_firings(now, limit)
    return (
        [pk for pk, firing in due if firing == WARNING],
        [pk for pk, firing in due if firing != WARNING],
    )


def old_orm_find(now: datetime, limit: int = 500) -> tuple[list[int], list[int]]:
    """The sweep's find before issue 16: two ORM queries, each ordered, as `sweep` wrote them."""
    from aftersales.sla.models import ClockState, SlaClock

    due_warnings = (
        SlaClock.objects.filter(
            state=ClockState.RUNNING, at_risk_notified_at__isnull=True, at_risk_at__lte=now
        )
        .order_by("at_risk_at")
        .values_list("pk", flat=True)[:limit]
    )
    due_breaches = (
        SlaClock.objects.filter(state=ClockState.RUNNING, breached_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(due_warnings), list(due_breaches)


# The baseline: the bare indexed queries, with the sweep's ordering (the baseline before issue
# 16 had no ORDER BY, which the sweep's queries had).
RAW_WARNINGS = (
    "SELECT id FROM sla_slaclock WHERE at_risk_at <= %s AND at_risk_notified_at IS NULL"
    " AND state = 'running' ORDER BY at_risk_at LIMIT 500"
)
RAW_BREACHES = (
    "SELECT id FROM sla_slaclock WHERE breached_at IS NULL AND due_at <= %s"
    " AND state = 'running' ORDER BY due_at LIMIT 500"
)


def db_now(now: datetime) -> Any:
    """`now` as the ORM passes it to this database."""
    from django.db import connection

    from aftersales.sla.models import SlaClock

    return SlaClock._meta.get_field("due_at").get_db_prep_value(now, connection)


def raw_find(now_param: Any) -> tuple[list[int], list[int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RAW_WARNINGS, [now_param])
        warnings = [row[0] for row in cursor.fetchall()]
        cursor.execute(RAW_BREACHES, [now_param])
        breaches = [row[0] for row in cursor.fetchall()]
    return warnings, breaches


@contextmanager
def counting_statements() -> Iterator[tuple[Counter[str], list[float]]]:
    """Count statements by their first word, and the time spent executing them."""
    from django.db import connection

    counts: Counter[str] = Counter()
    spent = [0.0]

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        counts[sql.split(None, 1)[0].upper()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    with connection.execute_wrapper(wrapper):
        yield counts, spent


def timed_commits() -> list[float]:
    """Time spent in COMMIT (Django commits on the driver's connection, not via a cursor)."""
    from django.db import connection

    spent = [0.0]
    original = connection._commit

    def commit() -> None:
        started = time.perf_counter()
        try:
            original()
        finally:
            spent[0] += time.perf_counter() - started

    connection._commit = commit  # type: ignore[method-assign]
    return spent


def explain(now_param: Any) -> list[str]:
    from django.db import connection

    from aftersales.sla import services as sla
    from aftersales.sla.models import ClockState, SlaClock

    names = {
        "table": connection.ops.quote_name(SlaClock._meta.db_table),
        "running": ClockState.RUNNING.value,
    }
    out = []
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with connection.cursor() as cursor:
        for label, statement, params in (
            ("baseline warnings", RAW_WARNINGS, [now_param]),
            ("baseline breaches", RAW_BREACHES, [now_param]),
            ("the sweep's warnings", sla._DUE_WARNINGS_SQL.format(**names), [now_param, 500]),
            ("the sweep's breaches", sla._DUE_BREACHES_SQL.format(**names), [now_param, 500]),
        ):
            cursor.execute(prefix + statement, params)
            out.append(f"EXPLAIN {label}:")
            out.extend("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
    return out


def sweep_rounds(fixture: SweepFixture, rounds: int, reps: int, first: bool) -> list[str]:
    """The sweep at the fixture's present size: its find beside the baseline, whole sweeps,
    idle sweeps. With `first`, also the statements per fired clock."""
    from django.db import connection

    from aftersales.sla.services import sweep

    now = fixture.now
    now_param = db_now(now)
    # The sweep's find, the old find and the bare queries all find the same clocks.
    for find in (lambda: product_find(now), lambda: old_orm_find(now), lambda: raw_find(now_param)):
        found_w, found_b = find()
        assert sorted(found_w) == sorted(fixture.warn_ids), len(found_w)
        assert sorted(found_b) == sorted(fixture.breach_ids), len(found_b)
    plans = explain(now_param)

    # Untimed: the first sweep warms up and checks the result; the second (with `first`)
    # counts the statements per clock and the time spent in them.
    fired = sweep(now)
    assert fired == (len(fixture.warn_ids), len(fixture.breach_ids)), fired
    fired_total = sum(fired)
    fixture.rearm()
    per_clock = ""
    if first:
        commits = timed_commits()
        with counting_statements() as (counts, in_execute):
            t0 = time.perf_counter()
            assert sweep(now) == fired
            took = time.perf_counter() - t0
        del connection._commit  # back to the class's method
        per_clock = ", ".join(f"{k} {v / fired_total:.1f}" for k, v in sorted(counts.items()))
        per_clock += (
            f"; of the sweep's time {100 * in_execute[0] / took:.0f}% inside cursor.execute,"
            f" {100 * commits[0] / took:.0f}% in COMMIT, the rest Python"
        )
        fixture.rearm()

    finds: dict[str, list[float]] = {"new": [], "old": [], "raw": []}
    runs: dict[str, Callable[[], object]] = {
        "new": lambda: product_find(now),
        "old": lambda: old_orm_find(now),
        "raw": lambda: raw_find(now_param),
    }
    full: list[float] = []
    empty: list[float] = []
    empty_raw: list[float] = []
    order = list(runs)
    for _round in range(rounds):
        for _rep in range(reps):
            order = order[1:] + order[:1]  # each goes first as often as the others
            for name in order:
                t0 = time.perf_counter()
                runs[name]()
                finds[name].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = sweep(now)
        full.append(time.perf_counter() - t0)
        assert result == fired, result
        for _rep in range(reps):
            t0 = time.perf_counter()
            assert sweep(now) == (0, 0)
            empty.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert raw_find(now_param) == ([], [])
            empty_raw.append(time.perf_counter() - t0)
        fixture.rearm()

    ms = 1000.0

    def row(name: str, times: list[float], samples: bool = True) -> str:
        return f"| {name} | {pcts(times, ms)} | {len(times) if samples else ''} |"

    def ratio(name: str, a: list[float], b: list[float]) -> str:
        values = " | ".join(f"{percentile(a, p) / percentile(b, p):.2f}" for p in (50, 95, 99))
        return f"| **{name}** | {values} | |"

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        "",
        f"### (b) sweep(): {fixture.clock_count:,} pending clocks on {fixture.case_count:,}"
        f" cases, {len(fixture.warn_ids)} warnings + {len(fixture.breach_ids)} breaches due,"
        f" {rounds} rounds (load average {load})",
        "",
        *(
            [f"- statements per fired clock (warnings and breaches together): {per_clock}"]
            if first
            else []
        ),
        "",
        "| | ms p50 | ms p95 | ms p99 | samples |",
        "|---|---:|---:|---:|---:|",
        row(
            "**find due clocks: the sweep's two statements, merged (`due_firings`)**", finds["new"]
        ),
        row("before issue 16: the sweep's two ORM queries, ordered", finds["old"]),
        row("baseline: the two bare indexed SELECTs, same ordering, raw SQL", finds["raw"]),
        ratio("sweep's find ÷ baseline", finds["new"], finds["raw"]),
        ratio("before ÷ baseline", finds["old"], finds["raw"]),
        row(f"whole sweep, {fired_total} fired", full),
        row("… per fired clock", [t / fired_total for t in full], samples=False),
        row("sweep with nothing due (steady-state tick)", empty),
        row("baseline: the two raw SELECTs, nothing due", empty_raw),
        ratio("idle sweep ÷ baseline", empty, empty_raw),
        "",
        *plans,
    ]


IMMEDIATE_TASK = "aftersales.cases.tasks.execute_refund_task"


def claim_cost(reps: int) -> list[float]:
    """The worker's claim, as `db_worker` runs it before every task: the ready rows of its
    backend, first by (priority desc, run_after, enqueued_at), locked with SKIP LOCKED; in a
    transaction rolled back, so the same row is claimed every time."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    times = []
    for _rep in range(reps):
        with transaction.atomic():
            t0 = time.perf_counter()
            claimed = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
            times.append(time.perf_counter() - t0)
            assert claimed is not None and claimed.task_path == IMMEDIATE_TASK
            transaction.set_rollback(True)
    return times


def add_timer_rows(fixture: SweepFixture, count: int) -> None:
    """The rows the old `sla.services._schedule` queued: `check_clock(clock_id)` deferred to
    the clock's at-risk time and to its due time, two per running clock."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from aftersales.sla.models import SlaClock

    have = DBTaskResult.objects.filter(task_path__endswith="check_clock").count()
    # Still ahead by the clock on the wall (the fixture's `now` is minutes old by now): a
    # timer row whose time had come would have been run and left the table.
    ahead = timezone.now() + timedelta(hours=1)
    clocks = SlaClock.objects.filter(at_risk_at__gt=ahead).order_by("pk")
    pending = clocks.values_list("pk", "at_risk_at", "due_at")[have // 2 : count // 2]
    DBTaskResult.objects.bulk_create(
        (
            DBTaskResult(
                task_path="aftersales.sla.tasks.check_clock",
                args_kwargs={"args": [pk], "kwargs": {}},
                backend_name="default",
                queue_name="default",
                priority=0,
                run_after=when,
            )
            for pk, warn_at, due_at in pending.iterator(chunk_size=5_000)
            for when in (warn_at, due_at)
        ),
        batch_size=5_000,
    )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def claim_section(fixture: SweepFixture, args: argparse.Namespace) -> list[str]:
    from django.db import connection, transaction
    from django_tasks_db.models import DBTaskResult, get_date_max

    # The sweeps above queued tasks of their own (the breaches' group-chat alerts): not what
    # is measured here, so the task table starts empty.
    left = Counter(DBTaskResult.objects.values_list("task_path", flat=True))
    DBTaskResult.objects.all().delete()
    # The worker has something to do: immediate tasks (run_after is the maximum date, which
    # the ordering puts after every deferred row).
    DBTaskResult.objects.bulk_create(
        DBTaskResult(
            task_path=IMMEDIATE_TASK,
            args_kwargs={"args": [i], "kwargs": {}},
            backend_name="default",
            queue_name="default",
            priority=0,
            run_after=get_date_max(),
        )
        for i in range(20)
    )
    analyze()
    counts = [int(n) for n in args.timer_rows.split(",") if n]
    results: list[tuple[str, int, list[float]]] = []
    results.append(("**this design: no timer row**", 0, claim_cost(args.claim_reps)))
    for count in counts:
        add_timer_rows(fixture, count)
        analyze()
        rows = DBTaskResult.objects.filter(task_path__endswith="check_clock").count()
        results.append(
            (
                f"before issue 16: {rows // 2:,} clocks' timer rows",
                rows,
                claim_cost(args.claim_reps),
            )
        )
    # What the migration `sla.0006_delete_queued_clock_timers` does on upgrade.
    DBTaskResult.objects.filter(task_path__endswith="check_clock", status="READY").delete()
    analyze()
    results.append(
        ("this design, after the migration deleted them", 0, claim_cost(args.claim_reps))
    )
    plan = []
    if connection.vendor == "postgresql":
        add_timer_rows(fixture, counts[-1] if counts else 0)
        analyze()
        with transaction.atomic():
            sql, params = (
                DBTaskResult.objects.ready()
                .filter(backend_name="default")
                .select_for_update(skip_locked=True)[:1]
                .query.sql_with_params()
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = ["EXPLAIN the claim with the old timer rows:"] + [
                "    " + row[0] for row in cursor.fetchall()
            ]
        DBTaskResult.objects.filter(task_path__endswith="check_clock").delete()
    base = percentile(results[0][2], 50)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        "",
        f"### (c) the worker's task claim (django_tasks_db), {fixture.clock_count:,} pending"
        f" clocks in the clock table, 20 immediate tasks ready, {args.claim_reps} claims each"
        f" (load average {load})",
        "",
        f"- task rows the sweeps above had queued, deleted first: {dict(left) or 'none'}",
        "",
        "| deferred timer rows in the task table | rows | ms p50 | ms p95 | ms p99 | ÷ no rows |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {rows:,} | {pcts(times, 1000.0)} | {percentile(times, 50) / base:.1f}× |"
            for name, rows, times in results
        ),
        "",
        *plan,
    ]


def part_b(args: argparse.Namespace) -> Iterator[str]:
    """Yields its lines as they are measured (a long run prints as it goes)."""
    # One WARNING line per breach would flood the output; the record is not what is measured.
    logging.getLogger("aftersales.sla.services").setLevel(logging.ERROR)
    rng = random.Random(args.seed + 1)
    started = time.perf_counter()
    fixture = SweepFixture(rng, args.clocks, args.due)
    fill = time.perf_counter() - started
    analyze()
    yield ""
    yield f"- filling {fixture.clock_count:,} clocks took {fill:.1f} s (bulk_create; not timed)"
    yield from sweep_rounds(fixture, args.sweeps, args.find_reps, first=True)
    if args.big_clocks > fixture.clock_count:
        took = fixture.grow(args.big_clocks, rng)
        analyze()
        yield ""
        yield f"- growing to {fixture.clock_count:,} clocks took {took:.1f} s (not timed)"
        yield from sweep_rounds(fixture, args.big_sweeps, args.find_reps, first=False)
    if not args.skip_claim:
        yield from claim_section(fixture, args)


def main() -> None:
    args = parse_args()
    cleanup = configure(args)
    try:
        setup_django()
        print("## bench/policy.py")
        print()
        for key, value in machine().items():
            print(f"- {key}: {value}")
        started = time.perf_counter()
        if not args.skip_a:
            for line in part_a(args):
                print(line, flush=True)
        if not args.skip_b:
            for line in part_b(args):
                print(line, flush=True)
        print(f"\n(ran {time.perf_counter() - started:.0f} s)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
