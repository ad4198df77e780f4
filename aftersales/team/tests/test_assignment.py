"""R9.2 automatic and manual assignment, R2.8 VIP cases to senior staff.

Proves:
- the least loaded person on duty in the case's shop gets it; loads count open cases only;
- a matching skill wins over a lighter load; without a match, load decides;
- a VIP buyer's case goes to a senior when one is on duty, otherwise to the least loaded;
- nobody on duty: the case stays unassigned and nothing is recorded;
- never chosen: people off duty, people of another shop, admins and auditors, anyone whose
  role changed after going on duty, inactive logins;
- a case that already has an assignee is left alone;
- fairness: 30 arrivals among equal agents differ by at most one, also when every case is
  finished at once (loads all zero: turns, not the lowest id);
- a case opened through the API is assigned on arrival;
- duty, skills and reassignment enforce who may change them and are on the audit trail.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput, PermissionDenied
from aftersales.orders.choices import OrderStatus
from aftersales.shops.choices import Role
from aftersales.shops.services import add_member, create_api_key
from aftersales.team.models import Duty
from aftersales.team.services import (
    Candidate,
    assign_automatically,
    choose_assignee,
    reassign,
    set_on_duty,
    set_skills,
)

from .support import new_case

SYSTEM = testing.SYSTEM
ASSIGNMENT = Actor.system("assignment")


def on_duty(shop, *users):
    for user in users:
        set_on_duty(user=user, shop=shop, on_duty=True, by=SYSTEM)


def give_open_cases(shop, user, n):
    for _ in range(n):
        case_services.assign_case(case=new_case(shop), assignee=user, by=SYSTEM)


def assign(case):
    return assign_automatically(case=case, by=ASSIGNMENT)


@pytest.fixture
def bob(shop_a):
    """A second agent of shop A."""
    return testing.make_user("bob", shop_a, Role.AGENT)


@pytest.fixture
def ed(shop_a):
    """An agent of shop A who knows electronics."""
    user = testing.make_user("ed", shop_a, Role.AGENT)
    set_skills(user=user, shop=shop_a, skills=["electronics"], by=SYSTEM)
    return user


@pytest.fixture
def vera(shop_a):
    """A senior agent of shop A."""
    user = testing.make_user("vera", shop_a, Role.AGENT)
    set_skills(user=user, shop=shop_a, skills=[], is_senior=True, by=SYSTEM)
    return user


# --- Choosing --------------------------------------------------------------------------------


def test_r9_2_least_loaded_agent_on_duty_gets_the_case(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    give_open_cases(shop_a, alice, 2)
    give_open_cases(shop_a, bob, 1)

    case = assign(new_case(shop_a))

    assert case.assignee == bob
    event = AuditEvent.objects.filter(case=case).latest("seq")
    assert (event.type, event.actor_label, event.payload["assignee"]) == (
        "case_assigned",
        "assignment",
        bob.pk,
    )


def test_r9_2_finished_cases_do_not_count_as_load(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    for _ in range(3):
        case = new_case(shop_a)
        case_services.assign_case(case=case, assignee=alice, by=SYSTEM)
        case_services.close_case(case=case, note="买家撤销", by=SYSTEM)
    give_open_cases(shop_a, bob, 1)

    assert assign(new_case(shop_a)).assignee == alice


def test_r9_2_matching_skill_beats_a_lighter_load(shop_a, alice, ed):
    on_duty(shop_a, alice, ed)
    give_open_cases(shop_a, ed, 3)

    assert assign(new_case(shop_a, category="electronics")).assignee == ed
    # Without a matching skill on the case, load decides again.
    assert assign(new_case(shop_a, category="apparel")).assignee == alice


def test_r9_2_without_anyone_skilled_on_duty_load_decides(shop_a, alice, bob, ed):
    on_duty(shop_a, alice, bob)  # ed, the electronics agent, is off duty
    give_open_cases(shop_a, alice, 1)

    assert assign(new_case(shop_a, category="electronics")).assignee == bob


def test_r2_8_r9_2_vip_case_goes_to_the_senior_on_duty(shop_a, alice, vera):
    on_duty(shop_a, alice, vera)
    give_open_cases(shop_a, vera, 4)

    assert assign(new_case(shop_a, vip_level=2)).assignee == vera
    # An ordinary buyer's case still goes to the least loaded.
    assert assign(new_case(shop_a)).assignee == alice


def test_r2_8_vip_case_without_a_senior_on_duty_goes_to_the_least_loaded(shop_a, alice, bob, vera):
    on_duty(shop_a, alice, bob)
    give_open_cases(shop_a, alice, 1)

    assert assign(new_case(shop_a, vip_level=1)).assignee == bob


def test_r9_2_vip_prefers_a_skilled_senior_among_seniors(shop_a, alice, vera):
    ivy = testing.make_user("ivy", shop_a, Role.SUPERVISOR)
    set_skills(user=ivy, shop=shop_a, skills=["electronics"], is_senior=True, by=SYSTEM)
    on_duty(shop_a, alice, vera, ivy)
    give_open_cases(shop_a, ivy, 2)

    case = assign(new_case(shop_a, category="electronics", vip_level=3))

    assert case.assignee == ivy


# --- Nobody, and never these -----------------------------------------------------------------


def test_r9_2_nobody_on_duty_leaves_the_case_unassigned_and_records_nothing(shop_a, alice):
    case = new_case(shop_a)
    events_before = AuditEvent.objects.count()

    result = assign(case)

    assert result.assignee is None
    assert Case.objects.get(pk=case.pk).assignee_id is None
    assert AuditEvent.objects.count() == events_before


def test_r9_2_off_duty_agents_are_never_chosen(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    set_on_duty(user=alice, shop=shop_a, on_duty=False, by=testing.actor(alice))
    give_open_cases(shop_a, bob, 5)

    chosen = {assign(new_case(shop_a)).assignee for _ in range(4)}

    assert chosen == {bob}


def test_r9_2_another_shops_agents_are_never_chosen(shop_a, shop_b, carol):
    on_duty(shop_b, carol)
    case = new_case(shop_a)

    assert assign(case).assignee is None
    # carol cannot be put on duty in a shop she does not work in.
    with pytest.raises(InvalidInput):
        set_on_duty(user=carol, shop=shop_a, on_duty=True, by=SYSTEM)
    assert not Duty.objects.filter(user=carol, shop=shop_a).exists()
    # and a shop-B case goes to carol, not to anyone of shop A.
    assert assign(new_case(shop_b)).assignee == carol


def test_r9_2_admins_and_auditors_do_not_take_cases(shop_a, alice, audrey, ada):
    for person in (ada, audrey):
        with pytest.raises(InvalidInput):
            set_on_duty(user=person, shop=shop_a, on_duty=True, by=SYSTEM)
    assert assign(new_case(shop_a)).assignee is None


def test_r9_2_a_role_changed_after_going_on_duty_is_not_chosen(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    give_open_cases(shop_a, bob, 3)
    add_member(shop=shop_a, user=alice, role=Role.AUDITOR, by=SYSTEM)  # now read-only

    assert assign(new_case(shop_a)).assignee == bob


def test_r9_2_an_inactive_login_is_not_chosen(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    give_open_cases(shop_a, bob, 3)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert assign(new_case(shop_a)).assignee == bob


def test_r9_2_an_assigned_case_is_left_alone(shop_a, alice, bob):
    on_duty(shop_a, alice)
    case = new_case(shop_a)
    case_services.assign_case(case=case, assignee=bob, by=SYSTEM)
    events_before = AuditEvent.objects.count()

    assert assign(case).assignee == bob
    assert AuditEvent.objects.count() == events_before


# --- Fairness --------------------------------------------------------------------------------


def test_r9_2_fair_over_30_arrivals_among_equal_agents(shop_a, alice, bob):
    cleo = testing.make_user("cleo", shop_a, Role.SUPERVISOR)
    on_duty(shop_a, alice, bob, cleo)

    counts = Counter(assign(new_case(shop_a)).assignee.username for _ in range(30))

    assert set(counts) == {"alice", "bob", "cleo"}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_r9_2_fair_turns_when_every_case_is_finished_at_once(shop_a, alice, bob):
    """Loads stay at zero: only the tie-break spreads the work; the lowest id does not
    take every case."""
    cleo = testing.make_user("cleo", shop_a, Role.AGENT)
    on_duty(shop_a, alice, bob, cleo)
    counts: Counter[str] = Counter()
    for _ in range(30):
        case = assign(new_case(shop_a))
        counts[case.assignee.username] += 1
        case_services.close_case(case=case, note="已解决", by=SYSTEM)

    assert set(counts) == {"alice", "bob", "cleo"}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_r9_2_choose_assignee_rules_in_order():
    old = datetime(2025, 1, 1, tzinfo=UTC)
    a = Candidate(1, load=0, skills=frozenset(), is_senior=False, last_assigned_at=old)
    b = Candidate(2, load=0, skills=frozenset(), is_senior=False, last_assigned_at=None)
    c = Candidate(3, load=2, skills=frozenset({"food"}), is_senior=True, last_assigned_at=None)
    d = Candidate(
        4, load=0, skills=frozenset(), is_senior=False, last_assigned_at=old - timedelta(hours=1)
    )

    assert choose_assignee([], categories=[], vip=False) is None
    # never assigned first, then least recently, then lowest id
    assert choose_assignee([a, b, d], categories=["apparel"], vip=False) == b
    assert choose_assignee([a, d], categories=["apparel"], vip=False) == d
    # a skill match narrows the pool, whatever the load
    assert choose_assignee([a, b, c], categories=["food"], vip=False) == c
    # a VIP goes to the senior
    assert choose_assignee([a, b, c], categories=["apparel"], vip=True) == c


# --- Arrival through the API -----------------------------------------------------------------


def test_r9_2_a_case_opened_through_the_api_is_assigned_on_arrival(shop_a, alice, bob):
    on_duty(shop_a, alice, bob)
    give_open_cases(shop_a, alice, 1)
    _, raw = create_api_key(shop=shop_a, name="ERP", by=SYSTEM)
    order = testing.make_order(shop_a, status=OrderStatus.DELIVERED)
    erp = Client(headers={"X-API-Key": raw})

    response = erp.post(
        "/api/v1/cases",
        {
            "order_id": order.platform_order_id,
            "type": "return_refund",
            "reason": "wrong_size",
            "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Case.objects.get(pk=response.json()["id"]).assignee == bob


# --- Duty, skills and reassignment: who may ---------------------------------------------------


def test_r9_1_people_switch_their_own_duty_and_it_is_on_the_record(shop_a, alice):
    duty = set_on_duty(user=alice, shop=shop_a, on_duty=True, by=testing.actor(alice))

    assert duty.on_duty
    event = AuditEvent.objects.filter(shop=shop_a).latest("seq")
    assert (event.type, event.actor_label, event.before, event.after) == (
        "duty_changed",
        "alice",
        {"on_duty": False},
        {"on_duty": True},
    )
    # Switching to the same state changes nothing and records nothing.
    events_before = AuditEvent.objects.count()
    set_on_duty(user=alice, shop=shop_a, on_duty=True, by=testing.actor(alice))
    assert AuditEvent.objects.count() == events_before


def test_r9_1_an_agent_cannot_switch_someone_elses_duty(shop_a, alice, bob):
    with pytest.raises(PermissionDenied):
        set_on_duty(user=bob, shop=shop_a, on_duty=True, by=testing.actor(alice))
    assert not Duty.objects.filter(user=bob).exists()


def test_r9_1_a_supervisor_switches_anyone_in_their_shop_but_not_elsewhere(
    shop_a, shop_b, alice, carol, sam
):
    set_on_duty(user=alice, shop=shop_a, on_duty=True, by=testing.actor(sam))
    assert Duty.objects.get(user=alice, shop=shop_a).on_duty

    with pytest.raises(PermissionDenied):
        set_on_duty(user=carol, shop=shop_b, on_duty=True, by=testing.actor(sam))
    assert not Duty.objects.filter(user=carol).exists()


def test_r9_1_skills_are_checked_and_recorded(shop_a, alice, sam):
    with pytest.raises(InvalidInput):
        set_skills(user=alice, shop=shop_a, skills=["rockets"], by=testing.actor(sam))
    with pytest.raises(PermissionDenied):
        set_skills(user=alice, shop=shop_a, skills=["food"], by=testing.actor(alice))

    profile = set_skills(
        user=alice,
        shop=shop_a,
        skills=["food", "electronics"],
        is_senior=True,
        by=testing.actor(sam),
    )

    assert (profile.skills, profile.is_senior) == (["electronics", "food"], True)
    event = AuditEvent.objects.filter(shop=shop_a).latest("seq")
    assert event.type == "staff_skills_changed"
    assert event.after == {"skills": ["electronics", "food"], "is_senior": True}


def test_r9_2_supervisor_reassigns_within_the_shop_only(shop_a, alice, bob, carol, sam):
    case = new_case(shop_a)
    case_services.assign_case(case=case, assignee=alice, by=SYSTEM)

    assert reassign(case=case, to_user=bob, by=testing.actor(sam)).assignee == bob

    with pytest.raises(PermissionDenied):
        reassign(case=case, to_user=alice, by=testing.actor(alice))
    with pytest.raises(InvalidInput):
        reassign(case=case, to_user=carol, by=testing.actor(sam))
    assert Case.objects.get(pk=case.pk).assignee == bob
