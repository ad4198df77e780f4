"""The policy and SLA endpoints of the v1 API, and what the policy does to a new case.

Proves:
- R6.3 what-if: POST /policy/check answers a same-shop user with the explained decision and
  writes nothing; unreadable or invalid JSON is a 400 JSON error with a code; another shop's
  shop_id is a 404; anonymous callers get 401; R2.4/R2.5: given the approval and receipt
  times it dates the buyer's return and the inspection (the shop's hours), else says what they
  count from;
- GET /cases/{id}/decision and /clocks: 200 for the case's shop, 404 for another shop with
  the same body as a case that does not exist, 401 anonymous; a paused clock shows its
  frozen time left (R2.7);
- POST /cases/{id}/decide and /clocks/{kind}/extend (R2.6): the auditor gets 403 and nothing
  changes; an unknown clock is 400; a clock that is not running is 404; a passed deadline 409;
- R2.4: GET /calendar/warnings names a year without holiday data (2027, as of late 2026);
- R3.1: a small unshipped refund-only case opened through POST /cases is approved and refunded
  by the policy, in the policy's name on the audit trail, and the money moves once; a
  delivered return waits for a person with the stored decision in the case detail, and the
  detail's clocks show the seconds left (R2.1–R2.3).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.orders.choices import OrderStatus
from aftersales.policy.models import PolicyDecision, PolicyVersion
from aftersales.policy.services import decide_case, publish_policy_version
from aftersales.sla.models import ClockKind, DeadlineExtension, SlaClock
from aftersales.workdays.calendar import forget_calendar

from .support import API, COUNTING_GATEWAY, CountingGateway, assert_error, db_state, post_json

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
H = timedelta(hours=1)
SYSTEM = testing.SYSTEM
DEFAULT = "default@2025.1"
MISSING_ID = 987654321


@pytest.fixture(autouse=True)
def package_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def clock(db):
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def everything() -> dict[str, Any]:
    """db_state plus the policy and SLA rows these endpoints could write."""
    return db_state() | {
        "decisions": list(PolicyDecision.objects.order_by("pk").values()),
        "versions": PolicyVersion.objects.count(),
        "clocks": list(SlaClock.objects.order_by("pk").values()),
        "extensions": DeadlineExtension.objects.count(),
    }


def pending_case(shop, **kwargs) -> Case:
    """A delivered return (quality issue, photo required), decided by the policy."""
    case = testing.make_case(testing.make_order(shop), reason="quality_issue", **kwargs)
    decide_case(case=case, by=Actor.system("policy"))
    return case


# --- POST /policy/check ---------------------------------------------------------------------

RETURN = {
    "type": "return_refund",
    "reason": "quality_issue",
    "order_status": "delivered",
    "applied_at": "2026-03-02T09:00:00+08:00",
    "delivered_at": "2026-02-27T18:00:00+08:00",
    "evidence": ["photo"],
    "items": [{"category": "apparel", "paid_amount_fen": 8800}],
}
UNSHIPPED_SMALL = {
    "type": "refund_unshipped",
    "reason": "changed_mind",
    "order_status": "unshipped",
    "applied_at": "2026-03-02T09:00:00+08:00",
    "items": [{"category": "apparel", "paid_amount_fen": 8800}],
}


def test_r6_3_policy_check_answers_with_the_decision_and_writes_nothing(
    shop_a, alice_client, clock
):
    before = everything()
    response = post_json(alice_client, "/policy/check", UNSHIPPED_SMALL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["policy_version"] == DEFAULT
    assert body["recommendation"] == "approve_refund"
    assert body["auto_approve"] is True
    assert body["goods_refund_fen"] == 8800
    assert datetime.fromisoformat(body["deadlines"]["first_response"]["due_at"]) == T0 + 2 * H
    assert datetime.fromisoformat(body["deadlines"]["review"]["due_at"]) == T0 + 48 * H
    assert any(hit["rule"] == "triage.unshipped_auto" for hit in body["trace"])
    assert everything() == before


def test_r2_4_r2_5_policy_check_dates_the_buyers_return_and_the_inspection(
    shop_a, alice_client, clock
):
    """With the approval and receipt times, the what-if dates every clock they start: the
    buyer's 7 working days (Monday 2 March 2026 approved → Wednesday 11 March, 24:00) and the
    inspection, 48 h after arrival; without them it says what they count from."""
    publish_policy_version(
        shop=shop_a, document="[sla]\ninspection_hours = 36\n", effective_from=T0, by=SYSTEM
    )
    before = everything()
    approved, received = T0 + 3 * H, T0 + 4 * 24 * H
    dated = post_json(
        alice_client,
        "/policy/check",
        RETURN | {"approved_at": approved.isoformat(), "received_at": received.isoformat()},
    )
    assert dated.status_code == 200, dated.content
    deadlines = dated.json()["deadlines"]
    assert datetime.fromisoformat(deadlines["return_shipment"]["due_at"]) == datetime(
        2026, 3, 12, 0, 0, tzinfo=SH
    )
    assert deadlines["inspection"]["hours"] == 36  # the shop's
    assert datetime.fromisoformat(deadlines["inspection"]["due_at"]) == received + 36 * H

    undated = post_json(alice_client, "/policy/check", RETURN).json()["deadlines"]
    assert (undated["return_shipment"]["counts_from"], undated["return_shipment"]["due_at"]) == (
        "approval",
        None,
    )
    assert (undated["inspection"]["counts_from"], undated["inspection"]["due_at"]) == (
        "receipt",
        None,
    )
    assert everything() == before


def test_r6_3_policy_check_uses_the_shops_policy_in_force_at_the_application(
    shop_a, alice_client, clock
):
    publish_policy_version(
        shop=shop_a,
        document="[triage]\nauto_approve_limit_fen = 1000\n",
        effective_from=T0 + 24 * H,
        by=SYSTEM,
    )
    before = everything()
    earlier = post_json(alice_client, "/policy/check", UNSHIPPED_SMALL).json()
    later = post_json(
        alice_client,
        "/policy/check",
        UNSHIPPED_SMALL | {"applied_at": "2026-03-04T09:00:00+08:00", "shop_id": shop_a.pk},
    ).json()
    assert (earlier["policy_version"], earlier["auto_approve"]) == (DEFAULT, True)
    assert later["policy_version"] == f"{DEFAULT}+shop{shop_a.pk}v1"
    assert later["auto_approve"] is False  # 88 yuan is over the shop's 10 yuan limit
    assert everything() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="R6.3-unreadable"),
        pytest.param("[1, 2]", id="R6.3-not-an-object"),
        pytest.param(json.dumps(UNSHIPPED_SMALL | {"type": "teleport"}), id="R6.3-unknown-type"),
        pytest.param(json.dumps(UNSHIPPED_SMALL | {"items": []}), id="R6.3-no-items"),
        pytest.param(
            json.dumps(UNSHIPPED_SMALL | {"applied_at": "2026-03-02T09:00:00"}),
            id="R6.3-naive-time",
        ),
        pytest.param(json.dumps(UNSHIPPED_SMALL | {"colour": "red"}), id="R6.3-unknown-field"),
    ],
)
def test_r6_3_policy_check_refuses_bad_json_with_a_coded_error(shop_a, alice_client, body):
    before = everything()
    response = alice_client.post(API + "/policy/check", body, content_type="application/json")
    assert_error(response, 400, "invalid_input")
    assert everything() == before


def test_policy_check_for_another_shop_is_not_found(shop_a, shop_b, alice_client):
    response = post_json(alice_client, "/policy/check", UNSHIPPED_SMALL | {"shop_id": shop_b.pk})
    body = assert_error(response, 404, "not_found")
    missing = post_json(alice_client, "/policy/check", UNSHIPPED_SMALL | {"shop_id": MISSING_ID})
    assert missing.json() == body


def test_policy_check_needs_a_login(anon_client):
    assert_error(post_json(anon_client, "/policy/check", UNSHIPPED_SMALL), 401, "unauthenticated")


# --- GET /cases/{id}/decision and /clocks ----------------------------------------------------


def test_r6_3_the_stored_decision_is_read_by_the_cases_shop(shop_a, alice, alice_client, clock):
    case = pending_case(shop_a)
    response = alice_client.get(f"{API}/cases/{case.pk}/decision")
    assert response.status_code == 200, response.content
    body = response.json()
    stored = PolicyDecision.objects.get(case=case)
    assert body["policy_version"] == DEFAULT == stored.policy_version
    assert body["recommendation"] == stored.recommendation == "needs_evidence"
    assert body["complexity"] == "simple"
    assert body["auto_approve"] is False
    assert body["detail"]["missing_evidence"] == ["photo"]


def test_a_case_the_policy_has_not_decided_has_no_decision(shop_a, alice_client):
    case = testing.make_case(testing.make_order(shop_a))
    assert_error(alice_client.get(f"{API}/cases/{case.pk}/decision"), 404, "not_found")


def test_r2_7_the_clocks_are_read_by_the_cases_shop(shop_a, alice_client, clock):
    case = pending_case(shop_a)
    clock.move_to(T0 + 90 * timedelta(minutes=1))
    response = alice_client.get(f"{API}/cases/{case.pk}/clocks")
    assert response.status_code == 200, response.content
    clocks = {c["kind"]: c for c in response.json()}
    assert set(clocks) == {"first_response", "plan", "review"}
    assert clocks["first_response"]["seconds_left"] == 30 * 60
    assert clocks["first_response"]["at_risk"] is True
    assert clocks["plan"]["seconds_left"] == int(22.5 * 3600)
    assert clocks["plan"]["at_risk"] is False
    assert all(c["state"] == "running" and not c["breached"] for c in clocks.values())
    assert all(c["policy_version"] == DEFAULT for c in clocks.values())


def test_r2_7_a_paused_clock_shows_its_frozen_time_and_is_not_at_risk(shop_a, alice_client, clock):
    case = pending_case(shop_a)
    clock.move_to(T0 + 10 * H)
    services.request_evidence(case=case, note="请上传照片", by=SYSTEM)
    clock.move_to(T0 + 10 * H + timedelta(days=3))
    clocks = {c["kind"]: c for c in alice_client.get(f"{API}/cases/{case.pk}/clocks").json()}
    assert clocks["plan"]["state"] == "paused"
    assert clocks["plan"]["seconds_left"] == 14 * 3600
    # 14 of 24 hours left is not "at risk", however long the buyer takes.
    assert clocks["plan"]["at_risk"] is False
    assert clocks["review"]["seconds_left"] == 38 * 3600
    assert clocks["review"]["at_risk"] is False
    assert clocks["first_response"]["state"] == "stopped"
    assert clocks["first_response"]["seconds_left"] is None
    assert clocks["first_response"]["at_risk"] is False


@pytest.mark.parametrize("path", ["decision", "clocks"])
def test_another_shops_case_is_not_found_like_a_missing_one(shop_a, carol, carol_client, path):
    case = pending_case(shop_a)
    foreign = carol_client.get(f"{API}/cases/{case.pk}/{path}")
    missing = carol_client.get(f"{API}/cases/{MISSING_ID}/{path}")
    assert_error(foreign, 404, "not_found")
    assert foreign.content == missing.content


@pytest.mark.parametrize("path", ["decision", "clocks"])
def test_reading_decision_and_clocks_needs_a_login(shop_a, anon_client, path):
    case = pending_case(shop_a)
    assert_error(anon_client.get(f"{API}/cases/{case.pk}/{path}"), 401, "unauthenticated")


# --- POST /cases/{id}/decide -------------------------------------------------------------------


def test_r6_3_an_agent_has_the_policy_decide_again(shop_a, alice, alice_client, clock):
    case = pending_case(shop_a)
    response = post_json(alice_client, f"/cases/{case.pk}/decide")
    assert response.status_code == 200, response.content
    assert response.json()["recommendation"] == "needs_evidence"
    assert PolicyDecision.objects.filter(case=case).count() == 2
    event = AuditEvent.objects.filter(case=case, type="policy_decided").order_by("-seq").first()
    assert event.actor_user_id == alice.pk


def test_the_auditor_may_not_have_the_policy_decide(shop_a, audrey_client):
    case = pending_case(shop_a)
    before = everything()
    assert_error(post_json(audrey_client, f"/cases/{case.pk}/decide"), 403, "permission_denied")
    assert everything() == before


def test_deciding_another_shops_case_is_not_found(shop_a, carol_client, anon_client):
    case = pending_case(shop_a)
    before = everything()
    assert_error(post_json(carol_client, f"/cases/{case.pk}/decide"), 404, "not_found")
    assert_error(post_json(anon_client, f"/cases/{case.pk}/decide"), 401, "unauthenticated")
    assert everything() == before


# --- POST /cases/{id}/clocks/{kind}/extend (R2.6) ----------------------------------------------

EXTENSION = {
    "hours": 12,
    "reason": "等待供应商检测报告",
    "message_to_buyer": "您好，需要额外 12 小时核实",
}


def test_r2_6_an_agent_extends_a_running_deadline(shop_a, alice, alice_client, clock):
    case = pending_case(shop_a)
    clock.move_to(T0 + H)
    response = post_json(alice_client, f"/cases/{case.pk}/clocks/plan/extend", EXTENSION)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "plan"
    assert datetime.fromisoformat(body["due_at"]) == T0 + 36 * H
    assert body["seconds_left"] == 35 * 3600
    extension = DeadlineExtension.objects.get()
    assert (extension.hours, extension.reason) == (12, EXTENSION["reason"])
    assert extension.message_to_buyer == EXTENSION["message_to_buyer"]
    event = AuditEvent.objects.get(case=case, type="deadline_extended")
    assert event.actor_user_id == alice.pk


def test_r2_6_the_auditor_may_not_extend(shop_a, audrey_client, clock):
    case = pending_case(shop_a)
    before = everything()
    response = post_json(audrey_client, f"/cases/{case.pk}/clocks/plan/extend", EXTENSION)
    assert_error(response, 403, "permission_denied")
    assert everything() == before


@pytest.mark.parametrize(
    "kind, payload, status, code",
    [
        pytest.param("lunch", EXTENSION, 400, "invalid_input", id="R2.6-unknown-clock"),
        # Approved: the first response stopped; nothing to extend.
        pytest.param("first_response", EXTENSION, 404, "not_found", id="R2.6-stopped-clock"),
        # The buyer's return clock runs, but no refund clock has started.
        pytest.param("refund", EXTENSION, 404, "not_found", id="R2.6-clock-not-started"),
        pytest.param(
            "return_shipment",
            EXTENSION | {"reason": ""},
            400,
            "invalid_input",
            id="R2.6-no-reason",
        ),
        pytest.param(
            "return_shipment",
            EXTENSION | {"message_to_buyer": "   "},
            400,
            "invalid_input",
            id="R2.6-blank-message",
        ),
        pytest.param(
            "return_shipment", EXTENSION | {"hours": 0}, 400, "invalid_input", id="R2.6-zero-hours"
        ),
    ],
)
def test_r2_6_bad_extensions_are_refused_and_change_nothing(
    shop_a, alice_client, clock, kind, payload, status, code
):
    case = pending_case(shop_a)
    services.approve_case(case=case, by=SYSTEM)
    before = everything()
    response = post_json(alice_client, f"/cases/{case.pk}/clocks/{kind}/extend", payload)
    assert_error(response, status, code)
    assert everything() == before


def test_r2_6_a_passed_deadline_cannot_be_extended(shop_a, alice_client, clock):
    case = pending_case(shop_a)
    clock.move_to(T0 + 3 * H)  # the first response was due at T0 + 2 h
    before = everything()
    response = post_json(alice_client, f"/cases/{case.pk}/clocks/first_response/extend", EXTENSION)
    assert_error(response, 409, "conflict")
    assert everything() == before


def test_extending_another_shops_deadline_is_not_found(shop_a, carol_client, anon_client):
    case = pending_case(shop_a)
    before = everything()
    url = f"/cases/{case.pk}/clocks/plan/extend"
    assert_error(post_json(carol_client, url, EXTENSION), 404, "not_found")
    assert_error(post_json(anon_client, url, EXTENSION), 401, "unauthenticated")
    assert everything() == before


# --- GET /calendar/warnings (R2.4) --------------------------------------------------------------


def test_r2_4_calendar_warnings_name_next_year_when_nobody_has_its_schedule(alice_client, tmp_path):
    from django.core.management import call_command

    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=SH), tick=False):
        response = alice_client.get(f"{API}/calendar/warnings")
        assert response.status_code == 200, response.content
        warnings = response.json()
        assert len(warnings) == 1 and "2027" in warnings[0]

        # The admin imports the State Council's 2027 schedule: the warning goes.
        schedule = tmp_path / "holidays-2027.csv"
        schedule.write_text("date,kind,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
        call_command("import_holidays", "2027", str(schedule), "--note", "test")
        assert alice_client.get(f"{API}/calendar/warnings").json() == []


def test_r2_4_no_calendar_warnings_for_years_the_package_knows(alice_client):
    with time_machine.travel(datetime(2025, 6, 1, 10, 0, tzinfo=SH), tick=False):
        assert alice_client.get(f"{API}/calendar/warnings").json() == []


def test_calendar_warnings_need_a_login(anon_client):
    assert_error(anon_client.get(f"{API}/calendar/warnings"), 401, "unauthenticated")


# --- Opening a case: the policy triages it (R3.1) -----------------------------------------------


def open_through_api(client, order, type: str, reason: str):
    return post_json(
        client,
        "/cases",
        {
            "order_id": order.platform_order_id,
            "type": type,
            "reason": reason,
            "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
        },
    )


@override_settings(AFTERSALES_REFUND_GATEWAY=COUNTING_GATEWAY)
def test_r3_1_a_small_unshipped_refund_is_approved_and_refunded_by_the_policy(
    shop_a, alice_client, clock, django_capture_on_commit_callbacks
):
    CountingGateway.calls = []
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    with django_capture_on_commit_callbacks(execute=True):
        response = open_through_api(alice_client, order, "refund_unshipped", "changed_mind")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert CountingGateway.calls == [f"refund-case-{case_id}"]  # the money moved once

    detail = alice_client.get(f"{API}/cases/{case_id}").json()
    assert detail["status"] == "completed"
    assert detail["refund_status"] == "refunded"
    assert detail["refund"]["goods_amount_fen"] == 8800
    assert detail["refund"]["execution_status"] == "succeeded"
    policy_actor = f"policy:{DEFAULT}"
    assert detail["refund"]["decided_by"] == policy_actor
    actors = {e["type"]: e["actor"] for e in detail["events"]}
    assert actors["case_opened"] == "alice"
    assert actors["policy_decided"] == "policy"
    assert actors["case_approved"] == policy_actor
    assert actors["refund_decided"] == policy_actor
    assert "refund_executed" in actors
    assert detail["policy_decision"]["recommendation"] == "approve_refund"
    assert detail["policy_decision"]["auto_approve"] is True
    # Done: no clock is left running.
    assert detail["clocks"] and all(c["state"] == "stopped" for c in detail["clocks"])
    assert all(c["seconds_left"] is None for c in detail["clocks"])


def test_r3_1_a_delivered_return_waits_for_a_person_with_the_decision_stored(
    shop_a, alice_client, clock, django_capture_on_commit_callbacks
):
    order = testing.make_order(shop_a, status=OrderStatus.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        response = open_through_api(alice_client, order, "return_refund", "no_reason")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_review"
    assert body["refund"] is None
    case = Case.objects.get(pk=body["id"])
    assert not AuditEvent.objects.filter(case=case, type="case_approved").exists()

    stored = PolicyDecision.objects.get(case=case)
    decision = body["policy_decision"]
    assert decision["recommendation"] == stored.recommendation == "needs_review"
    assert decision["auto_approve"] is False
    assert decision["policy_version"] == DEFAULT
    assert decision["detail"]["no_reason_eligible"] is True

    clocks = {c["kind"]: c for c in body["clocks"]}
    assert {k: c["seconds_left"] for k, c in clocks.items()} == {
        "first_response": 2 * 3600,
        "plan": 24 * 3600,
        "review": 48 * 3600,
    }
    assert all(c["state"] == "running" and not c["at_risk"] for c in clocks.values())

    clock.move_to(T0 + 100 * timedelta(minutes=1))
    later = {c["kind"]: c for c in alice_client.get(f"{API}/cases/{case.pk}").json()["clocks"]}
    assert later["first_response"]["seconds_left"] == 20 * 60
    assert later["first_response"]["at_risk"] is True
    assert later[ClockKind.REVIEW]["seconds_left"] == 48 * 3600 - 100 * 60
