"""The task worker killed with SIGKILL in the middle of delivering an operation.

A real `aftersales db_worker` subprocess works the PostgreSQL test database (so this test
needs PostgreSQL; the same crash is simulated on every database in test_outbox.py by claiming
an operation and abandoning it). The simulator is told to hold its answer to `operate`, so the
worker is killed while the call is in flight — after the platform applied the change, or
before. A new worker and the safety net then finish the job: the operation is applied on the
platform exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.cases import services
from aftersales.platforms.douyin.models import OutboxAttempt, OutboxOperation
from aftersales.platforms.douyin.sync import run_safety_net

from .e2e_support import (
    AGENT,
    apply,
    case_of,
    new_order,
    platform_case,
    successful_operations,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[4]


def start_worker(log: Path) -> subprocess.Popen:
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "AFTERSALES_SECRET_KEY": "worker-test-secret",
        "AFTERSALES_DEBUG": "false",
        "AFTERSALES_LOG_LEVEL": "INFO",
    }
    env.pop("AFTERSALES_TESTING", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aftersales.cli",
            "db_worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def workers(settings, tmp_path):
    """The product enqueues into the database; workers run as separate processes."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        process = start_worker(tmp_path / "worker.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize("when", ["after", "before"])
def test_the_worker_killed_mid_delivery_delivers_once_after_a_restart(
    when, workers, product, control, sim_link
):
    """R3.4, R13.1: SIGKILL while delivering the outbox → delivered once after a restart."""
    first = workers()
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=1)
    case = product.wait_for(
        lambda: (c := case_of(aftersale_id)) and c.policy_decisions.exists() and c,
        what="the worker to open the case",
    )
    # The next operate call gets no answer (for longer than the test waits), with the
    # change applied first ("after") or not at all ("before").
    control.post(
        "faults",
        {
            "api_fault_methods": ["afterSale.operate"],
            "api_hang_next": 1,
            "api_hang_seconds": 60,
            "api_fault_when": when,
        },
    )

    services.approve_case(case=case, by=AGENT)
    operation = OutboxOperation.objects.get(case=case, kind="agree")
    product.wait_for(
        lambda: (
            OutboxOperation.objects.get(pk=operation.pk).status == "sending"
            and any(c["method"] == "afterSale.operate" for c in control.get("calls"))
        ),
        what="the worker to be inside the operate call",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert OutboxOperation.objects.get(pk=operation.pk).status == "sending"  # stuck, as feared
    applied_before_restart = platform_case(control, aftersale_id)["status"] == 7
    assert applied_before_restart == (when == "after")
    control.post("faults", {"api_fault_methods": [], "api_hang_next": 0})

    workers()
    # The sweep, run once the lease has run out (here: told the time rather than waiting).
    run_safety_net(now=timezone.now() + timedelta(hours=1))

    product.wait_for(
        lambda: OutboxOperation.objects.get(pk=operation.pk).status == "synced",
        what="the restarted worker to deliver",
    )
    assert platform_case(control, aftersale_id)["status"] == 7
    assert len(successful_operations(control, aftersale_id)) == 1
    outcomes = list(
        OutboxAttempt.objects.filter(operation=operation)
        .order_by("number")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["abandoned", "already_done" if when == "after" else "succeeded"]
    case.refresh_from_db()
    assert case.status == "awaiting_return"


def test_r3_5_the_worker_killed_after_the_platform_sent_a_message_sends_it_once(
    workers, product, control, sim_link
):
    """Issue 15: the platform sent the buyer's message, the worker is SIGKILLed before it
    records the answer; after a restart and the sweep the buyer has the message once."""
    first = workers()
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=1)
    case = product.wait_for(
        lambda: (c := case_of(aftersale_id)) and c.policy_decisions.exists() and c,
        what="the worker to open the case",
    )
    product.wait_for(
        lambda: (
            not OutboxOperation.objects.filter(
                case=case, status__in=("pending", "sending")
            ).exists()
        ),
        what="the first messages to go out",
    )
    control.post(
        "faults",
        {
            "api_fault_methods": ["im.sendMessage"],
            "api_hang_next": 1,
            "api_hang_seconds": 60,
            "api_fault_when": "after",
        },
    )
    text = "您好，麻烦补充一张商品破损处的照片。"

    services.message_buyer(case=case, text=text, by=AGENT)
    operation = OutboxOperation.objects.filter(case=case, kind="notify_buyer").latest("pk")
    product.wait_for(
        lambda: (
            OutboxOperation.objects.get(pk=operation.pk).status == "sending"
            and any(c["method"] == "im.sendMessage" for c in control.get("calls"))
        ),
        what="the worker to be inside the message call",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert OutboxOperation.objects.get(pk=operation.pk).status == "sending"
    control.post("faults", {"api_fault_methods": [], "api_hang_next": 0})

    workers()
    run_safety_net(now=timezone.now() + timedelta(hours=1))

    product.wait_for(
        lambda: OutboxOperation.objects.get(pk=operation.pk).status == "synced",
        what="the restarted worker to finish the message",
    )
    sent = [m for m in control.get("messages", aftersale_id=aftersale_id) if m["content"] == text]
    assert len(sent) == 1
    outcomes = list(
        OutboxAttempt.objects.filter(operation=operation)
        .order_by("number")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["abandoned", "already_done"]
