"""R2.7 pause and resume arithmetic, and R2.6 deadline extensions, with time frozen.

Proves:
- R2.7: a 24 h plan clock paused after 10 h and resumed three days later is due exactly 14 h
  after the resume, and its at-risk moment moves by exactly the pause; time left is frozen
  while paused; two pause/resume cycles add up; nothing restarts from zero;
- R2.6: an extension needs a reason and a message to the buyer (InvalidInput, nothing
  changed), is refused once the deadline has passed or the clock stopped (Conflict, nothing
  changed), and is recorded: a DeadlineExtension row and a `deadline_extended` event with
  the due times before and after; an extension while paused adds to the time left.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.tests import steps
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.sla.models import ClockKind, ClockState, DeadlineExtension, SlaClock
from aftersales.sla.services import extend_deadline, is_at_risk, sweep, time_left

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
H = timedelta(hours=1)
D = timedelta(days=1)
BY = testing.SYSTEM


@pytest.fixture
def clock(db):
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def case(shop_a, clock):
    """A return opened at T0: plan 24 h, review 48 h (simple goods)."""
    return testing.make_case(testing.make_order(shop_a), reason="quality_issue")


def plan(case) -> SlaClock:
    return SlaClock.objects.get(case=case, kind=ClockKind.PLAN, state__in=["running", "paused"])


def review(case) -> SlaClock:
    return SlaClock.objects.get(case=case, kind=ClockKind.REVIEW, state__in=["running", "paused"])


def ask_for_evidence(case) -> None:
    services.request_evidence(case=case, note="请上传商品照片", by=BY)


def evidence_arrives(case) -> None:
    services.record_buyer_evidence(case=case, uploads=[steps.png_upload()], by=BY)


def extend(
    clock_row: SlaClock, hours: int = 6, reason: str = "仓库盘点", message: str = "抱歉，处理将延后"
) -> SlaClock:
    return extend_deadline(
        clock=clock_row, hours=hours, reason=reason, message_to_buyer=message, by=BY
    )


# --- Pause and resume (R2.7) ------------------------------------------------------------------


def test_r2_7_paused_after_10h_resumed_3_days_later_has_exactly_14h_left(case, clock):
    original = plan(case)
    assert (original.due_at, original.at_risk_at) == (T0 + 24 * H, T0 + 18 * H)

    clock.move_to(T0 + 10 * H)
    ask_for_evidence(case)
    paused = plan(case)
    assert paused.state == ClockState.PAUSED
    assert paused.paused_at == T0 + 10 * H
    assert paused.remaining_at_pause == 14 * H

    resumed_at = T0 + 10 * H + 3 * D
    clock.move_to(resumed_at)
    evidence_arrives(case)
    resumed = plan(case)
    assert resumed.pk == original.pk  # the same clock goes on
    assert resumed.state == ClockState.RUNNING
    assert resumed.due_at == resumed_at + 14 * H
    assert resumed.at_risk_at == original.at_risk_at + 3 * D
    assert resumed.at_risk_at == resumed_at + 8 * H  # still warned with 6 h (25 %) left
    assert resumed.started_at == T0
    assert (resumed.paused_at, resumed.remaining_at_pause) == (None, None)
    assert time_left(resumed) == 14 * H
    # The review clock moved by the same three days.
    assert review(case).due_at == T0 + 48 * H + 3 * D


def test_r2_7_time_left_is_frozen_while_paused(case, clock):
    clock.move_to(T0 + 10 * H)
    ask_for_evidence(case)
    for later in (timedelta(0), H, 23 * H, 2 * D, 30 * D):
        clock.move_to(T0 + 10 * H + later)
        assert time_left(plan(case)) == 14 * H
        assert time_left(review(case)) == 38 * H
        # 14 of 24 hours left is not in the warning window, however long the wait.
        assert not is_at_risk(plan(case))
    # Running again, it counts down.
    evidence_arrives(case)
    clock.shift(4 * H)
    assert time_left(plan(case)) == 10 * H


def test_r2_7_time_left_counts_down_and_goes_negative_once_breached(case, clock):
    clock.move_to(T0 + 25 * H)
    assert time_left(plan(case)) == -H
    services.approve_case(case=case, by=BY)
    stopped = SlaClock.objects.get(case=case, kind=ClockKind.PLAN)
    assert time_left(stopped) is None


def test_r2_7_a_clock_paused_inside_its_warning_window_stays_at_risk(case, clock):
    clock.move_to(T0 + 20 * H)  # 4 h of 24 left: at risk since T0 + 18 h
    assert is_at_risk(plan(case))
    ask_for_evidence(case)
    clock.move_to(T0 + 20 * H + 2 * D)
    assert is_at_risk(plan(case))
    assert time_left(plan(case)) == 4 * H
    evidence_arrives(case)
    assert is_at_risk(plan(case))
    assert plan(case).at_risk_at == T0 + 18 * H + 2 * D


def test_r2_7_two_pause_resume_cycles_add_up(case, clock):
    clock.move_to(T0 + 10 * H)
    ask_for_evidence(case)  # 14 h left
    first_resume = T0 + 10 * H + 3 * D
    clock.move_to(first_resume)
    evidence_arrives(case)

    clock.move_to(first_resume + 4 * H)
    ask_for_evidence(case)  # 10 h left
    assert plan(case).remaining_at_pause == 10 * H
    second_resume = first_resume + 4 * H + D
    clock.move_to(second_resume)
    evidence_arrives(case)

    resumed = plan(case)
    assert resumed.due_at == second_resume + 10 * H
    assert resumed.due_at == T0 + 24 * H + 4 * D  # the two pauses, 3 days and 1 day
    assert resumed.at_risk_at == T0 + 18 * H + 4 * D
    assert review(case).due_at == T0 + 48 * H + 4 * D
    assert SlaClock.objects.filter(case=case, kind=ClockKind.PLAN).count() == 1


def test_r2_7_a_paused_clock_does_not_turn_at_risk_or_breach_by_waiting(case, clock):
    """Its stored due time passes during a long pause; after the resume nothing has fired."""
    clock.move_to(T0 + 10 * H)
    ask_for_evidence(case)
    clock.move_to(T0 + 10 * H + 3 * D)
    assert sweep() == (0, 0)
    evidence_arrives(case)
    assert sweep() == (0, 0)
    resumed = plan(case)
    assert (resumed.at_risk_notified_at, resumed.breached_at) == (None, None)


# --- Extensions (R2.6) --------------------------------------------------------------------------


def extension_events(case):
    return AuditEvent.objects.filter(case=case, type="deadline_extended")


def snapshot(case) -> list[dict]:
    return list(SlaClock.objects.filter(case=case).order_by("pk").values())


def test_r2_6_an_extension_moves_the_deadline_and_is_recorded(case, clock):
    agent = testing.make_user("alice", case.shop)
    by = testing.actor(agent)
    clock.move_to(T0 + 5 * H)
    extended = extend_deadline(
        clock=plan(case),
        hours=12,
        reason="供应商质检报告需 12 小时",
        message_to_buyer="您好，我们需要额外 12 小时核实，感谢耐心等待",
        by=by,
    )
    assert extended.due_at == T0 + 36 * H
    assert extended.at_risk_at == T0 + 30 * H
    assert plan(case).due_at == T0 + 36 * H  # stored
    assert time_left(plan(case)) == 31 * H

    row = DeadlineExtension.objects.get()
    assert row.clock_id == extended.pk
    assert row.hours == 12
    assert row.reason == "供应商质检报告需 12 小时"
    assert row.message_to_buyer == "您好，我们需要额外 12 小时核实，感谢耐心等待"
    assert row.extended_by == by.label
    assert row.extended_at == T0 + 5 * H

    event = extension_events(case).get()
    assert event.actor_label == by.label
    assert set(event.before) == set(event.after) == {"due_at"}
    assert datetime.fromisoformat(event.before["due_at"]) == T0 + 24 * H
    assert datetime.fromisoformat(event.after["due_at"]) == T0 + 36 * H
    assert event.payload["clock"] == "plan"
    assert event.payload["hours"] == 12
    assert event.payload["reason"] == row.reason
    assert event.payload["message"] == row.message_to_buyer
    # Only the one clock moved.
    assert review(case).due_at == T0 + 48 * H


def test_r2_6_r2_7_an_extension_while_paused_adds_to_the_time_left(case, clock):
    clock.move_to(T0 + 10 * H)
    ask_for_evidence(case)  # 14 h left
    clock.move_to(T0 + 10 * H + 3 * D)  # the stored due time is long past; the time left is not
    extended = extend(plan(case), hours=6)
    assert extended.state == ClockState.PAUSED
    assert extended.remaining_at_pause == 20 * H
    assert time_left(extended) == 20 * H

    resume_at = T0 + 10 * H + 4 * D
    clock.move_to(resume_at)
    evidence_arrives(case)
    resumed = plan(case)
    assert resumed.due_at == resume_at + 20 * H
    assert resumed.at_risk_at == resume_at + 14 * H  # the warning moved with the deadline
    assert DeadlineExtension.objects.filter(clock=resumed).count() == 1


def test_r2_6_r2_7_after_an_extension_the_assignee_is_warned_again_before_the_new_deadline(
    case, clock
):
    def warnings() -> int:
        return AuditEvent.objects.filter(
            case_id=case.pk, type="sla_at_risk", payload__clock="plan"
        ).count()

    clock.move_to(T0 + 19 * H)  # plan: at risk from 18 h
    sweep()
    assert warnings() == 1
    extend(plan(case), hours=12)  # due at 36 h, at risk from 30 h
    clock.move_to(T0 + 29 * H)
    sweep()
    assert warnings() == 1  # not yet at risk again
    clock.move_to(T0 + 31 * H)
    sweep()
    sweep()
    assert warnings() == 2  # once more, once only


@pytest.mark.parametrize(
    "reason, message",
    [
        pytest.param("", "抱歉，处理将延后", id="R2.6-no-reason"),
        pytest.param("  \n", "抱歉，处理将延后", id="R2.6-blank-reason"),
        pytest.param("仓库盘点", "", id="R2.6-no-message"),
        pytest.param("仓库盘点", " \t ", id="R2.6-blank-message"),
    ],
)
def test_r2_6_an_extension_needs_a_reason_and_a_message(case, clock, reason, message):
    clock.move_to(T0 + 5 * H)
    before = snapshot(case)
    with pytest.raises(InvalidInput):
        extend(plan(case), reason=reason, message=message)
    assert snapshot(case) == before
    assert not DeadlineExtension.objects.exists()
    assert not extension_events(case).exists()


@pytest.mark.parametrize(
    "hours", [0, -1, 361], ids=["R2.6-zero", "R2.6-negative", "R2.6-over-15-days"]
)
def test_r2_6_an_extension_is_between_1_hour_and_15_days(case, clock, hours):
    before = snapshot(case)
    with pytest.raises(InvalidInput):
        extend(plan(case), hours=hours)
    assert snapshot(case) == before
    assert not DeadlineExtension.objects.exists()
    assert extend(plan(case), hours=360).due_at == T0 + 24 * H + 15 * D


@pytest.mark.parametrize(
    "after_due",
    [
        pytest.param(timedelta(0), id="R2.6-at-the-deadline"),
        pytest.param(timedelta(minutes=1), id="R2.6-just-after"),
        pytest.param(3 * D, id="R2.6-days-after"),
    ],
)
def test_r2_6_an_extension_is_refused_once_the_deadline_passed(case, clock, after_due):
    clock.move_to(T0 + 24 * H + after_due)
    before = snapshot(case)
    with pytest.raises(Conflict):
        extend(plan(case))
    assert snapshot(case) == before
    assert not DeadlineExtension.objects.exists()
    assert not extension_events(case).exists()


def test_r2_6_an_extension_is_refused_for_a_breached_clock_even_if_moved_later(case, clock):
    clock.move_to(T0 + 2 * H)
    sweep()  # the first response breaches
    first = SlaClock.objects.get(case=case, kind=ClockKind.FIRST_RESPONSE)
    assert first.breached_at == T0 + 2 * H
    before = snapshot(case)
    with pytest.raises(Conflict):
        extend(first)
    assert snapshot(case) == before


def test_r2_6_an_extension_is_refused_for_a_stopped_clock(case, clock):
    clock.move_to(T0 + H)
    services.approve_case(case=case, by=BY)
    stopped = SlaClock.objects.get(case=case, kind=ClockKind.PLAN)
    assert stopped.state == ClockState.STOPPED
    before = snapshot(case)
    with pytest.raises(Conflict):
        extend(stopped)
    assert snapshot(case) == before
    assert not DeadlineExtension.objects.exists()
    assert not extension_events(case).exists()
