# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""End to end: push → case → policy → operations delivered, over real HTTP, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pipe_h4 \\
        .venv/bin/python bench/pipeline.py --cases 200 --workers 1 2 4 --latency 0.02

What runs, each its own process: the Douyin simulator (`python -m douyin_sim serve`, with
`--latency` seconds added to every signed API call: the platform's round trip), the product's
web server (gunicorn, gthread workers: what `make demo` and production run) receiving the
simulator's pushes on /webhooks/douyin/, and W task workers (`aftersales db_worker`, the
production task backend). For each W the simulator has N buyers apply for an unshipped refund
(each application pushed to the webhook and stored), then the workers start and the clock
runs until every case has reached its policy outcome (refunded and completed) and every
outbox operation is delivered, the follow-up pushes those operations cause included.

Printed per run: cases/s, tasks, HTTP calls to the platform and SQL statements (by kind,
counted in the workers) per case, commits per case (all processes, `pg_stat_database`), and
the load average. Then the raw-SQL baseline: the rows the 1-worker run wrote (every table,
every column, read back after the run) written again into copies of the same tables with the
same indexes (schema `bench_raw`, no foreign keys), with `executemany`, one transaction per
batch of cases, and the same number of updates per table — what the pipeline writes, at
the speed of the database.

The database in DATABASE_URL is wiped (schema `public` dropped and recreated) and migrated:
name one kept for benchmarks (it is created if missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from http.client import HTTPConnection
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_KEY = "bench-pipe-app"
APP_SECRET = "bench-pipe-secret"
PLATFORM_SHOP = "7390000001"
DOUYIN_GATEWAY = "aftersales.platforms.douyin.gateway.DouyinRefundGateway"


def environment(workdir: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "AFTERSALES_SECRET_KEY": "bench-only-secret",
        "AFTERSALES_DEBUG": "false",  # no query log: what production runs
        "AFTERSALES_ALLOWED_HOSTS": "127.0.0.1",
        "AFTERSALES_LOG_LEVEL": "WARNING",
        "AFTERSALES_VAR_DIR": str(workdir),
        "AFTERSALES_REFUND_GATEWAY": DOUYIN_GATEWAY,
        "PYTHONPATH": str(ROOT),
    }


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.AFTERSALES_REFUND_GATEWAY = DOUYIN_GATEWAY


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh_database() -> None:
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0, interactive=False)


def machine() -> str:
    from django.db import connection

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        database = f"PostgreSQL {cursor.fetchone()[0]} on 127.0.0.1"
    return (
        f"{model}, {os.cpu_count()} logical cores; Python {platform.python_version()}; {database}"
    )


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# --- Processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(env: dict[str, str], argv: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        argv, env=os.environ | env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def wait_for_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)  # still starting
    raise SystemExit(f"nothing answered on port {port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker(stats_path: str) -> None:
    """`db_worker` with every SQL statement of this process counted by kind and timed, and the
    process's CPU time kept (`PIPELINE_PROFILE=1`: a cProfile of the whole worker besides)."""
    setup_django()
    import resource

    from django.core.management import call_command
    from django.db import connection

    counts: Counter[str] = Counter()
    sql_seconds = [0.0]

    trace = os.environ.get("PIPELINE_TRACE") == "1"
    places: Counter[str] = Counter()

    def count(execute, sql, params, many, context):
        counts[sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"] += 1
        place = where() if trace else ""
        if trace:
            places[place] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            sql_seconds[0] += took
            if trace:
                place_seconds[place] += took

    def where() -> str:
        """Where a statement comes from: the innermost frame of our own code."""
        frame = sys._getframe(2)
        while frame is not None and (
            "/aftersales/" not in frame.f_code.co_filename
            or "site-packages" in frame.f_code.co_filename
        ):
            frame = frame.f_back
        if frame is None:
            return "?"
        name = frame.f_code.co_filename.split("/aftersales/", 1)[1]
        return f"{name}:{frame.f_code.co_name}"

    place_seconds: Counter[str] = Counter()
    commit_places: Counter[str] = Counter()
    if trace:  # commits are not statements of the execute wrapper: counted where they are made
        connection.ensure_connection()
        commit = connection._commit

        def counted_commit() -> None:
            commit_places[where()] += 1
            started = time.perf_counter()
            try:
                commit()
            finally:
                place_seconds["COMMIT"] += time.perf_counter() - started

        connection._commit = counted_commit

    profile = None
    if os.environ.get("PIPELINE_PROFILE") == "1":
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    try:
        with connection.execute_wrapper(count):
            call_command("db_worker", "--interval", "0.05", "--no-startup-delay", "--no-reload")
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        Path(stats_path).write_text(
            json.dumps(
                {
                    "statements": counts,
                    "sql_seconds": sql_seconds[0],
                    "cpu_seconds": usage.ru_utime + usage.ru_stime,
                }
            )
        )
        if trace:
            Path(stats_path + ".places").write_text(
                json.dumps(
                    {
                        "statements": places.most_common(),
                        "seconds": [(k, round(v, 3)) for k, v in place_seconds.most_common()],
                        "commits": commit_places.most_common(),
                    },
                    indent=1,
                )
            )
        if profile is not None:
            profile.disable()
            profile.dump_stats(stats_path + ".prof")


# --- Counters ------------------------------------------------------------------------------


def table_writes() -> dict[str, tuple[int, int, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
            " WHERE schemaname = 'public'"
        )
        return {name: (ins, upd, dele) for name, ins, upd, dele in cursor.fetchall()}


def commits() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def max_ids() -> dict[str, int]:
    """The highest id of every table with an integer `id`, so the run's rows can be found."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'id' AND data_type IN ('integer', 'bigint')"
        )
        tables = [row[0] for row in cursor.fetchall()]
        out = {}
        for table in tables:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
            out[table] = int(cursor.fetchone()[0])
    return out


def sample_waits(waits: Counter[str]) -> None:
    """What the other sessions of the database are waiting on now (a lock, the WAL flush of
    a commit, …), counted by wait event and statement; `waits[""]` counts the samples."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 70)"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state = 'active' AND wait_event IS NOT NULL"
        )
        for kind, event, query in cursor.fetchall():
            waits[f"{kind}:{event} [{query}]"] += 1
    waits[""] += 1


def counted(model, since: int) -> int:
    return model.objects.filter(pk__gt=since).count()


# --- The run -------------------------------------------------------------------------------


def apply_for_refunds(control, shop_id: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        order = control.post(
            "orders",
            {
                "shop_id": shop_id,
                "items": [{"product_name": "纯棉T恤", "origin_amount": 9900, "pay_amount": 8800}],
                "shipping_fee": 800,
            },
        )
        applied = control.post(
            "aftersales", {"order_id": order["order_id"], "type": 2, "reason_code": 2}
        )
        ids.append(str(applied["aftersale_id"]))
    return ids


def run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    from django.db.models import Q
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from aftersales import testing
    from aftersales.cases.models import Case
    from aftersales.platforms.douyin.models import ApiCallLog, InboundMessage, OutboxOperation
    from aftersales.platforms.douyin.services import link_shop
    from douyin_sim.client import ControlClient

    sim_port, web_port = free_port(), free_port()
    python = sys.executable
    sim = spawn(
        env,
        [
            python,
            "-m",
            "douyin_sim",
            "serve",
            "--port",
            str(sim_port),
            "--qps",
            "0",
            "--refund-delay",
            "0",
            "--latency",
            str(args.latency),
            "--push-timeout",
            "30",
            "--seed",
            "16",
        ],
        workdir / "sim.log",
    )
    web = spawn(
        env,
        [
            str(Path(python).parent / "gunicorn"),
            "aftersales.wsgi:application",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            str(args.web_workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        workdir / "web.log",
    )
    results = []
    try:
        wait_for_http(sim_port, "/_sim/health")
        wait_for_http(web_port, "/webhooks/douyin/")
        sim_url = f"http://127.0.0.1:{sim_port}"
        control = ControlClient(sim_url, timeout=60)
        remote = control.post(
            "shops",
            {
                "shop_id": PLATFORM_SHOP,
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "push_url": f"http://127.0.0.1:{web_port}/webhooks/douyin/",
            },
        )
        link_shop(
            shop=testing.make_shop("端到端压测店铺"),
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            platform_shop_id=str(remote["shop_id"]),
            gateway_url=sim_url,
            receiver_address_id=remote["return_address"]["address_id"],
            by=testing.SYSTEM,
        )
        print(f"\nPipeline, end to end: {args.cases} unshipped refunds per run")
        print(f"    machine: {machine()}")
        print(
            f"    simulator latency {args.latency * 1000:.0f} ms per API call; web: gunicorn "
            f"{args.web_workers} × gthread(4); {load_average()}"
        )
        for count in args.workers:
            ids_before = max_ids()
            task_mark = DBTaskResult.objects.count()
            log_mark = ids_before.get(ApiCallLog._meta.db_table, 0)
            writes_before = table_writes()
            run_mark = timezone.now()
            ids = apply_for_refunds(control, PLATFORM_SHOP, args.cases)
            while InboundMessage.objects.filter(aftersale_id__in=ids).count() < len(ids):
                time.sleep(0.2)  # the pushes are still arriving
            commits_before = commits()
            stats = [workdir / f"stats-{count}-{n}.json" for n in range(count)]
            workers = [
                spawn(
                    env,
                    [python, __file__, "worker", "--stats", str(stats[n])],
                    workdir / f"worker-{count}-{n}.log",
                )
                for n in range(count)
            ]
            started = time.perf_counter()
            waits: Counter[str] = Counter()
            while True:
                done = Case.objects.filter(
                    platform_case_id__in=ids, status="completed", refund_status="refunded"
                ).count()
                busy = (
                    OutboxOperation.objects.filter(
                        case__platform_case_id__in=ids, status__in=["pending", "sending"]
                    ).exists()
                    or InboundMessage.objects.filter(
                        Q(status__in=["received", "processing"]), aftersale_id__in=ids
                    ).exists()
                )
                if done == len(ids) and not busy:
                    break
                if time.perf_counter() - started > args.give_up:
                    print(f"    gave up after {args.give_up} s: {done} of {len(ids)} done")
                    break
                sample_waits(waits)
                time.sleep(0.1)  # polling for the workers' progress
            elapsed = time.perf_counter() - started
            load = load_average()
            commits_after = commits()
            for process in workers:
                stop(process)
            statements: Counter[str] = Counter()
            sql_seconds = cpu_seconds = 0.0
            for path in stats:
                if path.exists():
                    kept = json.loads(path.read_text())
                    statements.update(kept["statements"])
                    sql_seconds += kept["sql_seconds"]
                    cpu_seconds += kept["cpu_seconds"]
            writes_after = table_writes()
            n = len(ids)
            tasks = DBTaskResult.objects.count() - task_mark
            calls = counted(ApiCallLog, log_mark)
            synced = OutboxOperation.objects.filter(
                case__platform_case_id__in=ids, status="synced"
            ).count()
            failed_ops = OutboxOperation.objects.filter(
                case__platform_case_id__in=ids, status="failed"
            ).count()
            failed_messages = InboundMessage.objects.filter(
                aftersale_id__in=ids, status="failed"
            ).count()
            agreements = [
                op
                for op in control.get("operations", method="afterSale.operate")
                if op["code"] == 10000 and set(map(str, op["aftersale_ids"])) & set(ids)
            ]
            total = sum(statements.values())
            kinds = ", ".join(
                f"{kind} {value / n:.1f}" for kind, value in statements.most_common(6)
            )
            rate = n / elapsed
            print(
                f"    {count} worker(s): {rate:6.1f} cases/s ({done} of {n} done in "
                f"{elapsed:.1f} s; {load})"
            )
            print(
                f"        per case: {tasks / n:.1f} tasks, {calls / n:.1f} HTTP calls to the "
                f"platform, {total / n:.0f} SQL statements in the workers ({kinds}), "
                f"{(commits_after - commits_before) / n:.1f} commits (all processes)"
            )
            print(
                f"        {synced} operations synced, {failed_ops} failed; {failed_messages} "
                f"messages failed; {len(agreements)} agreement calls applied on the platform"
            )
            results.append(
                {
                    "workers": count,
                    "rate": rate,
                    "ids_before": ids_before,
                    "ids_after": max_ids(),
                    "writes": {
                        t: tuple(
                            a - b
                            for a, b in zip(
                                writes_after[t], writes_before.get(t, (0, 0, 0)), strict=True
                            )
                        )
                        for t in writes_after
                    },
                    "cases": n,
                }
            )
            print(
                where_time_goes(
                    workers=count,
                    elapsed=elapsed,
                    since=run_mark,
                    log_mark=log_mark,
                    sql_seconds=sql_seconds,
                    cpu_seconds=cpu_seconds,
                )
            )
            samples = waits.pop("", 0)
            if samples:
                print(
                    f"        the workers' statements seen waiting ({samples} samples of "
                    "pg_stat_activity, 10 a second): "
                    + "; ".join(f"{what} ×{k}" for what, k in waits.most_common(5))
                )
            if len(agreements) > n or failed_ops:
                print("        !! an agreement was applied more than once, or an operation failed")
        raw = raw_baseline(results[0], batch=args.batch)
        print(
            f"\n    raw-SQL baseline (rows of the {results[0]['workers']}-worker run, executemany,"
            f" one transaction per {args.batch} cases): {raw['rate']:.0f} cases/s; per case "
            f"{raw['inserts']:.1f} rows inserted into {raw['tables']} tables, "
            f"{raw['updates']:.1f} updates; {load_average()}"
        )
        for result in results:
            print(
                f"    {result['workers']} worker(s): {result['rate']:.1f} cases/s = "
                f"{result['rate'] / raw['rate']:.3f} × raw"
            )
    finally:
        stop(web)
        stop(sim)


def where_time_goes(
    *,
    workers: int,
    elapsed: float,
    since,
    log_mark: int,
    sql_seconds: float,
    cpu_seconds: float,
) -> str:
    """The workers' wall time, from the task rows and the call log of the run: in tasks that
    did something, in tasks that found their work done, between tasks (claims, idle polls);
    of it, SQL (timed in the workers), HTTP to the platform (the call log) and CPU."""
    from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Sum
    from django_tasks_db.models import DBTaskResult

    from aftersales.platforms.douyin import queueing
    from aftersales.platforms.douyin.models import ApiCallLog

    TAKEN_ALONG = getattr(queueing, "TAKEN_ALONG", None)  # noqa: N806 (older commits: none)

    ran = DBTaskResult.objects.filter(enqueued_at__gte=since, finished_at__isnull=False)
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    waited = ExpressionWrapper(F("started_at") - F("enqueued_at"), output_field=DurationField())
    noop = {"applied 0", "attempted 0"}
    busy = idle_tasks = 0.0
    done = found_done = taken_along = 0
    lines = []
    by_task = (
        ran.values("task_path", "return_value")
        .annotate(n=Count("id"), took=Sum(took), waited=Avg(waited))
        .order_by("task_path")
    )
    per_task: dict[str, list[float]] = {}
    for row in by_task:
        seconds = row["took"].total_seconds()
        name = row["task_path"].rsplit(".", 1)[1]
        if row["return_value"] == TAKEN_ALONG:
            taken_along += row["n"]
        elif row["return_value"] in noop:
            idle_tasks += seconds
            found_done += row["n"]
        else:
            busy += seconds
            done += row["n"]
            entry = per_task.setdefault(name, [0, 0.0, 0.0])
            entry[0] += row["n"]
            entry[1] += seconds
            entry[2] = max(entry[2], row["waited"].total_seconds())
    http = (
        ApiCallLog.objects.filter(pk__gt=log_mark).aggregate(ms=Sum("duration_ms"))["ms"] or 0
    ) / 1000
    total = workers * elapsed
    between = total - busy - idle_tasks
    lines.append(
        f"        where the workers' {total:.1f} s went: {busy:.1f} s in {done} tasks that did "
        f"work, {idle_tasks:.1f} s in {found_done} that found it done ({taken_along} more marked "
        f"done by the batch that took their rows, never run), {between:.1f} s between "
        f"tasks (claims, polls); SQL {sql_seconds:.1f} s, HTTP {http:.1f} s, worker CPU "
        f"{cpu_seconds:.1f} s (start-up included)"
    )
    lines.append(
        "        tasks that did work: "
        + "; ".join(
            f"{name} {n} × {seconds / n * 1000:.0f} ms (queued up to {wait:.1f} s)"
            for name, (n, seconds, wait) in per_task.items()
        )
    )
    return "\n".join(lines)


def raw_baseline(result: dict, *, batch: int) -> dict:
    """Write the run's rows again, table by table, with executemany into same-shaped tables."""
    from django.db import connection, transaction
    from psycopg.types.json import Jsonb

    n = result["cases"]
    inserted: dict[str, list[tuple]] = {}
    columns: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE; CREATE SCHEMA bench_raw")
        for table, since in result["ids_before"].items():
            ins, _upd, _del = result["writes"].get(table, (0, 0, 0))
            if ins <= 0:
                continue
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                [table],
            )
            described = cursor.fetchall()
            names = [name for name, _ in described]
            json_at = [i for i, (_, kind) in enumerate(described) if kind in ("json", "jsonb")]
            # This run's rows only (the later runs' rows have higher ids).
            cursor.execute(
                f'SELECT * FROM "{table}" WHERE id > %s AND id <= %s ORDER BY id',
                [since, result["ids_after"].get(table, since)],
            )
            rows = []
            for row in cursor.fetchall():
                values = list(row)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = Jsonb(values[i])
                rows.append(tuple(values))
            cursor.execute(
                f'CREATE TABLE bench_raw."{table}" (LIKE public."{table}" INCLUDING ALL)'
            )
            inserted[table] = rows
            columns[table] = names
    updates = {
        table: writes[1]
        for table, writes in result["writes"].items()
        if writes[1] > 0 and table in inserted
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, n, batch):
            share = (start, min(start + batch, n))
            with transaction.atomic():
                for table, rows in inserted.items():
                    lo, hi = (len(rows) * share[0]) // n, (len(rows) * share[1]) // n
                    names = columns[table]
                    placeholders = ", ".join(["%s"] * len(names))
                    quoted = ", ".join(f'"{c}"' for c in names)
                    cursor.executemany(
                        f'INSERT INTO bench_raw."{table}" ({quoted}) VALUES ({placeholders})',
                        rows[lo:hi],
                    )
                for table, count in updates.items():
                    rows = inserted[table]
                    lo, hi = (count * share[0]) // n, (count * share[1]) // n
                    target = columns[table][1]
                    ids = [(rows[i % len(rows)][0],) for i in range(lo, hi)]
                    cursor.executemany(
                        f'UPDATE bench_raw."{table}" SET "{target}" = "{target}" WHERE id = %s',
                        ids,
                    )
    elapsed = time.perf_counter() - started
    return {
        "rate": n / elapsed,
        "inserts": sum(len(r) for r in inserted.values()) / n,
        "updates": sum(updates.values()) / n,
        "tables": len(inserted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker")
    w.add_argument("--stats", required=True)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per platform call")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="cases per raw-SQL transaction")
    parser.add_argument("--give-up", type=float, default=900, help="seconds per run at most")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs)")
    args = parser.parse_args()
    if args.command == "worker":
        worker(args.stats)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database kept for benchmarks")
    ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-pipeline-bench-"))
    env = environment(workdir)
    os.environ.update(env)
    try:
        setup_django()
        fresh_database()
        run(args, env, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
