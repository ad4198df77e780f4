"""Integrators' per-shop API keys, and browser sessions with CSRF.

Proves:
- tenant isolation: a shop-A key reads and changes shop A's cases, and gets 404 for
  shop B's, which stay unchanged; the key acts only as its own shop;
- R6.2: actions by key are on the audit trail under the key's (non-secret) prefix; a key
  with the auditor role reads but cannot write;
- a revoked, unknown or malformed key is 401 ``unauthenticated`` — also on writes, where a
  CSRF complaint would be the wrong answer — and changes nothing;
- a session-authenticated POST without the CSRF token is refused (403 ``csrf_failed``) and
  changes nothing; with the token it goes through.
"""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus
from aftersales.cases.models import Case
from aftersales.shops.choices import Role
from aftersales.shops.services import create_api_key, revoke_api_key

from .support import API, assert_error, db_state, logged_in, post_json

SYSTEM = testing.SYSTEM
CSRF_TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEF"  # a 32-character CSRF secret


@pytest.fixture
def key_a(shop_a):
    key, raw = create_api_key(shop=shop_a, name="ERP", by=SYSTEM)
    return key, raw


@pytest.fixture
def erp(key_a):
    """An integrator's HTTP client: no cookies, CSRF enforced, the shop-A key on every call."""
    return Client(enforce_csrf_checks=True, headers={"X-API-Key": key_a[1]})


@pytest.fixture
def cases(shop_a, shop_b):
    return {
        "a": testing.make_case(testing.make_order(shop_a)),
        "b": testing.make_case(testing.make_order(shop_b)),
    }


def test_tenant_isolation_shop_a_key_reads_only_shop_a(cases, erp):
    listed = erp.get(f"{API}/cases").json()
    assert [c["id"] for c in listed["results"]] == [cases["a"].pk]
    assert erp.get(f"{API}/cases/{cases['a'].pk}").status_code == 200
    assert_error(erp.get(f"{API}/cases/{cases['b'].pk}"), 404, "not_found")


def test_r6_2_shop_a_key_changes_shop_a_case_on_the_record(cases, erp, key_a):
    response = post_json(erp, f"/cases/{cases['a'].pk}/approve", {"note": "ERP 自动同意"})

    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=cases["a"].pk)
    assert case.status == CaseStatus.AWAITING_RETURN
    event = AuditEvent.objects.filter(case=case).latest("seq")
    assert (event.type, event.actor_kind) == ("case_approved", "api_key")
    assert event.actor_label == f"api-key:{key_a[0].prefix}"
    assert key_a[1] not in event.actor_label  # the secret is never recorded


def test_shop_a_key_opens_a_case_on_a_shop_a_order(shop_a, erp):
    order = testing.make_order(shop_a)
    response = post_json(
        erp,
        "/cases",
        {
            "order_id": order.platform_order_id,
            "type": "return_refund",
            "reason": "wrong_size",
            "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
        },
    )
    assert response.status_code == 201, response.content
    assert Case.objects.get(order=order).shop_id == shop_a.pk


def test_tenant_isolation_shop_a_key_cannot_change_shop_b_case(cases, erp):
    before = db_state()
    for action, payload in [("approve", {}), ("close", {"note": "x"}), ("withdraw", {})]:
        response = post_json(erp, f"/cases/{cases['b'].pk}/{action}", payload)
        assert_error(response, 404, "not_found")
    assert db_state() == before


def test_r6_2_auditor_key_reads_but_cannot_write(shop_a, cases):
    _, raw = create_api_key(shop=shop_a, name="BI", role=Role.AUDITOR, by=SYSTEM)
    bi = Client(enforce_csrf_checks=True, headers={"X-API-Key": raw})
    assert bi.get(f"{API}/cases/{cases['a'].pk}").status_code == 200
    before = db_state()
    assert_error(post_json(bi, f"/cases/{cases['a'].pk}/approve"), 403, "permission_denied")
    assert db_state() == before


def test_revoked_key_is_401_for_reads_and_writes(cases, erp, key_a):
    revoke_api_key(key=key_a[0], by=SYSTEM)
    before = db_state()
    assert_error(erp.get(f"{API}/cases"), 401, "unauthenticated")
    assert_error(erp.get(f"{API}/cases/{cases['a'].pk}"), 401, "unauthenticated")
    assert_error(post_json(erp, f"/cases/{cases['a'].pk}/approve"), 401, "unauthenticated")
    assert db_state() == before


@pytest.mark.parametrize(
    "key",
    [
        "ask_" + "x" * 43,  # well-formed, unknown
        "not-even-our-prefix",
        "ask_",
        "",
    ],
)
def test_wrong_key_is_401_and_changes_nothing(cases, key_a, key):
    client = Client(enforce_csrf_checks=True, headers={"X-API-Key": key})
    before = db_state()
    assert_error(client.get(f"{API}/cases"), 401, "unauthenticated")
    assert_error(post_json(client, f"/cases/{cases['a'].pk}/approve"), 401, "unauthenticated")
    assert db_state() == before


def test_a_key_is_not_accepted_outside_its_header(cases, key_a):
    client = Client()
    assert_error(client.get(f"{API}/cases", {"X-API-Key": key_a[1]}), 401, "unauthenticated")
    assert_error(client.get(f"{API}/cases?api_key={key_a[1]}"), 401, "unauthenticated")


def test_session_post_without_csrf_token_is_refused_and_changes_nothing(cases, alice):
    browser = logged_in(alice, enforce_csrf_checks=True)
    assert browser.get(f"{API}/cases").status_code == 200  # reading needs no token
    before = db_state()

    response = post_json(browser, f"/cases/{cases['a'].pk}/approve")

    assert_error(response, 403, "csrf_failed")
    assert db_state() == before


def test_session_post_with_a_wrong_csrf_token_is_refused(cases, alice):
    browser = logged_in(alice, enforce_csrf_checks=True)
    browser.cookies["csrftoken"] = CSRF_TOKEN
    before = db_state()
    response = post_json(
        browser, f"/cases/{cases['a'].pk}/approve", headers={"X-CSRFToken": "Z" * 32}
    )
    assert_error(response, 403, "csrf_failed")
    assert db_state() == before


def test_session_post_with_the_csrf_token_goes_through(cases, alice):
    browser = logged_in(alice, enforce_csrf_checks=True)
    browser.cookies["csrftoken"] = CSRF_TOKEN
    response = post_json(
        browser, f"/cases/{cases['a'].pk}/approve", headers={"X-CSRFToken": CSRF_TOKEN}
    )
    assert response.status_code == 200, response.content
    assert Case.objects.get(pk=cases["a"].pk).status == CaseStatus.AWAITING_RETURN


def test_a_key_needs_no_csrf_token_even_beside_a_session(cases, alice, key_a):
    """An integrator's key is the credential; a browser cookie next to it does not matter."""
    client = logged_in(alice, enforce_csrf_checks=True)
    response = post_json(client, f"/cases/{cases['a'].pk}/approve", headers={"X-API-Key": key_a[1]})
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(case=cases["a"]).latest("seq")
    assert event.actor_kind == "api_key"


def test_inactive_user_session_is_401(cases, alice):
    browser = logged_in(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert_error(browser.get(f"{API}/cases"), 401, "unauthenticated")
