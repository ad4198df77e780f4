"""R9.2, R9.3, R2.7 the supervisor view (/team/), the duty switch and manual reassignment.

Proves:
- breached and at-risk cases of the team are listed with a link to the case page, most
  urgent first; cases on time, and other shops' cases, are not;
- workload per person and each person's numbers for 7 or 30 days are shown;
- duty switches and reassignment from the page work and return to the page; an unsafe
  `next` is ignored; reassigning to someone outside the shop is refused and changes nothing;
- R6.5: the team pages show no buyer's personal data (phone, name, address).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.sla.models import ClockKind
from aftersales.team.models import Duty

from .conftest import logged_in
from .support import new_case

SYSTEM = testing.SYSTEM


@pytest.fixture
def urgent(shop_a, shop_b, alice):
    """In shop A: one case past its 2 h first-response limit, one 5 minutes from it (at
    risk: the last quarter), one fresh; in shop B: one past its limit."""
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        breached = new_case(shop_a)
        foreign = new_case(shop_b)
    with time_machine.travel(now - timedelta(hours=1, minutes=55), tick=False):
        at_risk = new_case(shop_a)
    fresh = new_case(shop_a)
    case_services.assign_case(case=breached, assignee=alice, by=SYSTEM)
    return {"breached": breached, "at_risk": at_risk, "fresh": fresh, "foreign": foreign}


def test_r2_7_r9_2_supervisor_sees_breached_and_at_risk_cases(urgent, sam):
    response = logged_in(sam).get("/team/")

    assert response.status_code == 200
    rows = response.context["urgent"]
    first_response = [r for r in rows if r["clock"].kind == ClockKind.FIRST_RESPONSE]
    assert [(r["case"].pk, r["breached"]) for r in first_response] == [
        (urgent["breached"].pk, True),
        (urgent["at_risk"].pk, False),
    ]
    content = response.content.decode()
    assert f'href="/cases/{urgent["breached"].pk}/"' in content
    assert f'href="/cases/{urgent["at_risk"].pk}/"' in content
    assert f'href="/cases/{urgent["fresh"].pk}/"' not in content
    assert f'href="/cases/{urgent["foreign"].pk}/"' not in content
    # A reassignment form per row, with a label for its select.
    assert 'for="reassign-1"' in content and 'id="reassign-1"' in content


def test_r9_2_workload_per_agent(urgent, shop_a, sam, alice):
    case_services.assign_case(case=urgent["fresh"], assignee=alice, by=SYSTEM)

    staff = {row.user.username: row for row in logged_in(sam).get("/team/").context["staff"]}

    assert staff["alice"].open_cases == 2
    assert staff["alice"].breached_cases == 0  # past due, but the sweep has not marked it
    assert staff["sam"].open_cases == 0


def test_r9_3_numbers_for_7_or_30_days(shop_a, sam, alice):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=20), tick=False):
        case = new_case(shop_a)
        case_services.assign_case(case=case, assignee=alice, by=SYSTEM)
    with time_machine.travel(now - timedelta(days=20) + timedelta(hours=5), tick=False):
        case_services.close_case(case=case, note="已解决", by=testing.actor(alice))
    client = logged_in(sam)

    def handled(days):
        response = client.get(f"/team/?days={days}")
        assert response.context["days"] == (days if days in (7, 30) else 7)
        return {n.username: n.handled for n in response.context["numbers"]}["alice"]

    assert handled(7) == 0
    assert handled(30) == 1
    assert handled(999) == 0  # an unknown period falls back to 7 days
    assert "5 h 00 min" in client.get("/team/?days=30").content.decode()


def test_r9_1_duty_switch_from_the_dashboard_returns_to_it(shop_a, sam, alice):
    client = logged_in(sam)

    response = client.post(
        "/team/duty/",
        {"shop": shop_a.pk, "user": alice.pk, "on_duty": "1", "next": "/team/?days=30"},
    )

    assert response.status_code == 302 and response.url == "/team/?days=30"
    assert Duty.objects.get(user=alice, shop=shop_a).on_duty
    response = client.post(
        "/team/duty/",
        {"shop": shop_a.pk, "user": alice.pk, "on_duty": "0", "next": "https://evil.example/"},
    )
    assert response.url == "/team/duty/"
    assert not Duty.objects.get(user=alice, shop=shop_a).on_duty


def test_r9_1_agent_switches_own_duty_on_the_duty_page(shop_a, alice):
    client = logged_in(alice)
    assert "Go on duty in" in client.get("/team/duty/").content.decode()

    client.post("/team/duty/", {"shop": shop_a.pk, "on_duty": "1"})

    assert Duty.objects.get(user=alice, shop=shop_a).on_duty
    assert "Go off duty in" in client.get("/team/duty/").content.decode()


def test_r9_2_reassign_from_the_dashboard(urgent, sam, alice, carol):
    client = logged_in(sam)
    bob = testing.make_user("bob", urgent["breached"].shop, "agent")

    response = client.post(
        "/team/reassign/",
        {"case_id": urgent["breached"].pk, "assignee_id": bob.pk, "next": "/team/"},
    )
    assert response.status_code == 302 and response.url == "/team/"
    assert Case.objects.get(pk=urgent["breached"].pk).assignee == bob

    response = client.post(
        "/team/reassign/", {"case_id": urgent["breached"].pk, "assignee_id": carol.pk}, follow=True
    )
    assert "not a member of this shop" in response.content.decode()
    assert Case.objects.get(pk=urgent["breached"].pk).assignee == bob


def test_r9_2_reassign_needs_a_case_number(sam):
    """A wrong number typed on the form is an error on the form (issue 14), not a 400 page."""
    response = logged_in(sam).post("/team/reassign/", {"case_id": "x"}, follow=True)
    assert response.status_code == 200
    assert "There is no case x in your shops." in response.content.decode()


def test_r6_5_team_pages_show_no_buyers_personal_data(urgent, shop_a, sam, alice):
    order = urgent["breached"].order
    buyer = order.buyer
    secrets = [buyer.phone, order.receiver_phone, order.receiver_name, order.receiver_address]
    pages = [
        logged_in(sam).get("/team/"),
        logged_in(sam).post(
            "/team/bulk/",
            {"action": "message", "template": "in_progress", "case_ids": [urgent["breached"].pk]},
        ),
        logged_in(alice).get("/team/duty/"),
    ]
    for response in pages:
        content = response.content.decode()
        for secret in secrets:
            assert secret and secret not in content
    text = urgent["breached"].events.filter(type="buyer_message_sent").get().payload["text"]
    assert all(secret not in text for secret in secrets)
