"""R10.2: access without an account — the same answer for a wrong order and a wrong phone,
codes hashed, single-use and expiring, rate limits per order and per address, one order per
session, CSRF."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from aftersales import testing
from aftersales.buyer.access import signed_link_token
from aftersales.buyer.models import AccessCode

pytestmark = pytest.mark.django_db

SHOWN = "aftersales.buyer.channels.ShownCodeChannel"


@pytest.fixture(autouse=True)
def shown_channel(settings):
    settings.AFTERSALES_BUYER_CODE_CHANNEL = SHOWN


@pytest.fixture
def order(shop_a):
    return testing.make_order(shop_a)  # buyer phone 13812345678, receiver 13987654321


def ask(client, number, last4, address="10.0.0.1"):
    return client.post(
        "/buyer/", {"order_number": number, "phone_last4": last4}, REMOTE_ADDR=address
    )


def code_in(response) -> str:
    match = re.search(r"data-code>(\d{6})<", response.content.decode())
    assert match, "no code shown"
    return match.group(1)


def enter(client, number, code, address="10.0.0.1"):
    return client.post(
        "/buyer/verify/", {"order_number": number, "code": code}, REMOTE_ADDR=address
    )


def test_r10_2_wrong_order_and_wrong_phone_answer_the_same(order):
    wrong_order = ask(Client(), "nonexistent-999", "5678")
    wrong_phone = ask(Client(), order.platform_order_id, "0000")
    assert wrong_order.status_code == wrong_phone.status_code == 200

    def body(response, number):
        html = response.content.decode().replace(number, "N")
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)

    assert body(wrong_order, "nonexistent-999") == body(wrong_phone, order.platform_order_id)
    assert AccessCode.objects.count() == 0


def test_r10_2_the_code_opens_only_that_order_and_is_stored_hashed(order, shop_a):
    client = Client()
    code = code_in(ask(client, order.platform_order_id, "5678"))
    stored = AccessCode.objects.get()
    assert (
        len(stored.code_hash) == 64
        and hashlib.sha256(code.encode()).hexdigest() != stored.code_hash
    )
    response = enter(client, order.platform_order_id, code)
    assert response.status_code == 302 and response.url == "/buyer/order/"
    page = client.get("/buyer/order/")
    assert order.platform_order_id in page.content.decode()
    # The receiver's data is masked.
    assert "13987654321" not in page.content.decode() and "139****4321" in page.content.decode()


def test_r10_2_the_receivers_phone_digits_work_too(order):
    assert AccessCode.objects.count() == 0
    code_in(ask(Client(), order.platform_order_id, "4321"))


def test_r10_2_a_code_is_single_use(order):
    client = Client()
    code = code_in(ask(client, order.platform_order_id, "5678"))
    assert enter(client, order.platform_order_id, code).status_code == 302
    replay = enter(Client(), order.platform_order_id, code)
    assert replay.status_code == 400


def test_r10_2_an_expired_code_is_refused(order, settings):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        code = code_in(ask(client, order.platform_order_id, "5678"))
        traveller.shift(timedelta(seconds=settings.AFTERSALES_BUYER_CODE_TTL_SECONDS + 1))
        assert enter(client, order.platform_order_id, code).status_code == 400


def test_r10_2_a_code_dies_after_the_allowed_wrong_tries(order, settings):
    settings.AFTERSALES_BUYER_CODE_MAX_TRIES = 2
    client = Client()
    code = code_in(ask(client, order.platform_order_id, "5678"))
    wrong = "000000" if code != "000000" else "111111"
    assert enter(client, order.platform_order_id, wrong).status_code == 400
    assert enter(client, order.platform_order_id, wrong).status_code == 400
    assert enter(client, order.platform_order_id, code).status_code == 400


def test_r10_2_rate_limit_per_order_number(order, settings):
    settings.AFTERSALES_BUYER_RATE_PER_ORDER = 3
    for n in range(3):
        assert (
            ask(Client(), order.platform_order_id, "0000", address=f"10.0.1.{n}").status_code == 200
        )
    limited = ask(Client(), order.platform_order_id, "5678", address="10.0.2.1")
    assert limited.status_code == 429
    assert AccessCode.objects.count() == 0
    # An hour later the order may ask again.
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert ask(Client(), order.platform_order_id, "5678", address="10.0.2.1").status_code == 200


def test_r10_2_rate_limit_per_address_also_for_unknown_orders(settings):
    settings.AFTERSALES_BUYER_RATE_PER_ADDRESS = 3
    for n in range(3):
        assert ask(Client(), f"guess-{n}", "1234").status_code == 200
    assert ask(Client(), "guess-9", "1234").status_code == 429
    assert ask(Client(), "guess-9", "1234", address="10.9.9.9").status_code == 200


def test_r10_2_code_tries_are_rate_limited_per_address(order, settings):
    settings.AFTERSALES_BUYER_RATE_PER_ADDRESS = 2
    client = Client()
    code_in(ask(client, order.platform_order_id, "5678"))
    enter(client, order.platform_order_id, "000001")
    enter(client, order.platform_order_id, "000002")
    assert enter(client, order.platform_order_id, "000003").status_code == 429


def test_r10_2_a_session_never_reaches_another_buyers_case(order, shop_a, shop_b):
    other = testing.make_case(testing.make_order(shop_a))
    foreign = testing.make_case(testing.make_order(shop_b))
    own = testing.make_case(order)
    client = Client()
    enter(client, order.platform_order_id, code_in(ask(client, order.platform_order_id, "5678")))
    for case in (other, foreign):
        assert client.post(f"/buyer/cases/{case.pk}/withdraw/").status_code == 404
        assert client.post(f"/buyer/cases/{case.pk}/rating/", {"score": 5}).status_code == 404
    page = client.get("/buyer/order/").content.decode()
    assert f'data-case="{own.pk}"' in page and f'data-case="{other.pk}"' not in page


def test_r10_2_pages_need_a_session():
    response = Client().get("/buyer/order/")
    assert response.status_code == 302 and response.url == "/buyer/"


def test_r10_2_the_signed_link_opens_the_order_until_it_expires(order, settings):
    token = signed_link_token(order)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = Client()
        assert client.get(f"/buyer/link/{token}/").status_code == 302
        assert client.get("/buyer/order/").status_code == 200
        traveller.shift(timedelta(seconds=settings.AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS + 1))
        assert Client().get(f"/buyer/link/{token}/").status_code == 400
    assert Client().get(f"/buyer/link/{token[:-2]}xx/").status_code == 400


def test_r10_2_posts_need_the_csrf_token(order):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/buyer/", {"order_number": order.platform_order_id, "phone_last4": "5678"}
    )
    assert response.status_code == 403
    assert AccessCode.objects.count() == 0


def test_r10_2_the_platform_channel_sends_through_the_cases_adapter(order, settings):
    from aftersales.platforms.models import StoredBuyerMessage

    settings.AFTERSALES_BUYER_CODE_CHANNEL = "aftersales.buyer.channels.PlatformCodeChannel"
    case = testing.make_case(order)
    response = ask(Client(), order.platform_order_id, "5678")
    assert "data-code" not in response.content.decode()
    message = StoredBuyerMessage.objects.get(case=case)
    assert re.search(r"\d{6}", message.text) and message.cause == "buyer_access_code"


def link_from_case_page(client, case) -> str:
    """What a staff member gets from the case page's button: the link to send the buyer."""
    response = client.post(f"/buyer/staff/cases/{case.pk}/link/", follow=True)
    assert response.status_code == 200
    match = re.search(r"http://testserver(/buyer/link/[^/\s<]+/)", response.content.decode())
    assert match, "no link shown"
    return match.group(1)


def test_r10_2_staff_create_the_signed_link_from_the_case_page(order, shop_a, alice):
    from aftersales.audit.models import AuditEvent

    case = testing.make_case(order)
    staff = Client()
    staff.force_login(alice)
    assert 'data-action="buyer-link"' in staff.get(f"/cases/{case.pk}/").content.decode()
    path = link_from_case_page(staff, case)
    event = AuditEvent.objects.get(type="buyer_link_issued")
    assert event.case_id == case.pk and event.actor_label == alice.username
    buyer = Client()
    response = buyer.get(path)
    assert response.status_code == 302 and response.url == "/buyer/order/"
    assert f'data-case="{case.pk}"' in buyer.get("/buyer/order/").content.decode()


def test_r10_2_the_link_opens_its_one_order_until_it_expires_replayed_or_not(
    order, shop_a, alice, settings
):
    case = testing.make_case(order)
    other = testing.make_case(testing.make_order(shop_a))
    staff = Client()
    staff.force_login(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        path = link_from_case_page(staff, case)
        first, replay = Client(), Client()
        assert first.get(path).status_code == 302
        # A replay of the link within its life opens the same order, and only that one: the
        # link is the shop's message to that buyer, who may open it again.
        assert replay.get(path).status_code == 302
        for client in (first, replay):
            assert client.post(f"/buyer/cases/{other.pk}/withdraw/").status_code == 404
            page = client.get("/buyer/order/").content.decode()
            assert f'data-case="{case.pk}"' in page and f'data-case="{other.pk}"' not in page
        traveller.shift(timedelta(seconds=settings.AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS + 1))
        late = Client()
        refused = late.get(path)
        assert refused.status_code == 400
        assert "链接无效或已过期，请联系店铺重新发送。" in refused.content.decode()
        assert late.get("/buyer/order/").status_code == 302  # no session was opened
        english = Client()
        english.cookies["django_language"] = "en"
        refused_en = english.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "The link is not valid or has expired. Ask the shop for a new one." in refused_en


def test_r10_2_a_tampered_link_is_refused(order, shop_a, alice):
    case = testing.make_case(order)
    staff = Client()
    staff.force_login(alice)
    token = link_from_case_page(staff, case).split("/")[-2]
    other = testing.make_order(shop_a)
    payload, _rest = token.split(":", 1)
    # The other order's id under this link's signature; and this link with its signature cut.
    forged = signed_link_token(other).split(":", 1)[0] + ":" + _rest
    for bad in (forged, token[:-3] + "abc", payload):
        client = Client()
        response = client.get(f"/buyer/link/{bad}/")
        assert response.status_code == 400
        assert "链接无效或已过期" in response.content.decode()
        assert client.get("/buyer/order/").status_code == 302


def test_r10_2_only_the_cases_shop_may_create_its_link(order, alice, audrey, carol):
    case = testing.make_case(order)
    assert Client().post(f"/buyer/staff/cases/{case.pk}/link/").status_code == 302  # login
    for user, status in ((carol, 404), (audrey, 403)):
        client = Client()
        client.force_login(user)
        assert client.post(f"/buyer/staff/cases/{case.pk}/link/").status_code == status
    agent = Client()
    agent.force_login(alice)
    assert agent.get(f"/buyer/staff/cases/{case.pk}/link/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(f"/buyer/staff/cases/{case.pk}/link/").status_code == 403
    from aftersales.audit.models import AuditEvent

    assert not AuditEvent.objects.filter(type="buyer_link_issued").exists()


# --- Withdrawing the links sent (R10.2) -------------------------------------------------------


def withdraw_links(client, case):
    return client.post(f"/buyer/staff/cases/{case.pk}/link/withdraw/", follow=True)


def test_r10_2_withdrawn_links_and_the_pages_they_opened_stop_working(order, alice):
    from aftersales.audit.models import AuditEvent

    case = testing.make_case(order)
    staff = Client()
    staff.force_login(alice)
    assert 'data-action="buyer-link-withdraw"' in staff.get(f"/cases/{case.pk}/").content.decode()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        path = link_from_case_page(staff, case)
        opened = Client()
        assert opened.get(path).status_code == 302
        assert opened.get("/buyer/order/").status_code == 200
        # A buyer who came in with the one-time code is not affected by the withdrawal.
        by_code = Client()
        enter(
            by_code, order.platform_order_id, code_in(ask(by_code, order.platform_order_id, "5678"))
        )
        assert by_code.get("/buyer/order/").status_code == 200

        traveller.shift(timedelta(minutes=5))
        response = withdraw_links(staff, case)
        assert "已发出的此订单链接均已失效" in response.content.decode()
        event = AuditEvent.objects.get(type="buyer_links_revoked")
        assert event.case_id == case.pk and event.actor_label == alice.username

        # The page the link opened is closed; the link itself is refused with its reason.
        assert opened.get("/buyer/order/").status_code == 302
        refused = Client().get(path)
        assert refused.status_code == 400 and "商家已撤回此链接" in refused.content.decode()
        assert by_code.get("/buyer/order/").status_code == 200

        # A link made after the withdrawal works.
        traveller.shift(timedelta(minutes=1))
        fresh = link_from_case_page(staff, case)
        assert Client().get(fresh).status_code == 302


def test_r10_2_only_the_cases_shop_may_withdraw_its_links(order, alice, audrey, carol):
    from aftersales.buyer.models import LinkRevocation

    case = testing.make_case(order)
    token = signed_link_token(order)
    assert Client().post(f"/buyer/staff/cases/{case.pk}/link/withdraw/").status_code == 302
    for user, status in ((carol, 404), (audrey, 403)):
        client = Client()
        client.force_login(user)
        assert client.post(f"/buyer/staff/cases/{case.pk}/link/withdraw/").status_code == status
    agent = Client()
    agent.force_login(alice)
    assert agent.get(f"/buyer/staff/cases/{case.pk}/link/withdraw/").status_code == 405
    assert not LinkRevocation.objects.exists()
    assert Client().get(f"/buyer/link/{token}/").status_code == 302
