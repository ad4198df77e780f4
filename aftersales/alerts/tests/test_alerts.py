"""Staff alerts through the group robots (issue 13): the robots' real message formats and
signing, per-shop set-up with masked secrets, durable delivery with retries — against a local
HTTP receiver (a real socket server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from aftersales import testing
from aftersales.alerts import robots, services
from aftersales.alerts.models import Alert, AlertDelivery, AlertKind, DeliveryStatus
from aftersales.audit.chain import verify_chain
from aftersales.core.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.shops.choices import Role

from .receiver import start_receiver


@pytest.fixture
def receiver():
    r = start_receiver()
    with override_settings(AFTERSALES_ALERT_EXTRA_HOSTS=[r.host]):
        yield r
    r.server.shutdown()


@pytest.fixture
def admin_a(shop_a):
    return testing.make_user("adam", shop_a, Role.ADMIN)


def test_dingtalk_signature_is_the_documented_hmac():
    secret, ts = "SEC000test", 1700000000000
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert robots.dingtalk_sign(secret, ts) == expected
    request = robots.build_request(
        "dingtalk",
        "https://oapi.dingtalk.com/robot/send?access_token=abc",
        secret,
        robots.Message("超时", ("案例 #1",)),
        now=ts / 1000,
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    assert query["access_token"] == ["abc"] and query["timestamp"] == [str(ts)]
    assert query["sign"] == [expected]  # parse_qs undoes the URL-encoding


def test_feishu_signature_signs_the_empty_message_with_the_timestamp_key():
    secret, ts = "feishu-secret", 1700000000
    key = f"{ts}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    request = robots.build_request(
        "feishu",
        "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        secret,
        robots.Message("超时", ("a",)),
        now=ts,
    )
    import json

    body = json.loads(request.body)
    assert body["timestamp"] == str(ts) and body["sign"] == expected
    assert body["msg_type"] == "text" and body["content"]["text"].startswith("超时")


def test_wecom_markdown_escapes_buyers_words_and_fits_4096_bytes():
    message = robots.Message("标题", ("[链接](http://evil)", "很长" * 3000))
    import json

    body = json.loads(
        robots.build_request(
            "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "", message, now=0
        ).body
    )
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert "\\[链接\\]\\(http://evil\\)" in content
    assert len(content.encode()) <= robots.WECOM_MARKDOWN_MAX_BYTES


def test_setup_refuses_other_hosts_and_never_records_the_secret(shop_a, admin_a, alice):
    by = testing.actor(admin_a)
    with pytest.raises(InvalidInput):
        services.configure_channel(
            shop=shop_a,
            kind="dingtalk",
            name="群",
            webhook_url="https://evil.example/robot/send",
            alert_kinds=["sla_breached"],
            by=by,
        )
    with pytest.raises(PermissionDenied):
        services.configure_channel(
            shop=shop_a,
            kind="wecom",
            name="群",
            webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
            alert_kinds=["sla_breached"],
            by=testing.actor(alice),
        )
    channel = services.configure_channel(
        shop=shop_a,
        kind="dingtalk",
        name="售后群",
        webhook_url="https://oapi.dingtalk.com/robot/send?access_token=tok-1234567890",
        secret="SECabcdef123456",
        alert_kinds=["sla_breached"],
        by=by,
    )
    from aftersales.audit.models import AuditEvent

    event = AuditEvent.objects.get(type="alert_robot_configured")
    assert "tok-1234567890" not in str(event.payload) and "SECabcdef" not in str(event.payload)
    assert robots.masked_url(channel.webhook_url).endswith("access_token=••••••7890")
    assert verify_chain(shop_a.pk) is None


def _channel(shop, admin, receiver, kind="dingtalk", kinds=("sla_breached", "incident_proposed")):
    path = {
        "dingtalk": "/robot/send?access_token=t1",
        "wecom": "/cgi-bin/webhook/send?key=k1",
        "feishu": "/open-apis/bot/v2/hook/h1",
    }[kind]
    return services.configure_channel(
        shop=shop,
        kind=kind,
        name=kind,
        webhook_url=receiver.url(path),
        secret="" if kind == "wecom" else "SECsecret",
        alert_kinds=list(kinds),
        by=testing.actor(admin),
    )


@pytest.mark.django_db(transaction=True)
def test_issue13_alert_reaches_each_robot_signed_and_once(shop_a, admin_a, receiver):
    for kind in ("dingtalk", "wecom", "feishu"):
        _channel(shop_a, admin_a, receiver, kind)
    with transaction.atomic():
        services.raise_alert(
            shop_id=shop_a.pk,
            kind=AlertKind.SLA_BREACHED,
            key="k:1",
            title="超时",
            lines=["案例 #9"],
        )
    # Raised again (a second sweep, a retried event): nothing more is sent.
    with transaction.atomic():
        assert (
            services.raise_alert(
                shop_id=shop_a.pk, kind=AlertKind.SLA_BREACHED, key="k:1", title="超时"
            )
            is None
        )
    assert len(receiver.requests) == 3
    by_path = {r.path.split("?")[0]: r for r in receiver.requests}
    ding = by_path["/robot/send"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding.path).query)
    assert query["sign"] == [robots.dingtalk_sign("SECsecret", int(query["timestamp"][0]))]
    assert ding.json["msgtype"] == "markdown" and "超时" in ding.json["markdown"]["text"]
    assert by_path["/cgi-bin/webhook/send"].json["markdown"]["content"].startswith("**超时**")
    feishu = by_path["/open-apis/bot/v2/hook/h1"].json
    assert feishu["sign"] == robots.feishu_sign("SECsecret", int(feishu["timestamp"]))
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_issue13_a_refusal_is_retried_with_waits_then_given_up(shop_a, admin_a, receiver):
    _channel(shop_a, admin_a, receiver, "wecom")
    receiver.answers.extend(
        [(200, {"errcode": 45009, "errmsg": "api freq out of limit"}), (502, {})]
    )
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False) as clock:
        with transaction.atomic():
            services.raise_alert(
                shop_id=shop_a.pk, kind=AlertKind.SLA_BREACHED, key="k:2", title="超时"
            )
        delivery = AlertDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert "45009" in delivery.last_error
        assert services.send_due_alerts() == (0, 0)  # still waiting: nothing tried
        clock.shift(timedelta(seconds=services.RETRY_WAITS[0] + 1))
        services.send_due_alerts()
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.last_error == "HTTP 502"
        clock.shift(timedelta(seconds=services.RETRY_WAITS[1] + 1))
        services.send_due_alerts()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert len(receiver.requests) == 3

    receiver.answers.extend([(500, {})] * services.MAX_ATTEMPTS)
    with time_machine.travel(t0, tick=False) as clock:
        with transaction.atomic():
            services.raise_alert(
                shop_id=shop_a.pk, kind=AlertKind.SLA_BREACHED, key="k:3", title="超时"
            )
        for _ in range(services.MAX_ATTEMPTS + 2):
            clock.shift(timedelta(hours=1))
            services.send_due_alerts()
    last = AlertDelivery.objects.get(alert__key="k:3")
    assert last.status == DeliveryStatus.FAILED and last.attempts == services.MAX_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_issue13_an_sla_breach_reaches_the_robot_once(shop_a, admin_a, receiver):
    from aftersales.sla.models import SlaClock
    from aftersales.sla.services import sweep

    _channel(shop_a, admin_a, receiver, "feishu", kinds=("sla_breached",))
    case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    clock = SlaClock.objects.filter(case=case, is_buyer_clock=False).first()
    assert clock is not None
    with time_machine.travel(clock.due_at + timedelta(minutes=1), tick=False):
        sweep()
        assert services.send_due_alerts()[0] == 1
        assert services.send_due_alerts()[0] == 0
    assert len(receiver.requests) == 1
    text = receiver.requests[0].json["content"]["text"]
    assert f"#{case.pk}" in text


def test_another_shops_robot_is_not_found(shop_a, shop_b, admin_a):
    admin_b = testing.make_user("bea", shop_b, Role.ADMIN)
    channel = services.configure_channel(
        shop=shop_a,
        kind="wecom",
        name="群",
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
        alert_kinds=["sla_breached"],
        by=testing.actor(admin_a),
    )
    with pytest.raises(NotFound):
        services.get_channel_for_actor(testing.actor(admin_b), channel.pk)
    with pytest.raises(NotFound):
        services.channels_for_actor(testing.actor(admin_b), shop_a.pk)
    assert Alert.objects.count() == 0
