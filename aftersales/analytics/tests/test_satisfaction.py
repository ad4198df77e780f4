"""R8.6, R9.3 satisfaction: a survey when a case ends, sent through the case's platform
adapter; the buyer's answer once; a score of 3 or less opens a follow-up for the supervisor
with a callback record; the good-case library; CSAT per agent on the satisfaction and team
pages; another shop sees none of it."""

from __future__ import annotations

import pytest

from aftersales import testing
from aftersales.analytics.models import FollowUp, GoodCase, Survey
from aftersales.analytics.periods import Period
from aftersales.analytics.scope import scope_for
from aftersales.analytics.services import csat_by_agent
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.platforms.models import StoredBuyerMessage
from aftersales.shops.choices import Role

from .support import at, client_for, open_case, order, product, refund_return, sh


@pytest.fixture
def ended(shop_a, alice):
    """Two of alice's cases end on 3 May 2026: one refunded, one withdrawn."""
    sku = product(shop_a)
    a = testing.actor(alice)
    first = open_case(order(shop_a, sku, sh(2026, 5, 1, 10)), sh(2026, 5, 2, 10))
    second = open_case(order(shop_a, sku, sh(2026, 5, 1, 11)), sh(2026, 5, 2, 11))
    with at(sh(2026, 5, 2, 12)):
        for case in (first, second):
            case_services.assign_case(case=case, assignee=alice, by=testing.SYSTEM)
    refund_return(first, approved=sh(2026, 5, 2, 13), refunded=sh(2026, 5, 3, 9), by=a)
    with at(sh(2026, 5, 3, 10)):
        case_services.withdraw_case(case=second, by=testing.SYSTEM)
    return first, second


def answer(token, score, comment=""):
    from django.test import Client

    return Client().post(f"/analytics/survey/{token}/", {"score": score, "comment": comment})


def test_r8_6_a_survey_is_sent_once_when_a_case_ends(ended):
    first, second = ended
    surveys = {s.case_id: s for s in Survey.objects.all()}
    assert set(surveys) == {first.pk, second.pk}
    message = StoredBuyerMessage.objects.get(case=first, cause="satisfaction_survey")
    assert f"/analytics/survey/{surveys[first.pk].token}/" in message.text
    assert "打分" in message.text
    assert surveys[first.pk].agent_id == first.assignee_id
    # Nothing is asked while a case is open.
    assert not Survey.objects.exclude(case__in=[first, second]).exists()


def test_r8_6_a_low_score_opens_a_follow_up_and_the_callback_is_recorded(ended, shop_a, alice):
    first, second = ended
    survey = Survey.objects.get(case=first)
    with at(sh(2026, 5, 4, 10)):
        assert answer(survey.token, 2, "退款太慢").status_code == 302
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (2, "退款太慢")
    follow_up = FollowUp.objects.get(survey=survey)
    assert AuditEvent.objects.filter(case=first, type="survey_answered").count() == 1
    # Once only: a second answer changes nothing.
    answer(survey.token, 5)
    survey.refresh_from_db()
    assert survey.score == 2
    # The agent may not record the callback; the supervisor does.
    client = client_for(alice)
    client.post(f"/analytics/follow-ups/{follow_up.pk}/callback/", {"note": "已回访"})
    follow_up.refresh_from_db()
    assert follow_up.called_back_at is None
    sue = testing.make_user("sue", shop_a, Role.SUPERVISOR)
    client_for(sue).post(
        f"/analytics/follow-ups/{follow_up.pk}/callback/", {"note": "已致歉并补偿"}
    )
    follow_up.refresh_from_db()
    assert follow_up.callback_note == "已致歉并补偿" and follow_up.called_back_by == "sue"
    assert AuditEvent.objects.filter(case=first, type="callback_recorded").count() == 1
    # A good score opens nothing.
    with at(sh(2026, 5, 4, 11)):
        answer(Survey.objects.get(case=second).token, 5, "很满意")
    assert FollowUp.objects.count() == 1


def test_r8_6_the_buyer_page_refuses_bad_input_and_unknown_links(ended):
    survey = Survey.objects.get(case=ended[0])
    bad = answer(survey.token, 9)
    assert bad.status_code == 400 and "1 到 5" in bad.content.decode()
    from django.test import Client

    assert Client().get("/analytics/survey/not-a-token/").status_code == 404
    page = Client().get(f"/analytics/survey/{survey.token}/").content.decode()
    assert "张三丰" not in page and "13987654321" not in page


def test_r9_3_csat_per_agent_and_on_the_team_page(ended, shop_a, alice, carol):
    first, second = ended
    with at(sh(2026, 5, 4, 10)):
        answer(Survey.objects.get(case=first).token, 2)
        answer(Survey.objects.get(case=second).token, 5)
    (row,) = csat_by_agent(
        scope_for(testing.actor(alice)), Period(sh(2026, 5, 1).date(), sh(2026, 5, 31).date())
    )
    assert (row.label, row.answered, row.csat, row.average) == ("alice", 2, 0.5, 3.5)
    assert (
        csat_by_agent(
            scope_for(testing.actor(carol)), Period(sh(2026, 5, 1).date(), sh(2026, 5, 31).date())
        )
        == []
    )
    sue = testing.make_user("sue", shop_a, Role.SUPERVISOR)
    dashboard = client_for(sue).get("/team/", {"shop": shop_a.pk}).content.decode()
    assert f'hx-get="/analytics/team-csat/?shop={shop_a.pk}"' in dashboard
    with at(sh(2026, 5, 20, 10)):
        fragment = client_for(sue).get("/analytics/team-csat/", {"shop": shop_a.pk})
    assert fragment.status_code == 200 and "50.0%" in fragment.content.decode()
    assert client_for(carol).get("/analytics/team-csat/", {"shop": shop_a.pk}).status_code == 404


def test_r8_6_the_good_case_library(ended, alice, carol, audrey):
    first = ended[0]
    client_for(carol).post("/analytics/good-cases/", {"case": first.pk, "note": "x"})
    client_for(audrey).post("/analytics/good-cases/", {"case": first.pk, "note": "x"})
    assert not GoodCase.objects.exists()
    client_for(alice).post("/analytics/good-cases/", {"case": first.pk, "note": "主动联系买家"})
    assert GoodCase.objects.get().note == "主动联系买家"
    with at(sh(2026, 5, 20, 10)):
        page = client_for(alice).get("/analytics/satisfaction/").content.decode()
    assert "主动联系买家" in page
    assert "主动联系买家" not in client_for(carol).get("/analytics/satisfaction/").content.decode()
