# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""A soak under faults (issue 15): buyers, the platform failing, workers killed, then a check.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/soak_h1 \\
        .venv/bin/python bench/soak.py --minutes 6 --rate 0.5

Not part of the test suite; bounded in time (`--minutes` of soak, then at most `--drain`
seconds to settle); loopback only. What runs, each its own process, as in production:

- the Douyin simulator (`douyin-sim serve`, its state in a file), with buyer traffic
  (`douyin-sim traffic`: orders and applications at `--rate`/s, and the buyers' follow-ups:
  returns shipped, withdrawals, interventions);
- the product's web server under gunicorn (`aftersales.gunicorn_conf`) receiving the pushes;
- `--workers` task workers (`aftersales db_worker --no-reload`);
- the sweeps: `aftersales sweep --every` and `aftersales douyin_sync --every`.

During the soak: a worker is SIGKILLed and started again every `--kill-every` seconds; the
simulator is stopped and started again twice (once SIGTERM, once SIGKILL: its state file
keeps what happened); the simulator's fault switches go through phases (off, 5xx before the
platform acted, 5xx after it acted, random, hung calls) and its pushes are duplicated and
reordered for a while; besides, the soak itself replays old pushes (duplicates, out of
order) and sends pushes with a bad signature and malformed signed pushes naming after-sales
that do not exist (refused, and must never be processed).

Then the drain: faults off, traffic stopped, dead pushes re-queued; wait until nothing is
pending or running in the inbox, the outbox and the task table; `aftersales douyin_reconcile`;
and the consistency report of the product against the simulator's state. Every line below
the totals must be 0; the exit status is 1 if one is not.

The database in DATABASE_URL is wiped (schema `public` dropped and recreated) and migrated:
name one kept for this (it is created if missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import importlib.util
import io
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from datetime import timedelta
from http.client import HTTPConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pipeline():
    """bench/pipeline.py's setup pieces (environment, database, processes), loaded by path:
    `bench/` is not a package, and putting it on sys.path would shadow the standard library's
    `queue` with bench/queue.py."""
    spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "bench" / "pipeline.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _pipeline()

APP_KEY = "soak-app"
APP_SECRET = "soak-secret"
PLATFORM_SHOP = "7390000015"
# After-sale ids of the refused pushes the soak sends: no after-sale has them on the platform,
# so any trace of one in the product means a refused push was processed.
FAKE_IDS_FROM = 990_000_000_000

# Shorter leases and backoffs than production so that a killed worker's claims come back,
# and retries are made, within a soak of minutes (the semantics are the same).
SOAK_ENV = {
    "DOUYIN_OUTBOX_LEASE_SECONDS": "45",
    "DOUYIN_INBOUND_LEASE_SECONDS": "45",
    "AFTERSALES_TASK_LEASE_SECONDS": "60",
    "AFTERSALES_REFUND_LEASE_SECONDS": "60",
    "DOUYIN_OUTBOX_BACKOFF_BASE": "1",
    "DOUYIN_OUTBOX_BACKOFF_CAP": "10",
    "DOUYIN_HTTP_TIMEOUT": "4",
    "DOUYIN_SYNC_INTERVAL": "10",
    "AFTERSALES_AUDIT_CHECKPOINT_EVERY": "30",
}

FAULT_PHASES = [
    ("off", {"api_fail_rate": 0.0, "api_hang_rate": 0.0}),
    ("5xx before the platform acts (20%)", {"api_fail_rate": 0.2, "api_fault_when": "before"}),
    ("5xx after the platform acted (20%)", {"api_fail_rate": 0.2, "api_fault_when": "after"}),
    (
        "pushes duplicated ×2 and reordered (window 4)",
        {"api_fail_rate": 0.0, "push_duplicate": 2, "push_reorder_window": 4},
    ),
    (
        "5xx random (20%), hung calls after acting (3%)",
        {
            "api_fail_rate": 0.2,
            "api_hang_rate": 0.03,
            "api_hang_seconds": 5.0,
            "api_fault_when": "random",
            "push_duplicate": 1,
            "push_reorder_window": 0,
        },
    ),
]
FAULTS_OFF = {
    "api_fail_rate": 0.0,
    "api_hang_rate": 0.0,
    "api_fail_next": 0,
    "api_hang_next": 0,
    "push_duplicate": 1,
    "push_reorder_window": 0,
}


def log(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S', time.gmtime())} UTC] {text}", flush=True)


# --- Processes -----------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Soak:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], workdir: Path):
        self.args = args
        self.env = env
        self.workdir = workdir
        self.python = sys.executable
        self.bin = Path(self.python).parent
        self.sim_port, self.web_port = P.free_port(), P.free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.push_url = f"http://127.0.0.1:{self.web_port}/webhooks/douyin/"
        self.state = workdir / "sim-state.json"
        self.rng = random.Random(args.seed)
        self.sim: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.traffic: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.sweeps: list[subprocess.Popen] = []
        self.counts: Counter[str] = Counter()
        self.fake_ids: list[str] = []
        self.next_fake = FAKE_IDS_FROM

    # processes

    def start_sim(self) -> None:
        argv = [
            str(self.bin / "douyin-sim"),
            "serve",
            "--port",
            str(self.sim_port),
            "--state",
            str(self.state),
            "--seed",
            str(self.args.seed),
            "--qps",
            "0",
            "--refund-delay",
            "2",
            "--push-timeout",
            "10",
            "--push-retry-base",
            "1",
        ]
        self.sim = P.spawn(self.env, argv, self.workdir / "sim.log")
        P.wait_for_http(self.sim_port, "/_sim/health")

    def start_web(self) -> None:
        env = self.env | {
            "AFTERSALES_BIND": f"127.0.0.1:{self.web_port}",
            "AFTERSALES_WEB_WORKERS": "2",
            "AFTERSALES_GUNICORN_LOG_LEVEL": "warning",
        }
        argv = [
            str(self.bin / "gunicorn"),
            "-c",
            "python:aftersales.gunicorn_conf",
            "aftersales.wsgi:application",
        ]
        self.web = P.spawn(env, argv, self.workdir / "web.log")
        P.wait_for_http(self.web_port, "/webhooks/douyin/")

    def start_worker(self, n: int) -> subprocess.Popen:
        argv = [str(self.bin / "aftersales"), "db_worker", "--no-reload", "--interval", "0.2"]
        return P.spawn(self.env, argv, self.workdir / f"worker-{n}.log")

    def start_sweeps(self) -> None:
        aftersales = str(self.bin / "aftersales")
        self.sweeps = [
            P.spawn(self.env, [aftersales, "sweep", "--every", "10"], self.workdir / "sweep.log"),
            P.spawn(
                self.env,
                [aftersales, "douyin_sync", "--every", "15"],
                self.workdir / "sync.log",
            ),
        ]

    def start_traffic(self) -> None:
        argv = [
            str(self.bin / "douyin-sim"),
            "traffic",
            "--url",
            self.sim_url,
            "--rate",
            str(self.args.rate),
            "--shop",
            PLATFORM_SHOP,
            "--seed",
            str(self.args.seed),
            "--follow-up",
            "5,60",
        ]
        self.traffic = P.spawn(self.env, argv, self.workdir / "traffic.log")

    def kill_sim(self, how: signal.Signals) -> None:
        assert self.sim is not None
        self.sim.send_signal(how)
        self.sim.wait(timeout=60)

    def stop_all(self) -> None:
        for process in [self.traffic, *self.workers, *self.sweeps, self.web, self.sim]:
            if process is not None:
                P.stop(process)

    def rss(self) -> tuple[int, int]:
        """(web: gunicorn's master and workers, task workers), KiB."""
        web = 0
        if self.web is not None:
            web = rss_kib(self.web.pid) + sum(rss_kib(c) for c in children(self.web.pid))
        return web, sum(rss_kib(w.pid) for w in self.workers if w.poll() is None)

    # the simulator

    def control(self):
        from douyin_sim.client import ControlClient

        return ControlClient(self.sim_url, timeout=60)

    def set_faults(self, switches: dict) -> None:
        for _ in range(20):
            try:
                self.control().post("faults", switches)
                return
            except OSError:
                time.sleep(0.5)  # the simulator is restarting

    # pushes the soak sends itself

    def post_push(self, body: bytes, sign: str) -> int:
        conn = HTTPConnection("127.0.0.1", self.web_port, timeout=30)
        conn.request(
            "POST",
            "/webhooks/douyin/",
            body=body,
            headers={"Content-Type": "application/json", "app-id": APP_KEY, "event-sign": sign},
        )
        response = conn.getresponse()
        response.read()
        return response.status

    def fake_message(self) -> dict:
        self.next_fake += 1
        fake = str(self.next_fake)
        self.fake_ids.append(fake)
        data = {
            "aftersale_id": int(fake),
            "aftersale_status": 6,
            "aftersale_type": 2,
            "shop_id": int(PLATFORM_SHOP),
            "refund_amount": 100,
            "update_time": "2026-12-03T08:00:00+08:00",
        }
        return {"tag": "200", "msg_id": f"soak-{fake}", "data": json.dumps(data)}

    def send_bad_signature(self) -> None:
        from douyin_sim.signing import event_sign

        body = json.dumps([self.fake_message()]).encode()
        status = self.post_push(body, event_sign(APP_KEY, body, "not-the-secret"))
        self.counts[f"bad-signature push answered {status}"] += 1

    def send_malformed(self) -> None:
        from douyin_sim.signing import event_sign

        message = self.fake_message()
        shapes = [
            json.dumps([{"tag": "200", "data": message["data"]}]),  # no msg_id
            json.dumps({"tag": "200", "msg_id": message["msg_id"], "data": message["data"]}),
            json.dumps([message])[:-7],  # cut short
            json.dumps([{**message, "data": message["data"][:-3]}]),  # data not JSON
        ]
        body = self.rng.choice(shapes).encode()
        status = self.post_push(body, event_sign(APP_KEY, body, APP_SECRET))
        self.counts[f"malformed signed push answered {status}"] += 1

    def replay_old_pushes(self) -> None:
        """Old deliveries again, signed: the same msg_id (a duplicate), and older than what
        the product has applied since (out of order)."""
        from douyin_sim.pusher import push_body
        from douyin_sim.signing import event_sign

        try:
            delivered = self.control().get("pushes", status="delivered")
        except OSError:
            return
        if not delivered:
            return
        picked = self.rng.sample(delivered, min(3, len(delivered)))
        picked.sort(key=lambda e: -e["id"])  # newest first: the older ones arrive after
        for entry in picked:
            entry = entry | {"data": json.dumps(entry["data"], ensure_ascii=False)}
            body = push_body([entry])
            status = self.post_push(body, event_sign(APP_KEY, body, APP_SECRET))
            self.counts[f"replayed push answered {status}"] += 1

    # the merchant, as the workbench would: the soak process acts on open cases

    def merchant_round(self) -> None:
        """A few decisions on open cases: approve most, reject some (a first review with a
        reason needing no evidence), refund the approved refunds, receive and pass returns."""
        from aftersales.cases import services
        from aftersales.cases.models import Case

        open_cases = list(
            Case.objects.filter(
                status__in=[
                    "pending_review",
                    "awaiting_refund",
                    "awaiting_return",
                    "awaiting_inspection",
                    "pending_final_review",
                ]
            ).order_by("?")[:4]
        )
        for case in open_cases:
            try:
                if case.status == "pending_review":
                    if self.rng.random() < 0.85:
                        services.approve_case(case=case, by=self.merchant)
                        self.counts["merchant: approved"] += 1
                    else:
                        services.reject_case(
                            case=case,
                            reason_code="no_evidence",
                            note="请补充有效凭证后重新申请",
                            by=self.merchant,
                        )
                        self.counts["merchant: rejected"] += 1
                elif case.status == "awaiting_refund":
                    # The refund form's defaults, as an agent confirms them (the shipping
                    # and return postage included: None takes the default, 0 would be none).
                    services.refund_case(
                        case=case,
                        by=self.merchant,
                        shipping_amount_fen=None,
                        return_postage_fen=None,
                    )
                    self.counts["merchant: refund decided"] += 1
                elif case.status == "awaiting_return" and case.return_status == "in_transit":
                    services.receive_return(case=case, by=self.merchant)
                    self.counts["merchant: return received"] += 1
                elif case.status == "awaiting_inspection":
                    services.inspect_return(
                        case=case, result="pass", condition="good", by=self.merchant
                    )
                    self.counts["merchant: inspected"] += 1
                elif case.status == "pending_final_review":
                    services.approve_after_inspection(case=case, by=self.merchant)
                    self.counts["merchant: approved after inspection"] += 1
            except Exception as exc:  # a decision the case's state refuses is counted, as a
                # person would be told; anything else is counted too and named in the report
                self.counts[f"merchant refused: {type(exc).__name__}"] += 1

    # the run

    def setup(self) -> None:
        from aftersales import testing
        from aftersales.platforms.douyin.services import link_shop

        self.start_sim()
        remote = self.control().post(
            "shops",
            {
                "shop_id": PLATFORM_SHOP,
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "push_url": self.push_url,
            },
        )
        shop = testing.make_shop("浸泡测试店铺")
        self.merchant = testing.actor(
            testing.make_user("soak-merchant", shop, role=testing.Role.SUPERVISOR)
        )
        link_shop(
            shop=shop,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            platform_shop_id=str(remote["shop_id"]),
            gateway_url=self.sim_url,
            receiver_address_id=remote["return_address"]["address_id"],
            by=testing.SYSTEM,
        )
        self.start_web()
        self.workers = [self.start_worker(n) for n in range(self.args.workers)]
        self.start_sweeps()
        self.start_traffic()

    def soak(self) -> None:
        seconds = self.args.minutes * 60
        started = time.monotonic()
        restarts = [(seconds * 0.35, signal.SIGTERM), (seconds * 0.7, signal.SIGKILL)]
        phases = FAULT_PHASES
        if not self.args.faults:  # a memory soak: the platform healthy, nothing restarted
            restarts, phases = [], FAULT_PHASES[:1]
        phase_every = max(20.0, seconds / (2 * len(phases)))
        next_kill = started + self.args.kill_every if self.args.kill_every else float("inf")
        next_rss = started + 30
        self.rss_timeline: list[tuple[float, int, int]] = []
        next_phase = started
        phase = 0
        next_inject = started + 3
        next_merchant = started + 5
        self.rss_start: tuple[int, int] | None = None
        while (now := time.monotonic()) - started < seconds:
            if now >= next_phase:
                name, switches = phases[phase % len(phases)]
                self.set_faults(switches)
                self.counts[f"phase: {name}"] += 1
                log(f"faults: {name}")
                phase += 1
                next_phase = now + phase_every
            if now >= next_kill:
                n = self.rng.randrange(len(self.workers))
                self.workers[n].send_signal(signal.SIGKILL)
                self.workers[n].wait()
                self.workers[n] = self.start_worker(n)
                self.counts["workers SIGKILLed and restarted"] += 1
                next_kill = now + self.args.kill_every * self.rng.uniform(0.75, 1.25)
            if restarts and now - started >= restarts[0][0]:
                _, how = restarts.pop(0)
                self.kill_sim(how)
                time.sleep(2)  # down for a moment: calls and pushes fail meanwhile
                self.start_sim()
                self.counts[f"simulator restarted after {how.name}"] += 1
                log(f"simulator restarted after {how.name}")
            if self.traffic is not None and self.traffic.poll() is not None:
                # The buyers' traffic dies on a call the simulator's restart cut off (run 3:
                # from the SIGTERM on, no new after-sales): the buyers come back with it.
                self.start_traffic()
                self.counts["buyer traffic restarted after the simulator's restart"] += 1
            if now >= next_merchant:
                self.merchant_round()
                next_merchant = now + 2
            if self.rss_start is None and now - started >= 30:
                # the processes have loaded what a first round of work needs
                self.rss_start = self.rss()
            if self.args.rss_every and now >= next_rss:
                self.rss_timeline.append((now - started, *self.rss()))
                next_rss = now + self.args.rss_every
            if now >= next_inject and self.args.faults:
                choice = self.rng.random()
                try:
                    if choice < 0.4:
                        self.replay_old_pushes()
                    elif choice < 0.7:
                        self.send_bad_signature()
                    else:
                        self.send_malformed()
                except OSError as exc:
                    self.counts[f"injection failed: {type(exc).__name__}"] += 1
                next_inject = now + self.rng.uniform(2, 6)
            time.sleep(0.5)  # the soak's own pace: nothing here needs finer timing

    def drain(self) -> bool:
        from django.db.models import Q
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        from aftersales.cases.models import RefundExecution
        from aftersales.platforms.douyin.models import InboundMessage, OutboxOperation

        P.stop(self.traffic)
        self.set_faults(FAULTS_OFF)
        requeued = self.control().post("pushes/retry", {})["requeued"]
        log(f"drain: traffic stopped, faults off, {requeued} dead pushes re-queued")
        started = time.monotonic()
        # A task row of a worker killed in the last seconds becomes stale only once the
        # lease has passed; the sweep (every 10 s) then recovers it.
        at_least = float(SOAK_ENV["AFTERSALES_TASK_LEASE_SECONDS"]) + 25
        while time.monotonic() - started < self.args.drain:
            pushes = self.control().get("pushes", status="pending")
            busy = {
                "pushes pending on the platform": len(pushes),
                "inbox": InboundMessage.objects.filter(
                    status__in=["received", "processing"]
                ).count(),
                "outbox": OutboxOperation.objects.filter(status__in=["pending", "sending"]).count(),
                "tasks": DBTaskResult.objects.filter(
                    Q(status=TaskResultStatus.READY) | Q(status=TaskResultStatus.RUNNING)
                ).count(),
                # An execution left `executing` by a killed worker is recovered once its
                # lease has run out (the sweep): the drain waits for it too.
                "refund executions": RefundExecution.objects.filter(
                    status__in=["pending", "executing"]
                ).count(),
                "refunds on their way": sum(
                    1
                    for a in self.control().get("aftersales", shop_id=PLATFORM_SHOP)
                    if a["refund_status"] == 2  # 退款中: paid out after the refund delay
                ),
            }
            if not any(busy.values()) and time.monotonic() - started >= at_least:
                log(f"drained in {time.monotonic() - started:.0f} s")
                return True
            time.sleep(2)  # polling
        log(f"drain gave up after {self.args.drain} s: still busy: {busy}")
        return False


# --- The report ----------------------------------------------------------------------------


def report(soak: Soak, reconcile_output: str, drift_flagged: int) -> list[tuple[str, int]]:
    """The consistency lines, each must be 0, after printing the totals."""
    from django.db.models import Count, F, Q, Sum
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from aftersales.audit.models import AuditEvent
    from aftersales.cases.choices import ExecutionStatus, RefundStatus
    from aftersales.cases.events import CaseEvent
    from aftersales.cases.models import Case, RefundDecision, RefundExecution, RefundLine
    from aftersales.orders.models import OrderItem
    from aftersales.platforms.douyin.choices import MessageStatus, OperationKind
    from aftersales.platforms.douyin.models import DouyinAftersale, InboundMessage, OutboxOperation
    from aftersales.platforms.douyin.sync import drift_of

    control = soak.control()
    platform = {a["aftersale_id"]: a for a in control.get("aftersales", shop_id=PLATFORM_SHOP)}
    operations = control.get("operations", shop_id=PLATFORM_SHOP)
    messages = control.get("messages", shop_id=PLATFORM_SHOP)
    pushes = control.get("pushes")
    cases = Case.objects.filter(platform_case_id__isnull=False)
    case_ids = dict(cases.values_list("platform_case_id", "pk"))

    inbox = Counter(InboundMessage.objects.values_list("status", flat=True))
    outbox = Counter(OutboxOperation.objects.values_list("status", flat=True))
    deliveries = InboundMessage.objects.aggregate(n=Sum("deliveries"))["n"] or 0
    ok_ops = [op for op in operations if op["code"] == 10000]
    print("\n  Totals")
    print(f"    after-sales on the platform: {len(platform)}; cases: {len(case_ids)}")
    print(
        f"    pushes: {len(pushes)} queued by the platform "
        f"({Counter(p['status'] for p in pushes)}); inbox rows {sum(inbox.values())} "
        f"({dict(inbox)}), {deliveries} deliveries of stored messages"
    )
    print(
        f"    operations: {sum(outbox.values())} in the outbox ({dict(outbox)}); "
        f"{len(operations)} change calls on the platform, {len(ok_ops)} applied; "
        f"{len(messages)} buyer messages"
    )
    refunded_cases = cases.filter(refund_status=RefundStatus.REFUNDED).count()
    print(
        f"    refunds: {RefundDecision.objects.count()} decisions, "
        f"{RefundExecution.objects.count()} executions "
        f"({dict(Counter(RefundExecution.objects.values_list('status', flat=True)))}), "
        f"{refunded_cases} cases refunded; case statuses "
        f"{dict(Counter(cases.values_list('status', flat=True)))}"
    )
    print(f"    injected: {dict(soak.counts)}")
    print(f"    douyin_reconcile: {reconcile_output.strip()}")

    lines: list[tuple[str, int]] = []
    lines.append(("after-sales without a case", len(set(platform) - set(case_ids))))
    lines.append(("cases without an after-sale", len(set(case_ids) - set(platform))))
    opened = (
        AuditEvent.objects.filter(type=CaseEvent.CASE_OPENED)
        .values("case")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    twice = cases.values("shop", "platform_case_id").annotate(n=Count("id")).filter(n__gt=1).count()
    lines.append(("cases opened twice", opened + twice))
    lines.append(
        (
            "cases with more than one refund decision",
            RefundDecision.objects.values("case").annotate(n=Count("id")).filter(n__gt=1).count(),
        )
    )
    refund_types = {111, 201, 321, 401}
    applied_refunds = Counter(
        str(op["params"]["items"][0]["aftersale_id"])
        for op in ok_ops
        if op["method"] == "afterSale.operate" and int(op["params"].get("type", 0)) in refund_types
    )
    executions = (
        RefundExecution.objects.values("decision__case")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    lines.append(
        (
            "more than one refund execution per case (here, or applied on the platform)",
            executions + sum(1 for n in applied_refunds.values() if n > 1),
        )
    )
    over_paid = OrderItem.objects.filter(refunded_amount_fen__gt=F("paid_amount_fen")).count()
    paid_out = (
        RefundLine.objects.filter(decision__execution__status=ExecutionStatus.SUCCEEDED)
        .values("order_item")
        .annotate(total=Sum("amount_fen"))
        .filter(total__gt=F("order_item__paid_amount_fen"))
        .count()
    )
    lines.append(("items whose refunded amount exceeds what was paid", over_paid + paid_out))
    differs = []
    decisions = {
        d.case.platform_case_id: d
        for d in RefundDecision.objects.select_related("case", "execution").filter(
            case__platform_case_id__isnull=False
        )
    }
    for aftersale_id, remote in platform.items():
        theirs = remote["refund_amount"] if remote["refund_status"] == 3 else 0
        decision = decisions.get(aftersale_id)
        execution = getattr(decision, "execution", None) if decision else None
        ours = (
            decision.order_refund_fen
            if decision and execution and execution.status == ExecutionStatus.SUCCEEDED
            else 0
        )
        if ours != theirs:
            differs.append((aftersale_id, ours, theirs))
    lines.append(("refunded amount differing from the platform's", len(differs)))
    for aftersale_id, ours, theirs in differs[:10]:
        print(f"      refunded differs: after-sale {aftersale_id}: here {ours}, platform {theirs}")
    by_key = Counter(m.get("client_msg_id") or f"no key {m['message_id']}" for m in messages)
    by_text = Counter((m["aftersale_id"], m["content"]) for m in messages)
    # The same text is sent again legitimately when the product decided the same step twice
    # (rejected, the buyer modified the application, rejected again): each decision is an
    # operation of its own. More copies than such operations is a duplicate.
    decided_texts = Counter(
        (str(op.case.platform_case_id), str(op.params.get("content", "")))
        for op in OutboxOperation.objects.filter(kind=OperationKind.NOTIFY_BUYER).select_related(
            "case"
        )
    )
    extra_texts = {
        key: n - max(1, decided_texts[(str(key[0]), key[1])])
        for key, n in by_text.items()
        if n > max(1, decided_texts[(str(key[0]), key[1])])
    }
    lines.append(
        (
            "buyer messages sent more than once (same key, or same text to the same after-sale "
            "more often than it was decided)",
            sum(n - 1 for n in by_key.values() if n > 1) + sum(extra_texts.values()),
        )
    )
    for (aftersale_id, content), n in list(by_text.items()):
        if n > 1:
            decided = decided_texts[(str(aftersale_id), content)]
            print(
                f"      message ×{n} to after-sale {aftersale_id} ({decided} operations of ours "
                f"with that text): {content[:60]}"
            )

    def applied_on_platform(op: OutboxOperation) -> bool:
        aftersale_id = op.case.platform_case_id
        if op.kind == OperationKind.NOTIFY_BUYER:
            return op.idempotency_key in by_key
        for entry in ok_ops:
            if aftersale_id not in [str(i) for i in entry["aftersale_ids"]]:
                continue
            if "operate_type" in op.params:
                if entry["method"] == "afterSale.operate" and int(
                    entry["params"].get("type", 0)
                ) == int(op.params["operate_type"]):
                    return True
            elif op.kind == OperationKind.CONFIRM_RECEIPT:
                if entry["method"] == "afterSale.returnGoodsToWareHouseSuccess":
                    return True
            elif op.kind == OperationKind.EXTEND and entry["method"] == "afterSale.timeExtend":
                return True
        return False

    unfinished = OutboxOperation.objects.select_related("case").filter(
        status__in=["failed", "pending", "sending"]
    )
    applied = [op for op in unfinished if applied_on_platform(op)]
    print(f"    outbox operations failed or unfinished at the end: {unfinished.count()}")
    for op in unfinished[:10]:
        print(
            f"      {op.kind} case #{op.case_id} {op.status}: {op.last_error[:120]}"
            + (" [applied on the platform]" if op in applied else "")
        )
    lines.append(("operations failed or stuck that the platform applied", len(applied)))
    drifting = []
    for case in cases.filter(pk__in=DouyinAftersale.objects.values("case")):
        problems = drift_of(case)
        if problems:
            drifting.append((case.platform_case_id, problems))
    for aftersale_id, problems in drifting[:10]:
        print(f"      drift: after-sale {aftersale_id}: {problems}")
    lines.append(
        (
            "drift found by douyin_reconcile (flagged now, or still disagreeing)",
            max(drift_flagged, len(drifting)),
        )
    )
    lease = timedelta(seconds=float(SOAK_ENV["AFTERSALES_TASK_LEASE_SECONDS"]) + 25)
    from django.utils import timezone

    lines.append(
        (
            "stale RUNNING task rows",
            DBTaskResult.objects.filter(
                status=TaskResultStatus.RUNNING, started_at__lt=timezone.now() - lease
            ).count(),
        )
    )
    refused = [MessageStatus.BAD_SIGNATURE, MessageStatus.MALFORMED]
    processed_refused = (
        InboundMessage.objects.filter(status__in=refused)
        .filter(Q(processed_at__isnull=False) | Q(attempts__gt=0) | Q(claimed_at__isnull=False))
        .count()
        + InboundMessage.objects.exclude(status__in=refused)
        .filter(aftersale_id__in=soak.fake_ids)
        .count()
        + DouyinAftersale.objects.filter(aftersale_id__in=soak.fake_ids).count()
        + Case.objects.filter(platform_case_id__in=soak.fake_ids).count()
    )
    print(
        f"    refused pushes kept: {inbox.get(MessageStatus.BAD_SIGNATURE, 0)} bad signature, "
        f"{inbox.get(MessageStatus.MALFORMED, 0)} malformed ({len(soak.fake_ids)} sent)"
    )
    lines.append(("refused pushes that were processed", processed_refused))
    return lines


def run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> int:
    from django.core.management import call_command

    soak = Soak(args, env, workdir)
    started_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(
        f"\nSoak under faults: {args.minutes} min, {args.rate} after-sales/s, "
        f"{args.workers} workers"
    )
    print(f"    machine: {P.machine()}; nproc {os.cpu_count()}; {P.load_average()}")
    print(f"    started {started_at}")
    try:
        soak.setup()
        soak.soak()
        web_start, workers_start = soak.rss_start or (0, 0)
        web_end, workers_end = soak.rss()
        drained = soak.drain()
        out = io.StringIO()
        call_command("douyin_reconcile", stdout=out, stderr=out)
        flagged = 0
        # the count the command printed, read again from what it did: a second pass over
        # the same cases flags nothing new, so it is taken from the first
        for line in out.getvalue().splitlines():
            if "drift flagged" in line:
                flagged += int(line.split(" drift flagged")[0].rsplit(",", 1)[1].split()[0])
        # what reconciliation repaired may have queued work: let it finish
        soak.drain()
        lines = report(soak, out.getvalue(), flagged)
    finally:
        soak.stop_all()
    print(
        f"\n  Memory (RSS): web (gunicorn master + workers) {web_start / 1024:.0f} MiB 30 s in, "
        f"{web_end / 1024:.0f} MiB at the end; task workers {workers_start / 1024:.0f} MiB "
        f"30 s in, {workers_end / 1024:.0f} MiB at the end of the soak (each restarted when "
        "killed)"
    )
    if soak.rss_timeline:
        print("\n  RSS over the soak (MiB): minute, web (master + workers), task workers")
        for at, web, workers in soak.rss_timeline:
            print(f"    {at / 60:6.1f}  {web / 1024:7.0f}  {workers / 1024:7.0f}")
    print(f"  {P.load_average()}; finished {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print("\n  Must be 0")
    bad = 0
    for name, value in lines:
        print(f"    {value:6d}  {name}")
        bad += value != 0
    if not drained:
        print("    (the drain did not finish: some lines may count work still under way)")
    return 1 if bad or not drained else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=6, help="length of the soak")
    parser.add_argument("--rate", type=float, default=0.5, help="new after-sales per second")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes")
    parser.add_argument(
        "--kill-every", type=float, default=20, help="seconds between kills (0: none)"
    )
    parser.add_argument(
        "--no-faults",
        dest="faults",
        action="store_false",
        help="no platform faults, restarts or bad pushes (a memory soak)",
    )
    parser.add_argument(
        "--rss-every", type=float, default=0, help="print the processes' RSS every N seconds"
    )
    parser.add_argument("--drain", type=float, default=300, help="seconds to settle at most")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database kept for the soak")
    P.ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-soak-"))
    env = P.environment(workdir) | SOAK_ENV
    os.environ.update(env)
    status = 1
    try:
        P.setup_django()
        P.fresh_database()
        status = run(args, env, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep or status:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
