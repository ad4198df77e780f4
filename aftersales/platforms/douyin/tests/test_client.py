"""The gateway client against a fake gateway on loopback: signing on the wire, tokens, retries
with backoff, no retry on business errors, batches of 20, every call logged."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.platforms.douyin.client import (
    ApiError,
    Backoff,
    DouyinClient,
    TransportError,
)
from aftersales.platforms.douyin.models import ApiCallLog, DouyinShopLink

from . import factories
from .fake_gateway import HANG, FakeGateway, error, ok

pytestmark = pytest.mark.django_db


def client_for(link, **kwargs):
    waits = []
    backoff = Backoff(base=0.001, cap=0.002, sleep=waits.append)
    return DouyinClient(link, backoff=backoff, **kwargs), backoff


def test_a_call_is_signed_and_shaped_as_the_contract_says(linked, gateway):
    gateway.responder = lambda method, params, n: ok({"x": 1}, log_id="L-1")
    client, _ = client_for(linked)

    response = client.call(
        "afterSale/Detail", {"after_sale_id": "123", "need_operation_record": True}
    )

    assert response.data == {"x": 1} and response.log_id == "L-1"
    (call,) = gateway.calls
    assert call.signature_ok
    assert call.path == "/afterSale/Detail"
    assert call.method == "afterSale.Detail"
    assert call.query["v"] == "2" and call.query["access_token"] == "token-0"
    assert call.query["timestamp"].isdigit()
    assert "sign_method" not in call.query  # MD5 is the default
    assert call.params == {"after_sale_id": "123", "need_operation_record": True}
    assert call.headers["x-open-no-old-err-code"] == "1"


def test_hmac_sha256_links_say_so_and_sign_accordingly(shop_a, gateway, fast):
    link = factories.link(
        shop_a,
        gateway_url=gateway.url,
        app_key=gateway.app_key,
        secret=gateway.secret,
        sign_method="hmac-sha256",
    )
    client, _ = client_for(link)

    client.call("afterSale/List", {"page": 0, "size": 10})

    (call,) = gateway.calls
    assert call.query["sign_method"] == "hmac-sha256" and call.signature_ok


def test_5xx_is_retried_with_backoff_and_every_try_is_logged(linked, gateway, caplog):
    gateway.responder = lambda m, p, n: (503, {"oops": True}) if n < 3 else ok(log_id="L-3")
    client, backoff = client_for(linked)

    with caplog.at_level(logging.DEBUG, logger="aftersales.platforms.douyin.client"):
        response = client.call("afterSale/Detail", {"after_sale_id": "1"})

    assert response.log_id == "L-3"
    assert len(gateway.calls) == 3
    assert len(backoff.waits) == 2
    assert all(0 <= w <= 0.002 for w in backoff.waits)
    logs = list(ApiCallLog.objects.order_by("pk").values_list("http_status", "code", "log_id"))
    assert logs == [(503, None, ""), (503, None, ""), (200, 10000, "L-3")]
    assert "log_id=L-3" in caplog.text
    # The console hears the failed tries; a call that worked only at DEBUG (issue 14).
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "DEBUG"]


def test_exponential_backoff_with_full_jitter():
    waits = []
    backoff = Backoff(base=1.0, cap=5.0, sleep=waits.append, rng=lambda: 1.0)
    for attempt in range(1, 6):
        backoff.wait(attempt)
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = Backoff(base=1.0, cap=5.0, sleep=waits.append, rng=lambda: 0.25)
    jittered.wait(3)
    assert waits[-1] == 1.0


def test_a_timeout_is_retried(linked, gateway):
    gateway.responder = lambda m, p, n: HANG if n == 1 else ok(log_id="L-2")
    client, _ = client_for(linked, timeout=0.3)

    response = client.call("afterSale/Detail", {"after_sale_id": "1"})

    assert response.log_id == "L-2" and len(gateway.calls) == 2
    first = ApiCallLog.objects.order_by("pk").first()
    assert first.http_status is None and "timeout" in first.error


def test_rate_limiting_is_retried(linked, gateway):
    gateway.responder = lambda m, p, n: (
        error(60000, "isv.rate-limited", "调用频率超限") if n == 1 else ok()
    )
    client, backoff = client_for(linked)

    client.call("afterSale/List", {"page": 0})

    assert len(gateway.calls) == 2 and len(backoff.waits) == 1


@pytest.mark.parametrize(
    ("code", "sub_code"),
    [
        (50002, "isv.business-failed:20309541"),
        (50002, "isv.business-failed:11001"),
        (40004, "isv.parameter-invalid"),
        (20000, "isp.service-error:10000"),
    ],
)
def test_business_errors_are_never_retried(linked, gateway, code, sub_code):
    gateway.responder = lambda m, p, n: error(code, sub_code, "refused", log_id="L-B")
    client, backoff = client_for(linked)

    with pytest.raises(ApiError) as raised:
        client.call("afterSale/operate", {"type": 201, "items": [{"aftersale_id": "1"}]})

    assert len(gateway.calls) == 1 and backoff.waits == []
    assert raised.value.code == code and raised.value.log_id == "L-B"
    assert ApiCallLog.objects.get().sub_code == sub_code


def test_writes_are_not_blindly_repeated_after_an_ambiguous_failure(linked, gateway):
    gateway.responder = lambda m, p, n: (502, {})
    client, _ = client_for(linked)

    with pytest.raises(TransportError) as raised:
        client.call("afterSale/operate", {"type": 201, "items": []}, retry_ambiguous=False)

    assert raised.value.ambiguous and len(gateway.calls) == 1


def test_a_refused_connection_is_retried_even_for_writes(shop_a, fast):
    link = factories.link(shop_a)  # nothing listens there
    client, backoff = client_for(link, max_tries=3)

    with pytest.raises(TransportError) as raised:
        client.call("afterSale/operate", {"type": 201}, retry_ambiguous=False)

    assert not raised.value.ambiguous
    assert ApiCallLog.objects.count() == 3 and len(backoff.waits) == 2


def test_gives_up_after_max_tries(linked, gateway):
    gateway.responder = lambda m, p, n: (500, {})
    client, _ = client_for(linked, max_tries=4)

    with pytest.raises(TransportError):
        client.call("afterSale/Detail", {"after_sale_id": "1"})

    assert len(gateway.calls) == 4


# --- Tokens ----------------------------------------------------------------------------------


def token_answer(access, refresh="R-2"):
    return ok({"access_token": access, "refresh_token": refresh, "expires_in": 7200})


def test_a_link_without_a_token_creates_one_first(shop_a, gateway, fast):
    link = factories.link(
        shop_a,
        gateway_url=gateway.url,
        app_key=gateway.app_key,
        secret=gateway.secret,
        with_token=False,
    )
    gateway.responder = lambda m, p, n: token_answer("T-new") if m == "token.create" else ok()
    client, _ = client_for(link)

    client.call("afterSale/List", {"page": 0})

    create, listing = gateway.calls
    assert create.method == "token.create" and "access_token" not in create.query
    assert create.params == {"grant_type": "authorization_self", "shop_id": link.platform_shop_id}
    assert listing.query["access_token"] == "T-new"
    stored = DouyinShopLink.objects.get(pk=link.pk)
    assert stored.access_token == "T-new" and stored.refresh_token == "R-2"
    assert stored.token_expires_at > timezone.now() + timedelta(minutes=100)


def test_an_expired_token_is_refreshed_and_the_call_retried_once(linked, gateway):
    def respond(method, params, n):
        if method == "token.refresh":
            return token_answer("T-fresh")
        if method == "afterSale.Detail" and n == 1:
            return error(40003, "isv.access-token-expired", "access_token已过期")
        return ok(log_id="L-after-refresh")

    gateway.responder = respond
    client, _ = client_for(linked)

    response = client.call("afterSale/Detail", {"after_sale_id": "1"})

    assert response.log_id == "L-after-refresh"
    assert gateway.methods() == ["afterSale.Detail", "token.refresh", "afterSale.Detail"]
    refresh = gateway.calls[1]
    assert refresh.params == {"grant_type": "refresh_token", "refresh_token": "refresh-0"}
    assert gateway.calls[2].query["access_token"] == "T-fresh"
    assert DouyinShopLink.objects.get(pk=linked.pk).access_token == "T-fresh"


def test_a_token_expiring_again_after_the_refresh_is_not_retried_forever(linked, gateway):
    gateway.responder = lambda m, p, n: (
        token_answer(f"T-{n}")
        if m == "token.refresh"
        else error(40003, "isv.access-token-expired", "expired")
    )
    client, _ = client_for(linked)

    with pytest.raises(ApiError):
        client.call("afterSale/Detail", {"after_sale_id": "1"})

    assert gateway.methods() == ["afterSale.Detail", "token.refresh", "afterSale.Detail"]


def test_a_token_about_to_expire_is_refreshed_before_the_call(linked, gateway):
    DouyinShopLink.objects.filter(pk=linked.pk).update(
        token_expires_at=timezone.now() + timedelta(seconds=30)
    )
    linked.refresh_from_db()
    gateway.responder = lambda m, p, n: token_answer("T-early") if m == "token.refresh" else ok()
    client, _ = client_for(linked)

    client.call("afterSale/List", {})

    assert gateway.methods() == ["token.refresh", "afterSale.List"]


def test_a_refused_refresh_starts_over_with_a_new_token(linked, gateway):
    def respond(method, params, n):
        if method == "token.refresh":
            return error(40004, "isv.parameter-invalid", "refresh_token无效")
        if method == "token.create":
            return token_answer("T-created")
        return error(40003, "isv.access-token-expired") if n == 1 else ok()

    gateway.responder = respond
    client, _ = client_for(linked)

    client.call("afterSale/List", {})

    assert gateway.methods() == [
        "afterSale.List",
        "token.refresh",
        "token.create",
        "afterSale.List",
    ]


def test_a_token_refreshed_by_another_worker_is_used_not_refreshed_again(linked, gateway):
    # Another worker refreshed while this client still held the old token.
    DouyinShopLink.objects.filter(pk=linked.pk).update(access_token="T-other")
    gateway.responder = lambda m, p, n: (
        error(40003, "isv.access-token-expired") if p.get("first") else ok()
    )
    client, _ = client_for(linked)

    with pytest.raises(ApiError):
        client.call("afterSale/List", {"first": True})

    assert gateway.methods() == ["afterSale.List", "afterSale.List"]
    assert gateway.calls[1].query["access_token"] == "T-other"


# --- Batches ---------------------------------------------------------------------------------


def test_operate_sends_at_most_twenty_items_per_call(linked, gateway):
    gateway.responder = lambda m, p, n: ok(
        {"items": [{"aftersale_id": i["aftersale_id"], "status_code": 0} for i in p["items"]]}
    )
    client, _ = client_for(linked)
    items = [{"aftersale_id": str(i)} for i in range(45)]

    results = client.operate(201, items)

    assert [len(c.params["items"]) for c in gateway.calls] == [20, 20, 5]
    assert all(c.params["type"] == 201 for c in gateway.calls)
    assert [r["aftersale_id"] for r in results] == [str(i) for i in range(45)]


def test_the_fake_gateway_really_checks_signatures(shop_a, fast):
    wrong = FakeGateway(app_key="app-x", secret="not-the-secret").start()
    try:
        link = factories.link(shop_a, gateway_url=wrong.url, app_key="app-x", secret="secret")
        client, _ = client_for(link)
        with pytest.raises(ApiError) as raised:
            client.call("afterSale/List", {})
    finally:
        wrong.stop()
    assert raised.value.sub_code == "isv.signature-invalid"
