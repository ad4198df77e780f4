"""The subscription call (快递100 订阅, issue 13): a parcel recorded on a case is subscribed at
the tracking aggregator so that its scans are pushed to the shop's address — against a local
HTTP receiver standing for the aggregator (a real socket server)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from aftersales import testing
from aftersales.alerts.tests.receiver import start_receiver
from aftersales.cases import services as case_services
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Shipment
from aftersales.platforms.kuaidi100 import services
from aftersales.platforms.kuaidi100.models import (
    SubscriptionStatus,
    TrackingLink,
    TrackingSubscription,
)
from aftersales.platforms.kuaidi100.services import sign_of
from aftersales.shops.choices import Role

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM
SALT, KEY = "push-salt", "customer-key"
PUBLIC = "https://aftersales.example.com"


@pytest.fixture
def aggregator():
    receiver = start_receiver()
    with override_settings(
        KUAIDI100_POLL_URL=receiver.url("/poll"), AFTERSALES_PUBLIC_BASE_URL=PUBLIC
    ):
        yield receiver
    receiver.server.shutdown()


def _link(shop, key=KEY, salt=SALT):
    return TrackingLink.objects.create(shop=shop, salt=salt, key=key)


def _ship_return(shop, number, carrier="yunda"):
    case = testing.make_case(testing.make_order(shop), reason="quality_issue")
    case_services.approve_case(case=case, by=SYSTEM)
    case_services.record_return_shipment(
        case=case, carrier=carrier, tracking_number=number, by=SYSTEM
    )
    return case, Shipment.objects.get(case=case, kind=ShipmentKind.RETURN)


def _form(request):
    return {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}


def test_issue13_a_return_parcel_is_subscribed_and_the_aggregators_push_then_lands(
    shop_a, aggregator, django_capture_on_commit_callbacks
):
    _link(shop_a)
    aggregator.answers.append((200, {"result": True, "returnCode": "200", "message": "提交成功"}))
    with django_capture_on_commit_callbacks(execute=True):
        case, shipment = _ship_return(shop_a, "YD-SUB-1")
    (call,) = aggregator.requests
    form = _form(call)
    assert call.path == "/poll" and form["schema"] == "json"
    param = json.loads(form["param"])
    assert param == {
        "company": "yunda",
        "number": "YD-SUB-1",
        "key": KEY,
        "parameters": {
            "callbackurl": f"{PUBLIC}/webhooks/kuaidi100/{shop_a.pk}/",
            "salt": SALT,
            "resultv2": "1",
        },
    }
    (subscription,) = TrackingSubscription.objects.all()
    assert (
        subscription.shipment == shipment and subscription.status == SubscriptionStatus.SUBSCRIBED
    )
    assert subscription.attempts == 1 and subscription.last_error == ""

    # The aggregator then pushes to the address it was given, signed with the salt it was given.
    push = json.dumps(
        {
            "status": "polling",
            "lastResult": {
                "nu": "YD-SUB-1",
                "com": "yunda",
                "state": "3",
                "data": [{"ftime": "2026-12-02 15:00:00", "context": "已签收", "status": "签收"}],
            },
        },
        ensure_ascii=False,
    )
    path = urllib.parse.urlsplit(param["parameters"]["callbackurl"]).path
    answer = Client().post(
        path, {"param": push, "sign": sign_of(push, param["parameters"]["salt"])}
    )
    assert answer.status_code == 200
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED


def test_issue13_already_subscribed_at_the_aggregator_counts_as_subscribed(
    shop_a, aggregator, django_capture_on_commit_callbacks
):
    _link(shop_a)
    aggregator.answers.append((200, {"result": False, "returnCode": "501", "message": "重复订阅"}))
    with django_capture_on_commit_callbacks(execute=True):
        _ship_return(shop_a, "YD-SUB-2")
    assert TrackingSubscription.objects.get().status == SubscriptionStatus.SUBSCRIBED


def test_issue13_a_server_error_is_tried_again_later_and_a_refusal_fails_at_once_visibly(
    shop_a, aggregator, django_capture_on_commit_callbacks
):
    _link(shop_a)
    start = timezone.now()
    aggregator.answers.append(
        (200, {"result": False, "returnCode": "500", "message": "服务器错误"})
    )
    with (
        time_machine.travel(start, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case, _shipment = _ship_return(shop_a, "YD-SUB-3")
    subscription = TrackingSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.PENDING and subscription.attempts == 1
    assert subscription.next_attempt_at == start + timedelta(seconds=services.RETRY_WAITS[0])
    assert services.send_due_subscriptions(start + timedelta(seconds=10)) == 0  # not yet
    assert len(aggregator.requests) == 1

    # The next try: the aggregator refuses the number; no third call, ever.
    aggregator.answers.append(
        (200, {"result": False, "returnCode": "700", "message": "订阅方的订阅数据存在错误"})
    )
    later = start + timedelta(seconds=services.RETRY_WAITS[0] + 1)
    assert services.send_due_subscriptions(later) == 1
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.FAILED and subscription.attempts == 2
    assert subscription.last_error == "700 订阅方的订阅数据存在错误"
    assert services.send_due_subscriptions(later + timedelta(days=1)) == 0
    assert len(aggregator.requests) == 2

    # The agent sees it on the case page, in Chinese and in English.
    agent = testing.make_user("agent-a", shop_a, Role.AGENT)
    client = Client()
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "未能跟踪：请手动跟进此包裹" in page and "700 订阅方的订阅数据存在错误" in page
    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Not followed: track this parcel by hand" in page


def test_issue13_the_tries_run_out_after_max_attempts(shop_a, aggregator):
    _link(shop_a)
    _case, shipment = _ship_return(shop_a, "YD-SUB-4")  # on_commit not run: nothing sent yet
    (subscription,) = TrackingSubscription.objects.all()
    now = timezone.now()
    for _attempt in range(services.MAX_ATTEMPTS):
        aggregator.answers.append((503, {}))
        assert services.send_due_subscriptions(now) == 1
        now += timedelta(hours=1)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.FAILED
    assert subscription.attempts == services.MAX_ATTEMPTS and subscription.last_error == "HTTP 503"
    assert services.send_due_subscriptions(now) == 0


def test_issue13_a_carrier_the_aggregator_does_not_follow_fails_without_a_call(shop_a, aggregator):
    _link(shop_a)
    _ship_return(shop_a, "X-1", carrier="cainiao-local")  # a code the platform sent, kept as is
    (subscription,) = TrackingSubscription.objects.all()
    assert subscription.status == SubscriptionStatus.FAILED
    assert "cainiao-local" in subscription.last_error
    assert services.send_due_subscriptions() == 0 and aggregator.requests == []


def test_issue13_without_a_key_or_a_public_address_nothing_is_sent(shop_a, aggregator):
    TrackingLink.objects.create(shop=shop_a, salt=SALT)  # pushes only: subscribed elsewhere
    _ship_return(shop_a, "YD-NOKEY")
    assert not TrackingSubscription.objects.exists()

    TrackingLink.objects.filter(shop=shop_a).update(key=KEY)
    with override_settings(AFTERSALES_PUBLIC_BASE_URL=""):
        _ship_return(shop_a, "YD-NOBASE")
        assert services.send_due_subscriptions() == 1
    subscription = TrackingSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.FAILED
    assert "AFTERSALES_PUBLIC_BASE_URL" in subscription.last_error
    assert aggregator.requests == []


def test_issue13_tenant_isolation_each_shop_subscribes_with_its_own_key(shop_a, shop_b, aggregator):
    _link(shop_a, key="key-of-a", salt="salt-of-a")
    _link(shop_b, key="key-of-b", salt="salt-of-b")
    _ship_return(shop_a, "SAME-NUMBER")
    _ship_return(shop_b, "SAME-NUMBER")
    _ship_return(shop_a, "SAME-NUMBER")  # the same parcel on a second case of shop A: once
    assert TrackingSubscription.objects.filter(shop=shop_a).count() == 1
    assert TrackingSubscription.objects.filter(shop=shop_b).count() == 1
    call_command("kuaidi100_sync")
    sent = {
        (p["key"], p["parameters"]["salt"], p["parameters"]["callbackurl"])
        for p in (json.loads(_form(r)["param"]) for r in aggregator.requests)
    }
    assert sent == {
        ("key-of-a", "salt-of-a", f"{PUBLIC}/webhooks/kuaidi100/{shop_a.pk}/"),
        ("key-of-b", "salt-of-b", f"{PUBLIC}/webhooks/kuaidi100/{shop_b.pk}/"),
    }
    # Another shop's agent never reads shop A's case page, parcels and subscriptions included.
    other = testing.make_user("agent-b", shop_b, Role.AGENT)
    client = Client()
    client.force_login(other)
    case_a = TrackingSubscription.objects.get(shop=shop_a).shipment.case
    assert client.get(f"/cases/{case_a.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_issue13_outside_a_test_transaction_the_call_leaves_when_the_event_commits(aggregator):
    shop = testing.make_shop()
    _link(shop)
    _ship_return(shop, "YD-COMMIT")
    assert TrackingSubscription.objects.get().status == SubscriptionStatus.SUBSCRIBED
    assert len(aggregator.requests) == 1


def test_issue13_an_sf_parcel_is_subscribed_with_the_phones_last_four_digits_only(
    shop_a, aggregator, django_capture_on_commit_callbacks
):
    _link(shop_a)
    aggregator.answers.append((200, {"result": True, "returnCode": "200", "message": "提交成功"}))
    with django_capture_on_commit_callbacks(execute=True):
        _case, shipment = _ship_return(shop_a, "SF1234567890", carrier="shunfeng")
    (call,) = aggregator.requests
    param = json.loads(_form(call)["param"])
    phone = shipment.order.receiver_phone
    assert param["company"] == "shunfeng"
    assert param["parameters"]["phone"] == phone[-4:]
    assert phone[:-4] not in call.body.decode()  # never the whole number
    assert TrackingSubscription.objects.get().status == SubscriptionStatus.SUBSCRIBED


def test_issue13_an_sf_parcel_without_a_known_phone_fails_visibly_without_a_call(
    shop_a, aggregator
):
    _link(shop_a)
    case, shipment = _ship_return(shop_a, "SF0000000001", carrier="shunfeng")
    # The platform gave the phone masked to its end, and the buyer's row has none.
    assert services.phone_tail(shipment) != ""
    shipment.order.receiver_phone = "138********"
    shipment.order.save(update_fields=["receiver_phone"])
    shipment.order.buyer.phone = ""
    shipment.order.buyer.save(update_fields=["phone"])
    TrackingSubscription.objects.all().delete()
    services.subscribe_parcel(Shipment.objects.get(pk=shipment.pk))
    (subscription,) = TrackingSubscription.objects.all()
    assert subscription.status == SubscriptionStatus.FAILED
    assert "phone" in subscription.last_error
    assert services.send_due_subscriptions() == 0 and aggregator.requests == []
