# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""Douyin ingestion: how fast pushes are acknowledged, and how fast a worker turns them into cases.

    .venv/bin/python bench/ingest.py acks                          # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helper_h \\
        .venv/bin/python bench/ingest.py acks                       # PostgreSQL
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helper_h \\
        .venv/bin/python bench/ingest.py e2e --workers 1 2          # PostgreSQL

acks: pushes acknowledged per second under concurrent load (each verified, stored and its
    processing queued in the task table, as in production), beside a bare Django endpoint that
    only reads the body and returns the same JSON — same server, same processes, same
    middleware: gunicorn serving `aftersales.wsgi` with `gthread` workers (as `make demo` and
    production do; `--web-workers`, `--web-threads`), the two endpoints measured in turn,
    alternating. The ratio is the figure: what storing before answering costs.
e2e: cases per second per worker, end to end: the simulator (in this process) has N buyers
    apply for an unshipped refund; their pushes are stored by the product's server; then W
    task workers (`db_worker`, separate processes) read Detail and orderDetail, open and
    triage each case, decide the refund, deliver the agreement and the buyer's messages,
    execute the refund, and process the pushes those operations cause. Timed from the
    workers' start until every case is refunded and nothing is left to send.

For PostgreSQL the database in DATABASE_URL is wiped (schema `public` dropped and recreated)
and migrated: point it at a database kept for benchmarks. SQLite uses a fresh temp file.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is on sys.path as the script's directory, and bench/queue.py would shadow the standard
# library's `queue` (imported below by concurrent.futures, and by Django's dependencies).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import types
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from multiprocessing import Pool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_KEY = "bench-app"
APP_SECRET = "bench-secret"
DOUYIN_GATEWAY = "aftersales.platforms.douyin.gateway.DouyinRefundGateway"
SUCCESS = b'{"code": 0, "msg": "success"}'


# --- Environment and Django ------------------------------------------------------------------


def environment(workdir: Path) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "AFTERSALES_SECRET_KEY": "bench-only-secret",
        "AFTERSALES_DEBUG": "false",  # no query log: what production runs
        "AFTERSALES_ALLOWED_HOSTS": "127.0.0.1",
        "AFTERSALES_LOG_LEVEL": "WARNING",
        "AFTERSALES_VAR_DIR": str(workdir),
    }
    if not os.environ.get("DATABASE_URL"):
        env["AFTERSALES_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    return env


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.AFTERSALES_REFUND_GATEWAY = DOUYIN_GATEWAY


def fresh_database() -> None:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0, interactive=False)


def machine() -> str:
    from django.db import connection

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    if connection.vendor == "sqlite":
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (WAL, temp file)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]} on 127.0.0.1"
    return (
        f"{model}, {os.cpu_count()} logical cores; Python {platform.python_version()}; "
        f"{database}; load average {os.getloadavg()[0]:.2f}"
    )


# --- The server and the workers (run as subprocesses of this script) -------------------------


def serve(port: int, workers: int, threads: int) -> None:
    """The product's URLs plus /bench/bare/, served by gunicorn as `make demo` and production
    serve them (`aftersales.wsgi`, `gthread` workers, aftersales/gunicorn_conf.py), with
    `workers` processes of `threads` threads each."""
    from gunicorn.app.base import BaseApplication

    class BenchServer(BaseApplication):
        def load_config(self):
            for name, value in {
                "bind": [f"127.0.0.1:{port}"],
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 5,
                "graceful_timeout": 5,
                "control_socket_disable": True,
                "loglevel": "warning",
            }.items():
                self.cfg.set(name, value)

        def load(self):
            setup_django()
            from django.conf import settings
            from django.http import HttpRequest, JsonResponse
            from django.urls import include, path
            from django.views.decorators.csrf import csrf_exempt
            from django.views.decorators.http import require_POST

            @csrf_exempt
            @require_POST
            def bare(request: HttpRequest) -> JsonResponse:
                request.body  # noqa: B018  (read it, as the push receiver does)
                return JsonResponse({"code": 0, "msg": "success"})

            urls = types.ModuleType("bench_ingest_urls")
            urls.urlpatterns = [path("bench/bare/", bare), path("", include("aftersales.urls"))]
            sys.modules["bench_ingest_urls"] = urls
            settings.ROOT_URLCONF = "bench_ingest_urls"
            from aftersales.wsgi import application

            return application

    BenchServer().run()


def worker() -> None:
    setup_django()
    from django.core.management import call_command

    call_command("db_worker", "--interval", "0.05", "--no-startup-delay", "--no-reload")


def spawn(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        env=os.environ | env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", "/bench/bare/", body=b"{}")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)  # the server is still starting
    raise SystemExit(f"the server on port {port} did not start")


# --- (a) acknowledgements ---------------------------------------------------------------------


def _post_many(job: tuple[int, str, list[tuple[bytes, dict[str, str]]], int]) -> list[float]:
    port, target, requests, threads = job

    def one(request: tuple[bytes, dict[str, str]]) -> float:
        body, headers = request
        started = time.perf_counter()
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", target, body=body, headers=headers)
        reply = conn.getresponse()
        answer = reply.read()
        conn.close()
        if reply.status != 200 or json.loads(answer) != {"code": 0, "msg": "success"}:
            raise RuntimeError(f"{target}: HTTP {reply.status} {answer[:200]!r}")
        return time.perf_counter() - started

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, requests))


def push_request(shop_id: str) -> tuple[bytes, dict[str, str]]:
    data = {
        "aftersale_id": int(uuid.uuid4().int % 10**18),
        "aftersale_status": 6,
        "aftersale_type": 2,
        "shop_id": int(shop_id),
        "update_time": "2025-01-01T10:00:00+08:00",
    }
    body = json.dumps(
        [{"tag": "200", "msg_id": uuid.uuid4().hex, "data": json.dumps(data)}],
        separators=(",", ":"),
    ).encode()
    sign = hashlib.md5(APP_KEY.encode() + body + APP_SECRET.encode()).hexdigest()
    return body, {"Content-Type": "application/json", "app-id": APP_KEY, "event-sign": sign}


def load(port: int, target: str, requests: list, processes: int, threads: int) -> dict:
    chunks = [requests[i::processes] for i in range(processes)]
    started = time.perf_counter()
    with Pool(processes) as pool:
        latencies = [
            x
            for part in pool.map(_post_many, [(port, target, c, threads) for c in chunks])
            for x in part
        ]
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[max(0, int(len(latencies) * share) - 1)] * 1000

    return {
        "rate": len(requests) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "load": os.getloadavg()[0],
    }


def run_acks(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    from django_tasks_db.models import DBTaskResult

    from aftersales import testing
    from aftersales.platforms.douyin.models import InboundMessage
    from aftersales.platforms.douyin.services import link_shop

    shop = testing.make_shop("压测店铺")
    link_shop(
        shop=shop,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        platform_shop_id="4000001",
        by=testing.SYSTEM,
    )
    port = free_port()
    server = spawn(
        env,
        *("serve", "--port", str(port)),
        *("--workers", str(args.web_workers), "--threads", str(args.web_threads)),
        log=workdir / "server.log",
    )
    runs: dict[str, list[dict]] = {"bare": [], "push": []}
    pushes = 0
    try:
        wait_until_serving(port)
        bare_requests = [(b'[{"tag":"200"}]', {"Content-Type": "application/json"})] * args.requests
        # Warm both paths in every server process (imports, connections, the link), then
        # measure each in turn, alternating, so that a change in the machine's load touches both.
        load(port, "/bench/bare/", bare_requests[:200], args.processes, args.threads)
        warm = [push_request("4000001") for _ in range(200)]
        load(port, "/webhooks/douyin/", warm, args.processes, args.threads)
        pushes += len(warm)
        for _ in range(args.rounds):
            runs["bare"].append(
                load(port, "/bench/bare/", bare_requests, args.processes, args.threads)
            )
            push_requests = [push_request("4000001") for _ in range(args.requests)]
            runs["push"].append(
                load(port, "/webhooks/douyin/", push_requests, args.processes, args.threads)
            )
            pushes += len(push_requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.show_log:
            print((workdir / "server.log").read_text()[-5000:])
    stored = InboundMessage.objects.filter(status="received").count()
    queued = DBTaskResult.objects.count()
    concurrency = args.processes * args.threads
    print(
        f"\n(a) pushes acknowledged: gunicorn, {args.web_workers} worker processes x "
        f"{args.web_threads} threads (gthread); {args.requests} requests per run, {args.rounds}"
        f" runs per endpoint alternating; {concurrency} concurrent clients"
    )
    print(f"    machine: {machine()}")
    mean = {}
    for name, label in (("bare", "bare endpoint"), ("push", "push receiver")):
        rate = statistics.mean(r["rate"] for r in runs[name])
        mean[name] = rate
        for number, r in enumerate(runs[name], 1):
            print(
                f"    {label:14s} run {number}: {r['rate']:6.0f} req/s  p50 {r['p50']:6.1f}"
                f"  p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  (load average {r['load']:.2f})"
            )
        print(f"    {label:14s} mean:  {rate:6.0f} req/s")
    print(f"    ratio push / bare: {mean['push'] / mean['bare']:.2f}")
    print(f"    stored messages {stored} (of {pushes} pushes), tasks queued {queued}")
    if stored != pushes or queued != stored:
        raise SystemExit("a push was acknowledged but not stored or not queued")


# --- (b) end to end -------------------------------------------------------------------------


def run_e2e(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    from django.db.models import Q

    from aftersales import testing
    from aftersales.cases.models import Case
    from aftersales.platforms.douyin.models import InboundMessage, OutboxOperation
    from aftersales.platforms.douyin.services import link_shop
    from douyin_sim.client import ControlClient
    from douyin_sim.server import Simulator

    port = free_port()
    server = spawn(env, "serve", "--port", str(port), log=workdir / "server.log")
    wait_until_serving(port)
    sim = Simulator(
        port=0,
        seed=11,
        config={"refund_delay": 0, "qps": 0, "tick": 1.0},
        switches={"push_timeout": 30.0},
    ).start()
    control = ControlClient(sim.url, timeout=60)
    try:
        remote = control.post(
            "shops",
            {
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "push_url": f"http://127.0.0.1:{port}/webhooks/douyin/",
            },
        )
        link_shop(
            shop=testing.make_shop("端到端压测店铺"),
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            platform_shop_id=str(remote["shop_id"]),
            gateway_url=sim.url,
            receiver_address_id=remote["return_address"]["address_id"],
            by=testing.SYSTEM,
        )
        print(f"\n(b) end to end, {args.cases} unshipped refunds per run")
        print(f"    machine: {machine()}")
        for count in args.workers:
            ids = []
            for _ in range(args.cases):
                order = control.post(
                    "orders",
                    {
                        "shop_id": remote["shop_id"],
                        "items": [
                            {"product_name": "纯棉T恤", "origin_amount": 9900, "pay_amount": 8800}
                        ],
                        "shipping_fee": 800,
                    },
                )
                applied = control.post(
                    "aftersales", {"order_id": order["order_id"], "type": 2, "reason_code": 2}
                )
                ids.append(applied["aftersale_id"])
            # Every application's push stored (and queued) before any worker starts.
            while InboundMessage.objects.filter(aftersale_id__in=ids).count() < len(ids):
                time.sleep(0.2)  # polling the database for the server's progress
            workers = [
                spawn(env, "worker", log=workdir / f"worker-{count}-{n}.log") for n in range(count)
            ]
            started = time.perf_counter()
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
                if time.perf_counter() - started > 1800:
                    raise SystemExit(f"gave up: {done} of {len(ids)} done")
                time.sleep(0.1)  # polling the database for the workers' progress
            elapsed = time.perf_counter() - started
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(timeout=60)
            synced = OutboxOperation.objects.filter(
                case__platform_case_id__in=ids, status="synced"
            ).count()
            failed = OutboxOperation.objects.filter(
                case__platform_case_id__in=ids, status="failed"
            ).count()
            calls = [
                op
                for op in control.get("operations", method="afterSale.operate")
                if op["code"] == 10000 and set(op["aftersale_ids"]) & set(ids)
            ]
            rate = len(ids) / elapsed
            print(
                f"    {count} worker(s): {rate:6.1f} cases/s, {rate / count:6.1f} per worker"
                f"  ({len(ids)} cases in {elapsed:.1f} s; {synced} operations synced, "
                f"{failed} failed; {len(calls)} agreements applied on the platform)"
            )
            if len(calls) != len(ids) or failed:
                raise SystemExit("an agreement was applied twice, never, or failed")
    finally:
        sim.stop()
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    acks = sub.add_parser("acks", help="pushes acknowledged per second vs a bare endpoint")
    acks.add_argument("--requests", type=int, default=3000)
    acks.add_argument("--processes", type=int, default=2, help="load-generating processes")
    acks.add_argument("--threads", type=int, default=8, help="threads per process")
    acks.add_argument("--rounds", type=int, default=2, help="runs per endpoint, alternating")
    acks.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    acks.add_argument("--web-threads", type=int, default=4, help="threads per worker process")
    acks.add_argument("--show-log", action="store_true", help="print the server's log tail")
    e2e = sub.add_parser("e2e", help="end-to-end cases per second per worker")
    e2e.add_argument("--cases", type=int, default=200)
    e2e.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    e2e.add_argument("--keep", action="store_true", help="keep the temp directory (logs)")
    serve_cmd = sub.add_parser("serve")
    serve_cmd.add_argument("--port", type=int, required=True)
    serve_cmd.add_argument("--workers", type=int, default=2)
    serve_cmd.add_argument("--threads", type=int, default=4)
    sub.add_parser("worker")
    args = parser.parse_args()

    if args.command == "serve":
        serve(args.port, args.workers, args.threads)
        return
    if args.command == "worker":
        worker()
        return

    workdir = Path(tempfile.mkdtemp(prefix="aftersales-ingest-bench-"))
    env = environment(workdir)
    os.environ.update(env)
    try:
        setup_django()
        fresh_database()
        if args.command == "acks":
            run_acks(args, env, workdir)
        else:
            run_e2e(args, env, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if getattr(args, "keep", False):
            print(f"logs and database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
