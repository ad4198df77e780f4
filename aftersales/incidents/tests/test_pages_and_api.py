"""The incident, signal and robot pages and API endpoints (R12.1, issue 13): what each role
may do, Chinese and English, and another shop's objects are a 404 everywhere."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aftersales import testing
from aftersales.alerts import services as alert_services
from aftersales.alerts.models import RobotChannel
from aftersales.analytics.tests.support import order, product
from aftersales.cases import services as case_services
from aftersales.incidents import services
from aftersales.incidents.models import Incident
from aftersales.shops.choices import Role
from aftersales.shops.services import create_api_key
from aftersales.signals.models import Signal

SYSTEM = testing.SYSTEM


def client_for(user, language="zh-hans") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def sup_a(shop_a):
    return testing.make_user("suzy", shop_a, Role.SUPERVISOR)


@pytest.fixture
def admin_a(shop_a):
    return testing.make_user("adam", shop_a, Role.ADMIN)


@pytest.fixture
def sup_b(shop_b):
    return testing.make_user("sam", shop_b, Role.SUPERVISOR)


@pytest.fixture
def incident(shop_a, sup_a):
    sku = product(shop_a, "连衣裙")
    for _ in range(2):
        testing.make_case(
            order(shop_a, sku, timezone.now() - timedelta(days=2)), reason="quality_issue"
        )
    return services.declare_incident(
        shop=shop_a,
        kind="batch_defect",
        title="连衣裙批次开线",
        scope=services.Scope(product_id=sku.product_id),
        by=testing.actor(sup_a),
    )


@pytest.fixture
def signal(shop_a):
    cases = []
    for _ in range(2):
        case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
        case_services.approve_case(case=case, by=SYSTEM)
        case_services.record_return_shipment(
            case=case, carrier="yunda", tracking_number="YD1", by=SYSTEM
        )
        cases.append(case)
    return Signal.objects.get(case=cases[1])


def test_r12_1_incident_pages_in_chinese_and_english(incident, alice, sup_a):
    page = client_for(alice).get("/incidents/")
    assert page.status_code == 200 and "应急事件" in page.content.decode()
    assert "连衣裙批次开线" in page.content.decode()
    assert "宣布应急事件" not in page.content.decode()  # an agent cannot declare
    detail = client_for(sup_a, "en").get(f"/incidents/{incident.pk}/")
    text = detail.content.decode()
    assert (
        detail.status_code == 200
        and "Apply to every open case" in text
        and "Incident declared" in text
    )
    assert text.count('data-case="') == 2


def test_r12_1_declare_and_bulk_message_through_the_page(shop_a, sup_a, alice):
    sku = product(shop_a, "毛衣")
    case = testing.make_case(
        order(shop_a, sku, timezone.now() - timedelta(days=1)), reason="quality_issue"
    )
    client = client_for(sup_a)
    response = client.post(
        "/incidents/",
        {
            "shop": shop_a.pk,
            "kind": "batch_defect",
            "title": "毛衣起球",
            "product": sku.product_id,
            "since_days": 7,
            "target_hours": 6,
        },
    )
    incident = Incident.objects.get(title="毛衣起球")
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/"
    assert list(services.member_cases(incident)) == [case]
    result = client.post(
        f"/incidents/{incident.pk}/bulk/", {"action": "message", "template": "delay_notice"}
    )
    assert result.status_code == 200 and 'data-outcome="done"' in result.content.decode()
    # Bad input changes nothing: no scope is a 400 with the reason on the page.
    bad = client.post(
        "/incidents/",
        {
            "shop": shop_a.pk,
            "kind": "batch_defect",
            "title": "x",
            "since_days": 7,
            "target_hours": 4,
        },
    )
    assert bad.status_code == 400 and Incident.objects.count() == 1
    # An agent may not declare nor act in bulk.
    assert (
        client_for(alice).post(f"/incidents/{incident.pk}/bulk/", {"action": "approve"}).status_code
        == 403
    )
    assert client_for(alice).post(f"/incidents/{incident.pk}/do/close/", {}).status_code == 403


def test_r12_1_another_shop_gets_404_on_every_incident_page_and_endpoint(
    incident, carol, sup_b, shop_b
):
    for user in (carol, sup_b):
        client = client_for(user)
        assert client.get(f"/incidents/{incident.pk}/").status_code == 404
        assert client.post(f"/incidents/{incident.pk}/do/close/", {}).status_code == 404
        assert (
            client.post(f"/incidents/{incident.pk}/bulk/", {"action": "approve"}).status_code == 404
        )
        assert client.get(f"/api/v1/incidents/{incident.pk}").status_code == 404
        assert (
            client.post(
                f"/api/v1/incidents/{incident.pk}/close", "{}", content_type="application/json"
            ).status_code
            == 404
        )
        assert "连衣裙批次开线" not in client.get("/incidents/").content.decode()
        assert client.get("/api/v1/incidents").json() == []
    _key, raw = create_api_key(shop=shop_b, name="ERP", by=SYSTEM, role=Role.SUPERVISOR)
    assert (
        Client(headers={"X-API-Key": raw}).get(f"/api/v1/incidents/{incident.pk}").status_code
        == 404
    )
    incident.refresh_from_db()
    assert incident.status == "open"


def test_r12_1_the_api_declares_lists_and_acts_with_per_case_results(shop_a, sup_a):
    sku = product(shop_a, "衬衫")
    case = testing.make_case(
        order(shop_a, sku, timezone.now() - timedelta(days=1)), reason="wrong_size"
    )
    _key, raw = create_api_key(shop=shop_a, name="ERP", by=SYSTEM, role=Role.SUPERVISOR)
    api = Client(headers={"X-API-Key": raw})
    created = api.post(
        "/api/v1/incidents",
        json.dumps(
            {
                "kind": "viral_complaint",
                "title": "尺码偏小",
                "reason": "wrong_size",
                "target_hours": 8,
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 200, created.content
    body = created.json()
    assert [c["id"] for c in body["cases"]] == [case.pk] and body["timeline"][0][
        "type"
    ] == "incident_declared"
    bulk = api.post(
        f"/api/v1/incidents/{body['id']}/bulk",
        json.dumps({"action": "message", "template": "delay_notice"}),
        content_type="application/json",
    )
    assert bulk.json()["results"] == [{"case": case.pk, "outcome": "done", "detail": ""}]
    refused = api.post(
        "/api/v1/incidents",
        json.dumps({"kind": "surge", "title": "x"}),
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["message_en"].startswith("Say which cases")
    _k, agent_key = create_api_key(shop=shop_a, name="bot", by=SYSTEM, role=Role.AGENT)
    denied = Client(headers={"X-API-Key": agent_key}).post(
        f"/api/v1/incidents/{body['id']}/close", "{}", content_type="application/json"
    )
    assert denied.status_code == 403
    assert (
        api.post(
            f"/api/v1/incidents/{body['id']}/close", "{}", content_type="application/json"
        ).json()["status"]
        == "closed"
    )


def test_issue13_signals_on_the_case_page_and_their_review(signal, alice, sup_a, carol):
    page = client_for(alice).get(f"/cases/{signal.case_id}/")
    text = page.content.decode()
    assert "异常信号" in text and "YD1" in text and 'data-rule="shared_return_tracking"' in text
    assert 'name="verdict"' not in text  # an agent sees, a supervisor reviews
    assert (
        client_for(alice).post(f"/signals/{signal.pk}/review/", {"verdict": "confirm"}).status_code
        == 403
    )
    assert (
        client_for(carol).post(f"/signals/{signal.pk}/review/", {"verdict": "confirm"}).status_code
        == 404
    )
    assert client_for(carol).get(f"/api/v1/signals/{signal.pk}").status_code == 404
    response = client_for(sup_a).post(
        f"/signals/{signal.pk}/review/", {"verdict": "dismiss", "note": "同一快递员"}
    )
    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.status == "dismissed"
    listing = client_for(sup_a, "en").get("/signals/?status=dismissed")
    assert "One return tracking number on several cases" in listing.content.decode()
    rules = client_for(sup_a).get("/api/v1/signals/rules").json()
    row = next(r for r in rules if r["rule"] == "shared_return_tracking")
    assert (row["confirmed"], row["dismissed"], row["open"], row["precision"]) == (0, 1, 1, 0.0)
    case = signal.case
    case.refresh_from_db()
    assert case.status == "awaiting_return"  # never a rejection


def test_issue13_rules_change_by_admin_only_through_page_and_api(shop_a, admin_a, sup_a):
    assert (
        client_for(sup_a)
        .post(
            "/signals/rules/refund_only_buyer/",
            {
                "shop": shop_a.pk,
                "refund_only_buyer-threshold": 5,
                "refund_only_buyer-window_days": 30,
            },
        )
        .status_code
        == 403
    )
    client_for(admin_a).post(
        "/signals/rules/refund_only_buyer/",
        {
            "shop": shop_a.pk,
            "refund_only_buyer-threshold": 5,
            "refund_only_buyer-window_days": 30,
            "refund_only_buyer-active": "on",
        },
    )
    rules = client_for(admin_a).get("/api/v1/signals/rules").json()
    assert next(r for r in rules if r["rule"] == "refund_only_buyer")["threshold"] == 5
    put = client_for(admin_a).put(
        "/api/v1/signals/rules/reused_image",
        json.dumps({"threshold": 4, "window_days": 90, "active": True}),
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["threshold"] == 4


def test_issue13_robot_page_masks_secrets_and_is_isolated(shop_a, admin_a, sup_a, alice, shop_b):
    admin_b = testing.make_user("bea", shop_b, Role.ADMIN)
    client = client_for(admin_a)
    response = client.post(
        "/alerts/",
        {
            "shop": shop_a.pk,
            "kind": "dingtalk",
            "name": "售后群",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=tok-abcdef123456",
            "secret": "SECverysecret9876",
            "alert_kinds": ["sla_breached", "incident_proposed"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    channel = RobotChannel.objects.get()
    page = client.get(f"/alerts/?shop={shop_a.pk}").content.decode()
    assert "tok-abcdef123456" not in page and "SECverysecret" not in page and "3456" in page
    assert "tok-abcdef" not in client.get("/api/v1/alerts/robots").content.decode()
    # Supervisors read; agents do not see the page; another shop's admin gets 404.
    assert client_for(sup_a).get("/alerts/").status_code == 200
    assert (
        client_for(sup_a).post("/alerts/", {"shop": shop_a.pk, "kind": "wecom"}).status_code == 403
    )
    assert client_for(alice).get("/alerts/").status_code == 404
    other = client_for(admin_b)
    assert other.get(f"/alerts/?shop={shop_a.pk}").status_code == 404
    assert other.post(f"/alerts/robots/{channel.pk}/", {}).status_code == 404
    assert other.post(f"/alerts/robots/{channel.pk}/test/").status_code == 404
    patch = json.dumps({"name": "x", "alert_kinds": ["sla_breached"]})
    assert (
        other.patch(
            f"/api/v1/alerts/robots/{channel.pk}", patch, content_type="application/json"
        ).status_code
        == 404
    )
    assert other.get(f"/api/v1/alerts/robots?shop={shop_a.pk}").status_code == 404
    # A bad host is refused on the page, nothing saved.
    bad = client.post(
        "/alerts/",
        {
            "shop": shop_a.pk,
            "kind": "wecom",
            "name": "x",
            "webhook_url": "https://evil.example/x",
            "alert_kinds": ["sla_breached"],
        },
    )
    assert bad.status_code == 400 and RobotChannel.objects.count() == 1
    assert alert_services.channels_for_actor(testing.actor(admin_a), shop_a.pk) == [channel]
