"""R2.7: warnings before a breach, escalation on breach, the buyer's expiry — each exactly once.

Proves:
- at risk: the assignee is notified once (the shop's supervisors and admins when nobody is
  assigned; never agents or auditors), with an `sla_at_risk` event; a second sweep fires
  nothing;
- breach: the supervisors and admins are notified once, an `sla_breached` event is written,
  the clock keeps running (the queue shows how late it is); a second sweep fires nothing;
- a paused clock and a stopped clock never fire;
- R2.4: the buyer's return-shipment expiry closes the case under the default policy
  (`buyer_return_expiry_action = "close"`) and only reminds the buyer under a shop policy
  that says "remind"; neither notifies the supervisors of a breach;
- issue 16: no task row is queued for a clock (starting, pausing, resuming, extending,
  tightening); the sweep finds what is due in one statement, oldest first, and works off a
  backlog larger than one round; a `check_clock` row left from before is harmless, and the
  migration deletes those still queued;
- `aftersales sweep` (what `make demo` runs: clocks every 5 s, recoveries every 30 s) prints
  what it fired;
- on PostgreSQL, 2 and 8 workers firing the same due clocks at once write one event and one
  notification per supervisor per clock; 2 sweepers at once send each warning once.
"""

from __future__ import annotations

import io
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.tests import steps
from aftersales.platforms.models import StoredBuyerMessage
from aftersales.policy.services import publish_policy_version
from aftersales.shops.choices import Role
from aftersales.shops.services import add_member
from aftersales.sla import services as sla
from aftersales.sla.models import ClockKind, ClockState, Notification, SlaClock
from aftersales.sla.tasks import check_clock
from aftersales.workdays.calendar import forget_calendar

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # Monday
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
BY = testing.SYSTEM
# First response (2 h) turns at risk with 25 % left, 30 minutes before it is due.
FIRST_AT_RISK, FIRST_DUE = T0 + 90 * MIN, T0 + 2 * H
# Approved at T0, the buyer's 7 working days end at 24:00 on Wednesday 11 March.
RETURN_DUE = datetime(2026, 3, 12, 0, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def package_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def clock(db):
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def member(shop, username: str, role: str):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    add_member(shop=shop, user=user, role=role, by=BY)
    return user


@pytest.fixture
def staff(shop_a, alice, audrey):
    """Shop A's people: alice (agent), audrey (auditor), a supervisor and an admin; and a
    supervisor of shop B, who must never hear of shop A's cases."""
    return {
        "alice": alice,
        "audrey": audrey,
        "sam": member(shop_a, "sam", Role.SUPERVISOR),
        "ada": member(shop_a, "ada", Role.ADMIN),
    }


@pytest.fixture
def other_shop_supervisor(shop_b):
    return member(shop_b, "bella", Role.SUPERVISOR)


def new_case(shop, **kwargs):
    return testing.make_case(testing.make_order(shop), reason="quality_issue", **kwargs)


def first_response(case) -> SlaClock:
    return SlaClock.objects.get(case=case, kind=ClockKind.FIRST_RESPONSE)


def notified(kind: str, case=None) -> list[str]:
    rows = Notification.objects.filter(kind=kind)
    if case is not None:
        rows = rows.filter(case=case)
    return sorted(rows.values_list("recipient__username", flat=True))


def events(case, type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(case=case, type=type).order_by("seq"))


# --- At risk ---------------------------------------------------------------------------------


def test_r2_7_nothing_fires_before_its_time(shop_a, staff, clock):
    new_case(shop_a)
    assert sla.sweep(FIRST_AT_RISK - MIN) == (0, 0)
    assert not Notification.objects.exists()
    assert not SlaClock.objects.filter(at_risk_notified_at__isnull=False).exists()


def test_r2_7_at_risk_notifies_the_assignee_once(shop_a, staff, clock, other_shop_supervisor):
    case = new_case(shop_a)
    services.assign_case(case=case, assignee=staff["alice"], by=BY)

    assert sla.sweep(FIRST_AT_RISK) == (1, 0)
    assert notified(Notification.Kind.AT_RISK) == ["alice"]
    note = Notification.objects.get()
    assert (note.case_id, note.clock_id, note.shop_id) == (
        case.pk,
        first_response(case).pk,
        shop_a.pk,
    )
    assert note.created_at == FIRST_AT_RISK
    assert first_response(case).at_risk_notified_at == FIRST_AT_RISK
    [event] = events(case, "sla_at_risk")
    assert event.payload["clock"] == ClockKind.FIRST_RESPONSE
    assert event.actor_label == "sla"

    # Again, and later (still before the deadline): nothing new.
    assert sla.sweep(FIRST_AT_RISK) == (0, 0)
    assert sla.sweep(FIRST_DUE - MIN) == (0, 0)
    assert Notification.objects.count() == 1
    assert len(events(case, "sla_at_risk")) == 1


def test_r2_7_unassigned_at_risk_goes_to_supervisors_and_admins(
    shop_a, staff, clock, other_shop_supervisor
):
    case = new_case(shop_a)
    assert case.assignee_id is None
    assert sla.sweep(FIRST_AT_RISK) == (1, 0)
    # Not the agent, not the auditor, not another shop's supervisor.
    assert notified(Notification.Kind.AT_RISK) == ["ada", "sam"]
    assert sla.sweep(FIRST_AT_RISK + MIN) == (0, 0)
    assert notified(Notification.Kind.AT_RISK) == ["ada", "sam"]
    assert len(events(case, "sla_at_risk")) == 1


# --- Breach ----------------------------------------------------------------------------------


def test_r2_7_breach_escalates_to_supervisors_once_and_the_clock_keeps_running(
    shop_a, staff, clock, other_shop_supervisor
):
    case = new_case(shop_a)
    services.assign_case(case=case, assignee=staff["alice"], by=BY)
    assert sla.sweep(FIRST_AT_RISK) == (1, 0)

    assert sla.sweep(FIRST_DUE) == (0, 1)
    assert notified(Notification.Kind.BREACHED) == ["ada", "sam"]
    [event] = events(case, "sla_breached")
    assert event.payload["clock"] == ClockKind.FIRST_RESPONSE
    assert datetime.fromisoformat(event.payload["due_at"]) == FIRST_DUE
    breached = first_response(case)
    assert breached.breached_at == FIRST_DUE
    assert breached.state == ClockState.RUNNING
    assert sla.time_left(breached, FIRST_DUE + H) == -H

    # Any number of later sweeps: nothing more.
    for later in (FIRST_DUE, FIRST_DUE + H, FIRST_DUE + 10 * H):
        assert sla.sweep(later) == (0, 0)
    assert notified(Notification.Kind.BREACHED) == ["ada", "sam"]
    assert len(events(case, "sla_breached")) == 1
    assert notified(Notification.Kind.AT_RISK) == ["alice"]

    # Answering stops the clock; it stays marked breached.
    services.approve_case(case=case, by=BY)
    assert first_response(case).state == ClockState.STOPPED
    assert first_response(case).breached_at == FIRST_DUE


def test_r2_7_a_late_sweep_sends_the_breach_and_no_warning_after_the_deadline(shop_a, staff, clock):
    """Issue 14: a warning found only after the deadline (the start-up sweep hours later)
    is not sent; the breach says it, once."""
    case = new_case(shop_a)
    assert sla.sweep(FIRST_DUE + 5 * MIN) == (0, 1)
    assert notified(Notification.Kind.AT_RISK, case) == []
    assert events(case, "sla_at_risk") == []
    assert notified(Notification.Kind.BREACHED, case) == ["ada", "sam"]
    assert sla.sweep(FIRST_DUE + 6 * MIN) == (0, 0)


def test_r2_7_a_warning_at_its_time_still_goes_out_before_the_deadline(shop_a, staff, clock):
    case = new_case(shop_a)
    assert sla.sweep(FIRST_DUE - 1 * MIN) == (1, 0)
    assert notified(Notification.Kind.AT_RISK, case) == ["ada", "sam"]


def test_r2_7_every_merchant_clock_fires_in_its_own_time(shop_a, staff, clock):
    case = new_case(shop_a)
    fired = sla.sweep(T0 + 48 * H)  # first response, plan and review all past due
    assert fired == (0, 3)  # too late to warn: the breaches say it
    assert sorted(e.payload["clock"] for e in events(case, "sla_breached")) == sorted(
        [ClockKind.FIRST_RESPONSE, ClockKind.PLAN, ClockKind.REVIEW]
    )
    # One notification per clock, kind and supervisor.
    assert Notification.objects.filter(kind=Notification.Kind.BREACHED).count() == 3 * 2


# --- Paused and stopped clocks never fire -----------------------------------------------------


def test_r2_7_a_paused_clock_never_fires(shop_a, staff, clock):
    case = new_case(shop_a)
    clock.move_to(T0 + 10 * MIN)
    steps.request_evidence(case, BY)  # first response stops, plan and review pause
    assert SlaClock.objects.filter(case=case, state=ClockState.PAUSED).count() == 2
    for later in (T0 + 20 * H, T0 + 30 * H, T0 + 60 * 24 * H):
        assert sla.sweep(later) == (0, 0)
    assert not Notification.objects.exists()
    assert not events(case, "sla_at_risk") and not events(case, "sla_breached")
    # A timer for a paused clock does nothing either.
    for c in SlaClock.objects.filter(case=case):
        assert sla.fire_warning(c.pk, T0 + 60 * 24 * H) == 0
        assert sla.fire_breach(c.pk, T0 + 60 * 24 * H) == 0


def test_r2_7_a_stopped_clock_never_fires(shop_a, staff, clock):
    case = new_case(shop_a)
    clock.move_to(T0 + 10 * MIN)
    steps.withdraw(case, BY)
    assert not SlaClock.objects.exclude(state=ClockState.STOPPED).exists()
    assert sla.sweep(T0 + 60 * 24 * H) == (0, 0)
    for c in SlaClock.objects.filter(case=case):
        assert check_clock.call(c.pk) == "warned=0 breached=0"
        assert sla.fire_breach(c.pk, T0 + 60 * 24 * H) == 0
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(type__startswith="sla_").exists()


# --- The buyer's deadline (R2.4) -----------------------------------------------------------------


def awaiting_return(shop):
    case = new_case(shop)
    steps.approve(case, BY)
    shipment = SlaClock.objects.get(case=case, kind=ClockKind.RETURN_SHIPMENT)
    assert shipment.due_at == RETURN_DUE and shipment.is_buyer_clock
    return case


def test_r2_4_the_buyers_expiry_closes_the_case_under_the_default_policy(
    shop_a, staff, clock, django_capture_on_commit_callbacks
):
    case = awaiting_return(shop_a)
    clock.move_to(RETURN_DUE - MIN)
    assert sla.sweep()[1] == 0
    case.refresh_from_db()
    assert case.status == S.AWAITING_RETURN

    clock.move_to(RETURN_DUE)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep()[1] == 1

    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert "规定时间" in case.close_note
    [expired] = events(case, "buyer_deadline_expired")
    assert expired.payload["clock"] == ClockKind.RETURN_SHIPMENT
    [closed] = events(case, "case_closed")
    assert closed.seq > expired.seq
    assert closed.actor_label == "sla:default@2025.1"  # the policy version that set the clock
    assert SlaClock.objects.get(case=case, kind=ClockKind.RETURN_SHIPMENT).state == "stopped"
    # The buyer's lateness is not the team's breach.
    assert not events(case, "sla_breached")
    assert not Notification.objects.filter(kind=Notification.Kind.BREACHED).exists()
    assert not events(case, "buyer_reminded")

    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(RETURN_DUE + 24 * H) == (0, 0)
    assert len(events(case, "buyer_deadline_expired")) == 1


def test_r2_4_r6_3_a_shop_policy_may_only_remind_the_buyer(
    shop_a, staff, clock, django_capture_on_commit_callbacks
):
    version = publish_policy_version(
        shop=shop_a,
        document='[sla]\nbuyer_return_expiry_action = "remind"\n',
        effective_from=T0,
        by=BY,
    )
    case = awaiting_return(shop_a)
    clock.move_to(RETURN_DUE + 5 * MIN)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep()[1] == 1

    case.refresh_from_db()
    assert case.status == S.AWAITING_RETURN
    [reminded] = events(case, "buyer_reminded")
    assert reminded.actor_label == f"sla:default@2025.1+{version.label}"
    # The reminder reaches the buyer through the case's channel (this case has no platform,
    # so it is kept for the staff), in Chinese; before, it was recorded and never sent.
    sent = StoredBuyerMessage.objects.filter(case=case, cause="buyer_reminded")
    assert list(sent.values_list("text", flat=True)) == [reminded.payload["message"]]
    assert "寄回" in reminded.payload["message"]
    assert len(events(case, "buyer_deadline_expired")) == 1
    assert not events(case, "case_closed")
    assert not Notification.objects.filter(kind=Notification.Kind.BREACHED).exists()
    # Reminded once; the buyer can still ship.
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(RETURN_DUE + 48 * H) == (0, 0)
    assert len(events(case, "buyer_reminded")) == 1
    assert sent.count() == 1
    steps.ship_return(case, BY)
    case.refresh_from_db()
    assert case.return_status == "in_transit"


def test_r2_4_the_buyers_expiry_leaves_a_case_that_moved_on_alone(
    shop_a, staff, clock, django_capture_on_commit_callbacks
):
    """The return arrived in the same moment: the expiry finds a case it may not close."""
    case = awaiting_return(shop_a)
    clock.move_to(RETURN_DUE)
    shipment = SlaClock.objects.get(case=case, kind=ClockKind.RETURN_SHIPMENT)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.fire_breach(shipment.pk) == 1
        steps.receive(case, BY)  # before the expiry's after-commit action runs
    case.refresh_from_db()
    assert case.status == S.AWAITING_INSPECTION
    assert not events(case, "case_closed")


# --- Timers and the sweep command ----------------------------------------------------------------


def test_r2_7_a_timer_task_left_queued_from_before_is_harmless(shop_a, staff, clock):
    """Issue 16: clocks queue no task any more, but a `check_clock` row queued by an older
    process during a deploy still runs: early it does nothing, on time it fires once, and
    the sweep after it finds nothing left."""
    case = new_case(shop_a)
    first = first_response(case)
    clock.move_to(FIRST_AT_RISK - MIN)
    assert check_clock.call(first.pk) == "warned=0 breached=0"
    assert first_response(case).at_risk_notified_at is None
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(type__startswith="sla_").exists()

    clock.move_to(FIRST_AT_RISK)
    assert check_clock.call(first.pk) == "warned=1 breached=0"
    assert sla.sweep() == (0, 0)
    clock.move_to(FIRST_DUE)
    assert sla.sweep() == (0, 1)
    assert check_clock.call(first.pk) == "warned=0 breached=0"  # the sweep fired it: nothing
    assert len(events(case, "sla_at_risk")) == len(events(case, "sla_breached")) == 1


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_r2_7_no_task_row_is_queued_when_a_clock_starts_resumes_moves_or_is_extended(
    shop_a, staff, clock, django_capture_on_commit_callbacks
):
    """Issue 16: each clock used to queue two deferred task rows (warning, deadline), which
    every task claim then walked past. Now the clock table is the timer: starting, pausing,
    resuming, extending and tightening clocks write no task row at all."""
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        case = new_case(shop_a)
        assert SlaClock.objects.filter(case=case, state=ClockState.RUNNING).count() == 3
        clock.move_to(T0 + 10 * MIN)
        steps.request_evidence(case, BY)  # first response stops, plan and review pause
        clock.move_to(T0 + 2 * H)
        services.record_buyer_evidence(case=case, uploads=[steps.png_upload()], by=BY)  # resume
        plan = SlaClock.objects.get(case=case, kind=ClockKind.PLAN)
        sla.extend_deadline(
            clock=plan, hours=4, reason="买家补充材料", message_to_buyer="已为您延长处理时间", by=BY
        )
        sla.tighten_clocks(case=case, within=4 * H)
    assert SlaClock.objects.filter(case=case, state=ClockState.RUNNING).count() == 2
    assert not DBTaskResult.objects.filter(task_path__endswith="check_clock").exists()
    assert not DBTaskResult.objects.exists()


def test_r2_7_the_sweep_finds_warnings_and_breaches_in_two_statements_oldest_first(
    shop_a, staff, clock, django_assert_num_queries
):
    """What is due comes from two indexed statements (issue 16), merged in the order it fell
    due: a clock past its deadline and never warned comes twice, warning first."""
    early = new_case(shop_a)
    clock.move_to(T0 + 30 * MIN)
    late = new_case(shop_a)
    at = T0 + 130 * MIN  # late's first response is at risk; early's is due
    with django_assert_num_queries(2):
        due = sla.due_firings(at)
    early_first, late_first = first_response(early).pk, first_response(late).pk
    assert due == [
        (early_first, sla.WARNING),  # at risk since T0 + 90 min
        (early_first, sla.BREACH),  # due at T0 + 120 min; the tie goes to the older clock
        (late_first, sla.WARNING),  # at risk since T0 + 120 min
    ]
    assert [firing for _, firing in sla.due_firings(at, limit=1)] == [sla.WARNING]


def test_r2_7_the_sweep_merges_warnings_and_breaches_by_time_to_the_microsecond(
    shop_a, staff, clock
):
    """The two lists are merged by the times as the database returns them: a time with
    microseconds and one on the whole second (stored without them) still order as times."""
    cases = [new_case(shop_a) for _ in range(3)]
    base = T0 + 10 * H
    at = base + H
    clocks = [first_response(case) for case in cases]
    # A breach at the whole second, a warning half a second later, a breach a quarter second
    # after that — not the clocks' order; their other moment far ahead, so each is due once.
    first, second, third = clocks[2], clocks[0], clocks[1]
    SlaClock.objects.filter(pk=first.pk).update(
        due_at=base, at_risk_at=base - H, at_risk_notified_at=base - H
    )
    half = base + timedelta(microseconds=500_000)
    SlaClock.objects.filter(pk=second.pk).update(at_risk_at=half, due_at=at + 9 * H)
    three_quarters = base + timedelta(microseconds=750_000)
    SlaClock.objects.filter(pk=third.pk).update(due_at=three_quarters, at_risk_at=at + 9 * H)
    assert sla.due_firings(at) == [
        (first.pk, sla.BREACH),
        (second.pk, sla.WARNING),
        (third.pk, sla.BREACH),
    ]
    assert sla.due_firings(at, limit=2) == [(first.pk, sla.BREACH), (second.pk, sla.WARNING)]


def test_r2_7_a_backlog_larger_than_a_round_is_fired_in_one_sweep(shop_a, staff, clock):
    """A sweeper that was down: more due than one round's limit, all fired, each once."""
    cases = [new_case(shop_a) for _ in range(3)]
    assert sla.sweep(FIRST_DUE + MIN, limit=2) == (0, 3)
    for case in cases:
        assert len(events(case, "sla_breached")) == 1
    assert sla.sweep(FIRST_DUE + MIN, limit=2) == (0, 0)


def test_r2_7_the_migration_deletes_the_queued_timer_tasks_and_nothing_else(db):
    """Issue 16: the rows queued by the old per-clock timers are deleted on upgrade (the
    sweep fires their clocks); other tasks, and timer rows already run, are kept."""
    import importlib

    from django.apps import apps
    from django_tasks_db.models import DBTaskResult

    migration = importlib.import_module("aftersales.sla.migrations.0006_delete_queued_clock_timers")
    later = datetime(2026, 3, 9, tzinfo=SH)

    def row(task_path: str, status: str) -> None:
        DBTaskResult.objects.create(
            task_path=task_path,
            status=status,
            args_kwargs={"args": [1], "kwargs": {}},
            backend_name="default",
            run_after=later,
        )

    row(check_clock.module_path, "READY")
    row(check_clock.module_path, "READY")
    row(check_clock.module_path, "SUCCESSFUL")
    row("aftersales.cases.tasks.execute_refund_task", "READY")
    migration.delete_queued_clock_timers(apps, connection.schema_editor())
    assert sorted(DBTaskResult.objects.values_list("task_path", "status")) == [
        ("aftersales.cases.tasks.execute_refund_task", "READY"),
        (check_clock.module_path, "SUCCESSFUL"),
    ]


@pytest.fixture
def keep_signal_handlers():
    """The command installs SIGTERM/SIGINT handlers; give the test runner its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_r2_7_the_sweep_command_prints_what_it_fired(shop_a, staff, clock, keep_signal_handlers):
    new_case(shop_a)
    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert (
        out.getvalue().strip()
        == "sweep: 0 at risk, 0 breached, 0 stalled refunds failed, 0 refunds re-queued"
    )

    clock.move_to(FIRST_DUE)
    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert (
        out.getvalue().strip()
        == "sweep: 0 at risk, 1 breached, 0 stalled refunds failed, 0 refunds re-queued"
    )
    assert notified(Notification.Kind.BREACHED) == ["ada", "sam"]

    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert (
        out.getvalue().strip()
        == "sweep: 0 at risk, 0 breached, 0 stalled refunds failed, 0 refunds re-queued"
    )


# --- Exactly once under concurrency (PostgreSQL) -----------------------------------------------

CLOCKS = 3


def run_together(threads: int, work: Callable[[], int]) -> tuple[list[int], list[BaseException]]:
    barrier = threading.Barrier(threads)
    results: list[int] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def target() -> None:
        try:
            barrier.wait()
            outcome = work()
            with guard:
                results.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported by the test
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=target) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.parametrize("entry", ["fire_breach", "sweep"])
def test_r2_7_concurrent_workers_fire_each_breach_exactly_once(threads, entry):
    shop = testing.make_shop("并发店")
    supervisors = [member(shop, f"sup{n}", Role.SUPERVISOR) for n in range(2)]
    member(shop, "boss", Role.ADMIN)
    with time_machine.travel(T0, tick=False):
        cases = [new_case(shop) for _ in range(CLOCKS)]
    clock_ids = [first_response(c).pk for c in cases]
    now = FIRST_DUE + MIN

    if entry == "fire_breach":

        def work() -> int:
            return sum(sla.fire_breach(pk, now) for pk in clock_ids)

    else:

        def work() -> int:
            warned, breached = sla.sweep(now)
            return breached

    results, errors = run_together(threads, work)
    assert errors == []
    assert sum(results) == CLOCKS  # each clock fired by exactly one worker
    recipients = len(supervisors) + 1
    for case, pk in zip(cases, clock_ids, strict=True):
        assert len(events(case, "sla_breached")) == 1
        assert (
            Notification.objects.filter(clock_id=pk, kind=Notification.Kind.BREACHED).count()
            == recipients
        )
        assert SlaClock.objects.get(pk=pk).breached_at == now
        # The sweep comes after the deadline: too late to warn, the breach says it (issue 14).
        assert events(case, "sla_at_risk") == []
        assert not Notification.objects.filter(clock_id=pk, kind="at_risk").exists()
    # The merchant clocks due later did not fire.
    assert not AuditEvent.objects.filter(type="sla_breached", payload__clock="plan").exists()
    assert verify_chain(shop.pk) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r2_7_two_sweepers_at_once_send_each_warning_once():
    """Issue 16: the sweep is the clocks' only timer; two of them (two hosts, or a restart
    overlapping the old process) on their own connections find the same due warnings in the
    clock table, and each is sent once."""
    shop = testing.make_shop("并发预警店")
    supervisors = [member(shop, f"sup{n}", Role.SUPERVISOR) for n in range(2)]
    with time_machine.travel(T0, tick=False):
        cases = [new_case(shop) for _ in range(CLOCKS)]
    now = FIRST_AT_RISK + MIN

    results, errors = run_together(2, lambda: sla.sweep(now)[0])
    assert errors == []
    assert sum(results) == CLOCKS
    for case in cases:
        assert len(events(case, "sla_at_risk")) == 1
        clock = first_response(case)
        assert clock.at_risk_notified_at == now and clock.breached_at is None
        assert sorted(
            Notification.objects.filter(clock=clock, kind="at_risk").values_list(
                "recipient_id", flat=True
            )
        ) == sorted(s.pk for s in supervisors)
    assert sla.sweep(now) == (0, 0)
    assert verify_chain(shop.pk) is None


def test_r2_7_the_repeating_sweep_looks_at_the_clocks_every_5_s_and_recovers_every_30_s(
    db, monkeypatch, keep_signal_handlers
):
    """Issue 16: the sweep is the clocks' timer, so it looks often (a warning is at most a
    tick late); the refund recoveries keep their 30 s, since re-queueing an unclaimed refund
    each tick would only pile up duplicate tasks."""
    from aftersales.sla.management.commands import sweep as command

    ticks: list[float] = []
    calls = {"sweep": 0, "refunds": 0, "tasks": 0}
    elapsed = [0.0]

    def fake_run_every(every, run_once):
        ticks.append(every)
        for _ in range(12):  # a minute of 5 s ticks
            run_once()
            elapsed[0] += every

    def count(name, value):
        def counted(*args, **kwargs):
            calls[name] += 1
            return value

        return counted

    monkeypatch.setattr(command, "run_every", fake_run_every)
    monkeypatch.setattr(command, "monotonic", lambda: elapsed[0])
    monkeypatch.setattr(command, "sweep", count("sweep", (0, 0)))
    monkeypatch.setattr(command, "recover_stalled_refunds", count("refunds", (0, 0)))
    monkeypatch.setattr(command, "recover_stale_task_rows", count("tasks", 0))
    call_command("sweep", every=30, stdout=io.StringIO())
    assert ticks == [5.0]
    assert calls == {"sweep": 12, "refunds": 2, "tasks": 2}
