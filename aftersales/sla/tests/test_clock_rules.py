"""R2.1–R2.8, R7.1: when each SLA clock starts, stops, pauses and resumes, and how long it runs.

Proves:
- docs/sla.md's table and `aftersales/sla/rules.py` name the same clocks, agree on which ones
  pause, and state the default policy's limits;
- R2.1–R2.3: opening a case starts first response (2 h), plan (24 h) and review (48 h simple,
  72 h complex) at the buyer's application time; the merchant's answer stops them;
- R2.7: a request for evidence stops first response and pauses plan and review; the buyer's
  evidence resumes them (the arithmetic is in test_pause_resume.py);
- R2.4: the stage-1 approval of a return starts the buyer's 7-working-day clock, counted on
  the official schedule (2026 National Day, make-up Saturday 10 October included);
- R2.5 / R7.1: the returned parcel starts inspection, 48 h, food and fresh goods 2 h;
- R1.3: inspection starts the second review, stage-2 approval the refund clock;
- the refund executed, closing and withdrawing stop every clock; exchanges and resends start
  the merchant's shipment clock; a re-application after a rejection starts new clocks;
- R2.8: a VIP buyer's merchant clocks are halved, the buyer's own clock is not;
- the policy's deadlines (`policy/deadlines.py`, reported by `decide`) are the clocks a case
  of each type runs, due at the same times.

Every case is moved through the services (`aftersales.cases.tests.steps`), time frozen.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.conf import settings

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.models import Case
from aftersales.cases.tests import steps
from aftersales.orders.choices import OrderStatus
from aftersales.policy import deadlines
from aftersales.policy.document import default_document
from aftersales.policy.engine import decide
from aftersales.policy.facts import facts_for_case
from aftersales.policy.services import policy_for
from aftersales.sla.models import ClockKind, ClockState, SlaClock
from aftersales.sla.rules import CLOCK_RULES, FIXED_CLOCKS
from aftersales.workdays.calendar import forget_calendar

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # a Monday, a working day, far from any holiday
H = timedelta(hours=1)
BY = testing.SYSTEM
SLA = default_document()["sla"]
MERCHANT_OPENING_CLOCKS = {ClockKind.FIRST_RESPONSE, ClockKind.PLAN, ClockKind.REVIEW}


@pytest.fixture(autouse=True)
def package_calendar():
    """The working-day calendar as the package has it: no admin overrides cached from
    another test."""
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def clock(db):
    """Frozen time at T0; tests move it with `clock.move_to(...)`."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def latest(case: Case) -> dict[str, SlaClock]:
    """The newest clock of each kind on the case."""
    return {c.kind: c for c in SlaClock.objects.filter(case=case).order_by("pk")}


def states(case: Case) -> dict[str, str]:
    return {kind: c.state for kind, c in latest(case).items()}


def live(case: Case) -> dict[str, SlaClock]:
    return {k: c for k, c in latest(case).items() if c.state != ClockState.STOPPED}


def durations(case: Case) -> dict[str, timedelta]:
    return {kind: c.due_at - c.started_at for kind, c in live(case).items()}


def open_case(
    shop,
    case_type: str = T.RETURN_REFUND,
    *,
    category: str = "apparel",
    vip_level: int = 0,
    reason: str = "quality_issue",
    **kwargs,
) -> Case:
    order = testing.make_order(
        shop,
        status=steps.ORDER_STATUS_FOR_TYPE[case_type],
        lines=(testing.Line(category=category),),
        vip_level=vip_level,
    )
    return testing.make_case(order, type=case_type, reason=reason, **kwargs)


def walk(case: Case, *actions) -> Case:
    for action in actions:
        action(case, BY)
    case.refresh_from_db()
    return case


# --- The documentation and the rules agree ----------------------------------------------------

DOC = Path(settings.BASE_DIR) / "docs" / "sla.md"


def doc_table() -> dict[str, list[str]]:
    """The rows of the table under '## The clocks': clock name -> the other cells."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The clocks", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\|\s*`(\w+)`[^|]*\|(.*)\|\s*$", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} listed twice"
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_r2_7_docs_table_lists_exactly_the_clocks_of_the_rules():
    documented = set(doc_table())
    assert documented, "no clock table found in docs/sla.md"
    assert documented - set(CLOCK_RULES) == set(), "documented but not in rules.py"
    assert set(CLOCK_RULES) - documented == set(), "in rules.py but not documented"
    assert set(CLOCK_RULES) == set(ClockKind.values)


def test_r2_7_docs_and_rules_agree_on_pausing_and_on_the_buyers_clock():
    table = doc_table()
    for kind, rule in CLOCK_RULES.items():
        limit, _starts, _stops, pauses = table[kind]
        assert (pauses == "never") == (not rule.pause_events), kind
        assert bool(rule.pause_events) == bool(rule.resume_events), kind
        assert ("the buyer's clock" in limit) == rule.buyer_clock, kind


DOCUMENTED_LIMITS = {
    # clock: the default policy's numbers, in the order the docs' "Limit" cell states them
    ClockKind.FIRST_RESPONSE: ["first_response_hours"],
    ClockKind.PLAN: ["plan_hours"],
    ClockKind.REVIEW: ["review_simple_hours", "review_complex_hours"],
    ClockKind.RETURN_SHIPMENT: ["return_shipment_working_days"],
    ClockKind.INSPECTION: ["inspection_hours", "inspection_hours_food"],
    ClockKind.FINAL_REVIEW: ["final_review_hours"],
    ClockKind.REFUND: ["refund_hours"],
    ClockKind.REPLACEMENT_SHIPMENT: ["replacement_shipment_hours"],
}


def test_r2_7_docs_state_the_default_policys_limits():
    table = doc_table()
    # The platform's clocks (R5.2, R5.3) have the platform's due time, not a policy limit.
    assert set(DOCUMENTED_LIMITS) == set(table) - FIXED_CLOCKS
    for kind, keys in DOCUMENTED_LIMITS.items():
        limit = re.sub(r"\(R[\d., R]+\)", "", table[kind][0])  # drop "(R2.1)" references
        numbers = [int(n) for n in re.findall(r"\d+", limit)]
        assert numbers == [SLA[key] for key in keys], (kind, limit)


# --- Opening: first response, plan, review (R2.1–R2.3) -----------------------------------------


def test_r2_1_r2_2_r2_3_opening_starts_three_clocks_at_the_application_time(shop_a, clock):
    applied = T0 - timedelta(minutes=40)  # the platform told us 40 minutes after the buyer
    case = open_case(shop_a, applied_at=applied)

    clocks = live(case)
    assert set(clocks) == MERCHANT_OPENING_CLOCKS
    for c in clocks.values():
        assert c.state == ClockState.RUNNING
        assert c.started_at == applied
        assert not c.is_buyer_clock
        assert c.policy_version == "default@2025.1"
    assert clocks[ClockKind.FIRST_RESPONSE].due_at == applied + 2 * H
    assert clocks[ClockKind.PLAN].due_at == applied + 24 * H
    assert clocks[ClockKind.REVIEW].due_at == applied + 48 * H
    # Warned when a quarter of the time is left.
    assert clocks[ClockKind.FIRST_RESPONSE].at_risk_at == applied + 90 * timedelta(minutes=1)
    assert clocks[ClockKind.PLAN].at_risk_at == applied + 18 * H
    assert clocks[ClockKind.REVIEW].at_risk_at == applied + 36 * H


@pytest.mark.parametrize(
    "category, lines, hours",
    [
        pytest.param("apparel", 1, 48, id="R2.3-simple-48h"),
        pytest.param("electronics", 1, 72, id="R2.3-electronics-72h"),
        pytest.param("custom", 1, 72, id="R2.3-custom-made-72h"),
        pytest.param("apparel", 2, 72, id="R2.3-several-items-72h"),
    ],
)
def test_r2_3_review_is_48h_for_simple_and_72h_for_complex_goods(
    shop_a, clock, category, lines, hours
):
    order = testing.make_order(
        shop_a, lines=[testing.Line(category=category, name=f"商品{n}") for n in range(lines)]
    )
    case = testing.make_case(order, reason="quality_issue")
    assert durations(case)[ClockKind.REVIEW] == hours * H
    # Complexity changes the review only.
    assert durations(case)[ClockKind.PLAN] == 24 * H


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(steps.approve, id="R2.1-R2.3-approve"),
        pytest.param(steps.reject, id="R2.1-R2.3-reject"),
    ],
)
def test_r2_1_r2_3_the_merchants_decision_stops_the_opening_clocks(shop_a, clock, answer):
    case = open_case(shop_a)
    clock.move_to(T0 + 3 * H)
    walk(case, answer)
    for kind in MERCHANT_OPENING_CLOCKS:
        stopped = latest(case)[kind]
        assert stopped.state == ClockState.STOPPED
        assert stopped.stopped_at == T0 + 3 * H


def test_r2_1_r7_3_technical_support_is_a_first_response_but_not_a_plan(shop_a, clock):
    case = open_case(shop_a, category="electronics", reason="functional_fault")
    clock.move_to(T0 + 30 * timedelta(minutes=1))
    services.record_technical_support(case=case, notes="指导买家重置设备", resolved=False, by=BY)
    assert states(case) == {
        ClockKind.FIRST_RESPONSE: ClockState.STOPPED,
        ClockKind.PLAN: ClockState.RUNNING,
        ClockKind.REVIEW: ClockState.RUNNING,
    }


def test_r2_7_evidence_request_stops_first_response_and_pauses_plan_and_review(shop_a, clock):
    case = open_case(shop_a)
    clock.move_to(T0 + H)
    walk(case, steps.request_evidence)
    assert states(case) == {
        ClockKind.FIRST_RESPONSE: ClockState.STOPPED,
        ClockKind.PLAN: ClockState.PAUSED,
        ClockKind.REVIEW: ClockState.PAUSED,
    }
    assert latest(case)[ClockKind.PLAN].remaining_at_pause == 23 * H
    assert latest(case)[ClockKind.REVIEW].remaining_at_pause == 47 * H

    clock.move_to(T0 + 5 * H)
    services.record_buyer_evidence(case=case, uploads=[steps.png_upload()], by=BY)
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    assert states(case) == {
        ClockKind.FIRST_RESPONSE: ClockState.STOPPED,
        ClockKind.PLAN: ClockState.RUNNING,
        ClockKind.REVIEW: ClockState.RUNNING,
    }
    # The same clocks go on (never restarted from zero), four hours later.
    assert SlaClock.objects.filter(case=case).count() == 3
    assert latest(case)[ClockKind.PLAN].due_at == T0 + 28 * H
    assert latest(case)[ClockKind.REVIEW].due_at == T0 + 52 * H


# --- The return: buyer's shipment, inspection, second review, refund --------------------------


def test_r2_4_return_shipment_is_due_at_the_end_of_the_7th_working_day_across_national_day(
    shop_a,
):
    """2026: 1–7 October are holidays, Saturday 10 October is a make-up working day (调休)."""
    approved = datetime(2026, 9, 30, 15, 0, tzinfo=SH)
    with time_machine.travel(approved - 2 * H, tick=False) as traveller:
        case = open_case(shop_a)
        traveller.move_to(approved)
        walk(case, steps.approve)

    shipment = live(case)[ClockKind.RETURN_SHIPMENT]
    # The 7th working day by the package's official schedule, counted from the day after.
    day, counted = approved.date(), 0
    while counted < 7:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    assert day == date(2026, 10, 15)
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # Saturday, worked
    assert not chinese_calendar.is_workday(date(2026, 10, 7))  # Wednesday 7 October, holiday
    assert shipment.started_at == approved
    assert shipment.due_at == datetime(2026, 10, 16, 0, 0, tzinfo=SH)  # 24:00 of 15 October
    assert shipment.is_buyer_clock
    assert shipment.state == ClockState.RUNNING
    assert set(live(case)) == {ClockKind.RETURN_SHIPMENT}


@pytest.mark.parametrize(
    "arrival",
    [
        pytest.param([steps.ship_return], id="R2.4-buyer-ships"),
        pytest.param([steps.receive], id="R2.4-parcel-arrives"),
    ],
)
def test_r2_4_return_shipment_stops_when_the_buyer_ships_or_the_parcel_arrives(
    shop_a, clock, arrival
):
    case = walk(open_case(shop_a), steps.approve)
    clock.move_to(T0 + 30 * H)
    walk(case, *arrival)
    shipment = latest(case)[ClockKind.RETURN_SHIPMENT]
    assert shipment.state == ClockState.STOPPED
    assert shipment.stopped_at == T0 + 30 * H


@pytest.mark.parametrize(
    "category, hours",
    [
        pytest.param("apparel", 48, id="R2.5-48h"),
        pytest.param("food", 2, id="R2.5-R7.1-food-2h"),
        pytest.param("fresh", 2, id="R2.5-R7.1-fresh-2h"),
    ],
)
def test_r2_5_r7_1_arrival_starts_inspection(shop_a, clock, category, hours):
    case = walk(open_case(shop_a, category=category), steps.approve, steps.ship_return)
    clock.move_to(T0 + 50 * H)
    walk(case, steps.receive)
    assert case.status == S.AWAITING_INSPECTION
    inspection = live(case)[ClockKind.INSPECTION]
    assert inspection.started_at == T0 + 50 * H
    assert inspection.due_at == T0 + (50 + hours) * H
    assert set(live(case)) == {ClockKind.INSPECTION}


def test_r1_3_inspection_starts_the_second_review_and_its_approval_the_refund(shop_a, clock):
    case = walk(open_case(shop_a), steps.approve, steps.ship_return, steps.receive)

    clock.move_to(T0 + 60 * H)
    walk(case, steps.inspect_pass)
    assert latest(case)[ClockKind.INSPECTION].state == ClockState.STOPPED
    final = live(case)[ClockKind.FINAL_REVIEW]
    assert (final.started_at, final.due_at) == (T0 + 60 * H, T0 + 84 * H)
    assert set(live(case)) == {ClockKind.FINAL_REVIEW}

    clock.move_to(T0 + 70 * H)
    walk(case, steps.approve_final)
    assert case.status == S.AWAITING_REFUND
    assert latest(case)[ClockKind.FINAL_REVIEW].state == ClockState.STOPPED
    refund = live(case)[ClockKind.REFUND]
    assert (refund.started_at, refund.due_at) == (T0 + 70 * H, T0 + 94 * H)
    assert set(live(case)) == {ClockKind.REFUND}


@pytest.mark.parametrize(
    "case_type", [T.REFUND_UNSHIPPED, T.RETURN_REFUND], ids=["R2.7-refund-only", "R2.7-return"]
)
def test_r2_7_the_refund_executed_stops_every_clock(shop_a, clock, case_type):
    case = open_case(shop_a, case_type, reason="changed_mind")
    walk(case, *steps.path_to(case_type, S.AWAITING_REFUND))
    assert set(live(case)) == {ClockKind.REFUND}
    clock.move_to(T0 + 100 * H)
    walk(case, steps.refund_and_execute)
    assert case.status == S.COMPLETED
    assert live(case) == {}
    assert latest(case)[ClockKind.REFUND].stopped_at == T0 + 100 * H


# --- Exchange, resend, repair: the merchant's shipment ------------------------------------------


def test_r2_7_exchange_awaiting_shipment_runs_the_replacement_clock_until_shipped(shop_a, clock):
    case = open_case(shop_a, T.EXCHANGE)
    walk(case, *steps.path_to(T.EXCHANGE, S.PENDING_FINAL_REVIEW))
    clock.move_to(T0 + 10 * H)
    walk(case, steps.approve_final)
    assert case.status == S.AWAITING_SHIPMENT
    replacement = live(case)[ClockKind.REPLACEMENT_SHIPMENT]
    assert (replacement.started_at, replacement.due_at) == (T0 + 10 * H, T0 + 58 * H)
    assert set(live(case)) == {ClockKind.REPLACEMENT_SHIPMENT}

    clock.move_to(T0 + 20 * H)
    walk(case, steps.ship_to_buyer)
    assert case.status == S.AWAITING_BUYER_RECEIPT
    assert latest(case)[ClockKind.REPLACEMENT_SHIPMENT].stopped_at == T0 + 20 * H
    assert live(case) == {}


def test_r2_7_resend_approval_starts_the_shipment_clock(shop_a, clock):
    case = walk(open_case(shop_a, T.RESEND, reason="missing_item"), steps.approve)
    assert case.status == S.AWAITING_SHIPMENT
    assert durations(case) == {ClockKind.REPLACEMENT_SHIPMENT: 48 * H}


def test_r2_7_an_exchange_converted_to_a_refund_swaps_shipment_for_refund(shop_a, clock):
    case = open_case(shop_a, T.EXCHANGE)
    walk(case, *steps.path_to(T.EXCHANGE, S.AWAITING_SHIPMENT))
    clock.move_to(T0 + 5 * H)
    walk(case, steps.convert)
    assert latest(case)[ClockKind.REPLACEMENT_SHIPMENT].state == ClockState.STOPPED
    assert durations(case) == {ClockKind.REFUND: 24 * H}


# --- Ending: close, withdraw; starting over: reopen --------------------------------------------


def close(case: Case, by) -> object:
    return services.close_case(case=case, note="买家未回复", by=by)


@pytest.mark.parametrize(
    "before, end",
    [
        pytest.param([], steps.withdraw, id="R2.7-withdraw-pending"),
        pytest.param([steps.request_evidence], steps.withdraw, id="R2.7-withdraw-paused"),
        pytest.param([steps.approve], steps.withdraw, id="R2.7-withdraw-awaiting-return"),
        pytest.param([steps.request_evidence], close, id="R2.7-close-paused"),
        pytest.param([steps.approve], close, id="R2.7-close-awaiting-return"),
        pytest.param([steps.reject], close, id="R2.7-close-rejected"),
    ],
)
def test_r2_7_closing_or_withdrawing_stops_every_clock(shop_a, clock, before, end):
    case = walk(open_case(shop_a), *before)
    clock.move_to(T0 + 7 * H)
    walk(case, end)
    assert case.status == S.CLOSED
    assert live(case) == {}
    for c in SlaClock.objects.filter(case=case):
        assert c.state == ClockState.STOPPED
        assert c.stopped_at is not None and c.stopped_at <= T0 + 7 * H


def test_r2_7_reapplying_after_a_rejection_starts_new_clocks(shop_a, clock):
    case = open_case(shop_a)
    clock.move_to(T0 + H)
    walk(case, steps.reject)
    assert live(case) == {}

    clock.move_to(T0 + 50 * H)
    services.reopen_case(case=case, by=BY, note="买家补充了说明")
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    clocks = live(case)
    assert set(clocks) == MERCHANT_OPENING_CLOCKS
    for c in clocks.values():
        assert c.started_at == T0 + 50 * H  # from zero again, not the old remainder
    assert durations(case) == {
        ClockKind.FIRST_RESPONSE: 2 * H,
        ClockKind.PLAN: 24 * H,
        ClockKind.REVIEW: 48 * H,
    }
    # The first round stays on record, stopped.
    old = SlaClock.objects.filter(case=case, state=ClockState.STOPPED)
    assert sorted(old.values_list("kind", flat=True)) == sorted(MERCHANT_OPENING_CLOCKS)
    assert set(old.values_list("stopped_at", flat=True)) == {T0 + H}


# --- VIP buyers (R2.8) ----------------------------------------------------------------------


def test_r2_8_vip_merchant_clocks_are_halved(shop_a, clock):
    vip = open_case(shop_a, vip_level=2)
    regular = open_case(shop_a)
    assert vip.order.buyer.vip_level == 2
    assert durations(vip) == {
        ClockKind.FIRST_RESPONSE: 1 * H,
        ClockKind.PLAN: 12 * H,
        ClockKind.REVIEW: 24 * H,
    }
    assert durations(regular) == {
        ClockKind.FIRST_RESPONSE: 2 * H,
        ClockKind.PLAN: 24 * H,
        ClockKind.REVIEW: 48 * H,
    }
    # ...and so are the later merchant clocks.
    walk(vip, steps.approve, steps.ship_return, steps.receive)
    assert durations(vip) == {ClockKind.INSPECTION: 24 * H}


def test_r2_8_the_vip_buyers_own_clock_is_not_shortened(shop_a, clock):
    vip = walk(open_case(shop_a, vip_level=1), steps.approve)
    regular = walk(open_case(shop_a), steps.approve)
    vip_shipment = live(vip)[ClockKind.RETURN_SHIPMENT]
    regular_shipment = live(regular)[ClockKind.RETURN_SHIPMENT]
    assert vip_shipment.is_buyer_clock
    assert vip_shipment.due_at == regular_shipment.due_at
    # Monday 2 March 2026 + 7 working days = Wednesday 11 March, 24:00.
    assert vip_shipment.due_at == datetime(2026, 3, 12, 0, 0, tzinfo=SH)


def test_r2_8_vip_applies_to_the_case_not_to_the_shop(shop_a, clock):
    """A VIP case elsewhere in the shop does not tighten an ordinary buyer's clocks."""
    open_case(shop_a, vip_level=3)
    regular = open_case(shop_a, T.REFUND_UNSHIPPED, reason="changed_mind")
    assert regular.order.status == OrderStatus.UNSHIPPED
    assert durations(regular)[ClockKind.FIRST_RESPONSE] == 2 * H


# --- The policy's deadlines are the clocks' (R2.1–R2.5, R2.8) ---------------------------------


def test_r2_7_the_policys_deadlines_name_the_sla_clocks():
    named = {kind for clocks in deadlines.CLOCKS_FOR_TYPE.values() for kind, _ in clocks}
    assert named == set(ClockKind.values) - FIXED_CLOCKS
    assert {k for k, rule in CLOCK_RULES.items() if rule.buyer_clock} == deadlines.BUYER_CLOCKS


NATIONAL_DAY_EVE = datetime(2026, 9, 30, 15, 0, tzinfo=SH)


@pytest.mark.parametrize(
    "case_type, reason, category, vip_level, end",
    [
        pytest.param(T.RETURN_REFUND, "quality_issue", "apparel", 0, S.COMPLETED, id="R2.4-return"),
        pytest.param(
            T.RETURN_REFUND, "quality_issue", "electronics", 1, S.COMPLETED, id="R2.3-R2.8-vip"
        ),
        pytest.param(T.RETURN_REFUND, "quality_issue", "food", 0, S.COMPLETED, id="R2.5-food"),
        pytest.param(
            T.EXCHANGE, "quality_issue", "apparel", 0, S.AWAITING_BUYER_RECEIPT, id="R2.7-exchange"
        ),
        pytest.param(
            T.REPAIR, "quality_issue", "electronics", 0, S.AWAITING_BUYER_RECEIPT, id="R2.7-repair"
        ),
        pytest.param(
            T.RESEND, "missing_item", "apparel", 0, S.AWAITING_BUYER_RECEIPT, id="R2.7-resend"
        ),
        pytest.param(
            T.REFUND_UNSHIPPED, "changed_mind", "apparel", 2, S.COMPLETED, id="R2.8-refund-only"
        ),
    ],
)
def test_r2_1_r2_5_decide_reports_the_deadlines_the_clocks_run(
    shop_a, case_type, reason, category, vip_level, end
):
    """A case walked through the services, approved the afternoon before 国庆 2026: the
    decision on its facts (with the approval and receipt times) names exactly the clocks the
    case ran, due when they were due; those it cannot date yet run as long as the clocks did."""
    received = None
    with time_machine.travel(NATIONAL_DAY_EVE - 5 * H, tick=False) as traveller:
        case = open_case(shop_a, case_type, category=category, vip_level=vip_level, reason=reason)
        for n, step in enumerate(steps.path_to(case_type, end)):
            traveller.move_to(NATIONAL_DAY_EVE + 30 * n * H)
            step(case, BY)
            if step is steps.receive:
                received = NATIONAL_DAY_EVE + 30 * n * H
    case.refresh_from_db()
    assert case.approved_at == NATIONAL_DAY_EVE

    case_facts = replace(facts_for_case(case), approved_at=case.approved_at, received_at=received)
    decision = decide(case_facts, policy_for(case.shop_id))

    ran = latest(case)
    assert set(decision.deadlines) == set(ran)
    for kind, deadline in decision.deadlines.items():
        clock = ran[kind]
        if deadline.due_at is None:
            assert deadline.counts_from in {"inspection", "final_approval"}, kind
            assert clock.due_at - clock.started_at == timedelta(hours=deadline.hours), kind
        else:
            assert datetime.fromisoformat(deadline.due_at) == clock.due_at, kind
    if ClockKind.RETURN_SHIPMENT in ran:
        assert ran[ClockKind.RETURN_SHIPMENT].due_at == datetime(2026, 10, 16, 0, 0, tzinfo=SH)
