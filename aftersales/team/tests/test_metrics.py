"""R9.3 per-agent numbers on a small hand-built shop, with time frozen at each step.

The story (T0 = 10:00 Shanghai, 10 March 2025; alice and bob are agents of shop A):

| case | assignee | first reply                      | end                  |
|------|----------|----------------------------------|----------------------|
| c1   | alice    | alice approves at +1 h           | closed at +10 h      |
| c2   | alice    | alice asks for evidence at +3 h  | closed at +20 h      |
| c3   | alice    | bob messages the buyer at +30 min; alice approves at +2 h | open |
| c4   | bob      | bob approves at +3 h, after the sweep marked the 2 h limit breached | open |
| c5   | alice    | 10 days earlier: evidence asked at +6 h | closed at +30 h |

Proves: cases handled and resolution time count resolved cases of the assignee in the
period; first response time is the case's first reply, credited to whoever made it (c3
counts for bob, not alice); median and p90 are nearest-rank; the SLA hit rate counts the
merchant's clocks (not the buyer's return deadline) that stopped in the period: a clock
the sweep marked breached and one stopped late without a sweep both miss, one stopped
while paused (waiting for the buyer) meets; open workload is now; another shop's people
never appear; the numbers take a fixed number of queries, however many cases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.cases.models import Case, RefundExecution
from aftersales.policy.services import triage_case
from aftersales.sla.models import ClockKind, SlaClock
from aftersales.sla.services import fire_breach
from aftersales.team.metrics import (
    agent_numbers,
    percentiles,
    resolved_cases,
    resolved_without_a_person,
)
from aftersales.team.services import send_templated_message

from .support import new_case

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
SYSTEM = testing.SYSTEM
H = timedelta(hours=1)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def bob(shop_a):
    return testing.make_user("bob", shop_a, "agent")


@pytest.fixture
def story(shop_a, shop_b, alice, bob, carol, sam):
    a, b = testing.actor(alice), testing.actor(bob)
    with at(T0 - timedelta(days=10)):
        c5 = new_case(shop_a)
        case_services.assign_case(case=c5, assignee=alice, by=SYSTEM)
    with at(T0 - timedelta(days=10) + 6 * H):
        case_services.request_evidence(case=c5, note="请上传照片", by=a)
    with at(T0 - timedelta(days=10) + 30 * H):
        case_services.close_case(case=c5, note="买家未补充凭证", by=a)

    with at(T0):
        c1, c2, c3, c4 = (new_case(shop_a) for _ in range(4))
        for case in (c1, c2, c3):
            case_services.assign_case(case=case, assignee=alice, by=SYSTEM)
        case_services.assign_case(case=c4, assignee=bob, by=SYSTEM)
        # Noise in another shop: carol's numbers must not appear in shop A.
        c_b = new_case(shop_b)
        case_services.assign_case(case=c_b, assignee=carol, by=SYSTEM)
    with at(T0 + timedelta(minutes=30)):
        send_templated_message(case=c3, template="in_progress", by=b)
        case_services.approve_case(case=c_b, by=testing.actor(carol))
    with at(T0 + 1 * H):
        case_services.approve_case(case=c1, by=a)
    with at(T0 + 2 * H):
        case_services.approve_case(case=c3, by=a)
    with at(T0 + 2.5 * H):
        clock = SlaClock.objects.get(case=c4, kind=ClockKind.FIRST_RESPONSE)
        assert fire_breach(clock.pk) == 1
    with at(T0 + 3 * H):
        case_services.request_evidence(case=c2, note="请上传吊牌照片", by=a)
        case_services.approve_case(case=c4, by=b)
    with at(T0 + 10 * H):
        case_services.close_case(case=c1, note="买家已撤回", by=a)
    with at(T0 + 20 * H):
        case_services.close_case(case=c2, note="买家未补充凭证", by=a)
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def numbers_for(shop, days, now=T0 + timedelta(days=1)):
    rows = agent_numbers(shop=shop, start=now - timedelta(days=days), end=now)
    return {n.username: n for n in rows}


def test_r9_3_numbers_for_the_last_30_days(story, shop_a):
    numbers = numbers_for(shop_a, 30)

    assert set(numbers) == {"alice", "bob", "sam"}  # carol works in shop B
    alice, bob = numbers["alice"], numbers["bob"]
    assert alice.handled == 3
    assert (alice.resolution_median, alice.resolution_p90) == (20 * H, 30 * H)
    assert alice.first_response_count == 3
    assert (alice.first_response_median, alice.first_response_p90) == (3 * H, 6 * H)
    # c1: 3 met; c2 and c5: first reply late (missed), plan and review stopped while
    # paused for the buyer (met); c3: 3 met. The buyer's return deadline is not counted.
    assert (alice.sla_total, alice.sla_met) == (12, 10)
    assert alice.sla_hit_rate == pytest.approx(10 / 12)
    assert alice.open_cases == 1

    assert bob.handled == 0
    assert (bob.resolution_median, bob.resolution_p90) == (None, None)
    assert bob.first_response_count == 2
    assert (bob.first_response_median, bob.first_response_p90) == (30 * H / 60, 3 * H)
    # c4 (bob's): the first-response limit was breached by the sweep; plan and review met.
    assert (bob.sla_total, bob.sla_met) == (3, 2)
    assert bob.open_cases == 1

    assert (numbers["sam"].handled, numbers["sam"].sla_hit_rate) == (0, None)


def test_r9_3_numbers_for_the_last_7_days_leave_older_cases_out(story, shop_a):
    alice = numbers_for(shop_a, 7)["alice"]

    assert alice.handled == 2
    assert (alice.resolution_median, alice.resolution_p90) == (10 * H, 20 * H)
    assert (alice.first_response_median, alice.first_response_p90) == (1 * H, 3 * H)
    assert (alice.sla_total, alice.sla_met) == (9, 8)


def test_r9_3_another_shop_sees_only_its_own_people(story, shop_b):
    numbers = numbers_for(shop_b, 30)

    assert set(numbers) == {"carol"}
    assert numbers["carol"].first_response_median == 30 * H / 60
    assert numbers["carol"].open_cases == 1


def test_r9_3_numbers_take_a_fixed_number_of_queries(story, shop_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        numbers_for(shop_a, 30)


def test_r9_3_percentiles_are_nearest_rank(shop_a, alice):
    for hours in (7, 1, 10, 3, 5, 2, 9, 4, 8, 6):
        with at(T0):
            case = new_case(shop_a)
            case_services.assign_case(case=case, assignee=alice, by=SYSTEM)
        with at(T0 + hours * H):
            case_services.close_case(case=case, note="已解决", by=testing.actor(alice))

    rows = resolved_cases(shop_a, T0, T0 + timedelta(days=1))
    result = percentiles(rows, group="assignee_id", value="resolution_time", percents=(50, 90, 100))

    assert result == {alice.pk: {50: 5 * H, 90: 9 * H, 100: 10 * H}}


def test_r9_3_the_policys_automatic_refunds_are_nobodys_work(shop_a, alice, client):
    """An unshipped order refunded by the policy at once and then assigned (as intake does
    while the refund is paid) is not alice's handled case: no "0 min, 100%". It is counted
    apart, and shown so on the dashboard."""
    a = testing.actor(alice)
    with at(T0):
        automatic = testing.make_case(
            testing.make_order(shop_a, status="unshipped"),
            type="refund_unshipped",
            reason="changed_mind",
        )
        triage_case(case=automatic, by=SYSTEM)
        case_services.assign_case(case=automatic, assignee=alice, by=SYSTEM)
        execution = RefundExecution.objects.get(decision__case=automatic)
        case_services.execute_refund(execution=execution, by=SYSTEM)
        worked = new_case(shop_a)
        case_services.assign_case(case=worked, assignee=alice, by=SYSTEM)
    with at(T0 + 2 * H):
        case_services.close_case(case=worked, note="买家撤回", by=a)
    assert Case.objects.get(pk=automatic.pk).status == "completed"

    numbers = numbers_for(shop_a, 1, now=T0 + 3 * H)["alice"]
    assert numbers.handled == 1
    assert (numbers.resolution_median, numbers.resolution_p90) == (2 * H, 2 * H)
    assert numbers.sla_total == 3  # worked's clocks only
    assert resolved_without_a_person(shop_a, T0 - H, T0 + 3 * H) == 1

    sam = testing.make_user("sam2", shop_a, "supervisor")
    client.force_login(sam)
    client.cookies["django_language"] = "en"
    with at(T0 + 3 * H):
        html = client.get(f"/team/?shop={shop_a.pk}&days=7").content.decode()
    assert 'data-figure="resolved-automatically"' in html
    automatic_line = html[html.index('data-figure="resolved-automatically"') :]
    assert ": 1 case" in automatic_line[: automatic_line.index("</p>")]
