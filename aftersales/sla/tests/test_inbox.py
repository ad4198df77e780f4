"""R2.7: the warnings and escalations the timers fire reach people: the assignee sees the
at-risk warning, the supervisors the breach, each in their own inbox (/reminders/) with an
unread count in the top bar; nobody opens another person's reminder."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from aftersales import testing
from aftersales.cases import services
from aftersales.shops.choices import Role
from aftersales.sla import services as sla
from aftersales.sla.models import Notification

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
H = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def fired(shop_a, alice):
    """Alice's case: its first response turned at risk, then breached (sweeps at both)."""
    sam = testing.make_user("sam", shop_a, Role.SUPERVISOR)
    with time_machine.travel(T0, tick=False) as clock:
        case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
        services.assign_case(case=case, assignee=alice, by=testing.SYSTEM)
        clock.move_to(T0 + 1.6 * H)
        sla.sweep()
        clock.move_to(T0 + 2.1 * H)
        sla.sweep()
    return {"case": case, "alice": alice, "sam": sam}


def test_r2_7_the_assignee_sees_the_warning_with_an_unread_count_and_opens_the_case(fired):
    alice = browser(fired["alice"])
    queue = alice.get("/").content.decode()
    assert "data-unread>1<" in queue

    inbox = alice.get("/reminders/")
    html = inbox.content.decode()
    assert inbox.status_code == 200
    assert "Deadline at risk" in html and f"#{fired['case'].pk}" in html
    assert "Deadline breached" not in html  # the breach goes to the supervisors

    note = Notification.objects.get(recipient=fired["alice"])
    opened = alice.post(f"/reminders/{note.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == f"/cases/{fired['case'].pk}/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert "data-unread" not in alice.get("/").content.decode()


def test_r2_7_the_supervisor_sees_the_breach_and_marks_everything_read(fired):
    sam = browser(fired["sam"])
    html = sam.get("/reminders/").content.decode()
    assert "Deadline breached" in html
    assert sam.post("/reminders/read/").status_code == 302
    assert not Notification.objects.filter(recipient=fired["sam"], read_at__isnull=True).exists()
    # Alice's own stays unread: marking all read is only one's own.
    assert Notification.objects.get(recipient=fired["alice"]).read_at is None


def test_tenant_isolation_nobody_opens_or_marks_another_persons_reminder(fired, carol):
    note = Notification.objects.get(recipient=fired["alice"])
    for outsider in (carol, fired["sam"]):  # another shop's agent; a colleague
        client = browser(outsider)
        assert client.post(f"/reminders/{note.pk}/open/").status_code == 404
        assert f'data-notification="{note.pk}"' not in client.get("/reminders/").content.decode()
    note.refresh_from_db()
    assert note.read_at is None


def test_anonymous_is_sent_to_the_login_and_get_is_refused_on_actions(fired):
    assert Client().get("/reminders/").status_code == 302
    note = Notification.objects.get(recipient=fired["alice"])
    assert browser(fired["alice"]).get(f"/reminders/{note.pk}/open/").status_code == 405


# --- Grouped, with the shop (issue 14) ----------------------------------------------------------


@pytest.fixture
def busy(shop_a, shop_b):
    """A supervisor of two shops after a bad morning: every case of both shops breached its
    first response, plan and review deadlines (three breaches a case); the newest case last."""
    lead = testing.make_user("lead", shop_a, Role.SUPERVISOR)
    from aftersales.shops.services import add_member

    add_member(shop=shop_b, user=lead, role=Role.SUPERVISOR, by=testing.SYSTEM)
    cases = []
    with time_machine.travel(T0, tick=False) as clock:
        for index in range(6):
            shop = shop_a if index % 3 else shop_b
            cases.append(testing.make_case(testing.make_order(shop), reason="quality_issue"))
            clock.shift(10 * 60)
        for case in cases:  # each case breaches at its own time, the newest case last
            clock.move_to(case.applied_at + 49 * H)
            sla.sweep()
    return {"lead": lead, "cases": cases}


def rows(html: str) -> list[int]:
    import re

    return [int(pk) for pk in re.findall(r'data-case="(\d+)"', html)]


def test_r2_7_reminders_are_one_row_per_case_newest_first_with_the_shop(busy, shop_a, shop_b):
    lead, cases = busy["lead"], busy["cases"]
    assert Notification.objects.filter(recipient=lead).count() == 3 * len(cases)
    html = browser(lead).get("/reminders/").content.decode()
    assert rows(html) == [c.pk for c in reversed(cases)]
    assert "×3" in html  # three breaches of one case, counted on its row
    assert shop_a.name in html and shop_b.name in html
    assert '<th scope="col">Shop</th>' in html


def test_r2_7_the_summary_counts_by_shop_and_filters_by_shop_and_kind(busy, shop_a, shop_b):
    lead, cases = busy["lead"], busy["cases"]
    client = browser(lead)
    html = client.get("/reminders/").content.decode()
    in_a = [c for c in cases if c.shop_id == shop_a.pk]
    assert f'?shop={shop_a.pk}&amp;kind=breached">{3 * len(in_a)}<' in html
    only_a = client.get(f"/reminders/?shop={shop_a.pk}").content.decode()
    assert sorted(rows(only_a)) == sorted(c.pk for c in in_a)
    assert rows(client.get("/reminders/?kind=at_risk").content.decode()) == []
    # Another person's shop is not a filter: all of one's own are shown.
    assert len(rows(client.get("/reminders/?shop=999999").content.decode())) == len(cases)


def test_r2_7_opening_a_row_reads_all_of_its_cases_reminders(busy):
    lead, case = busy["lead"], busy["cases"][0]
    newest = Notification.objects.filter(recipient=lead, case=case).order_by("-pk").first()
    response = browser(lead).post(f"/reminders/{newest.pk}/open/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=lead, case=case, read_at=None).exists()
    others = Notification.objects.filter(recipient=lead, read_at=None).exclude(case=case)
    assert others.count() == 3 * (len(busy["cases"]) - 1)
