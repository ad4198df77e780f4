"""The gateway: signatures, timestamps, the envelope, tokens, the rate limit, shop isolation."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from douyin_sim.client import OpenApiClient
from douyin_sim.signing import canonical_json, format_timestamp, sign

from .helpers import APP_KEY, APP_SECRET, SHOP_ID, detail, new_case, operate

LIST = {"page": 0, "size": 10, "order_by": ["update_time asc"]}


def test_canonical_json_sorts_keys_at_every_depth_and_keeps_chinese():
    value = {"b": 1, "a": [{"z": 1, "y": {"d": 2, "c": "退货"}}], "c": None}
    assert canonical_json(value) == '{"a":[{"y":{"c":"退货","d":2},"z":1}],"b":1,"c":null}'


def test_sign_string_matches_the_contract():
    # secret + "app_key" + k + "method" + m + "param_json" + pj + "timestamp" + ts + "v2" + secret
    text = "Sapp_keyKmethodafterSale.Listparam_json{}timestamp1700000000v2S"
    assert (
        sign("K", "S", "afterSale.List", "{}", "1700000000")
        == hashlib.md5(text.encode()).hexdigest()
    )
    assert (
        sign("K", "S", "afterSale.List", "{}", "1700000000", "hmac-sha256")
        == hmac.new(b"S", text.encode(), hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize("sign_method", ["md5", "hmac-sha256"])
@pytest.mark.parametrize("timestamp_form", ["unix", "datetime"])
def test_both_sign_methods_and_both_timestamp_forms_are_accepted(
    sim, shop, sign_method, timestamp_form
):
    client = OpenApiClient(
        sim.url, APP_KEY, APP_SECRET, sign_method=sign_method, timestamp_form=timestamp_form
    )
    client.create_token(SHOP_ID)
    envelope = client.request("afterSale/List", LIST)
    assert envelope["code"] == 10000, envelope
    assert envelope["data"] == {"items": [], "has_more": False, "total": 0, "page": 0, "size": 10}


def test_tampered_param_json_is_refused_and_changes_nothing(ctl, api):
    case = new_case(ctl, 0, 3)
    signed = {"type": 102, "items": [{"aftersale_id": case["aftersale_id"]}]}
    ts = format_timestamp(time.time())
    tampered = {
        "type": 101,
        "items": [{"aftersale_id": case["aftersale_id"], "logistics": {"receiver_address_id": 1}}],
    }
    good_sign = sign(APP_KEY, APP_SECRET, "afterSale.operate", canonical_json(signed), ts)
    envelope = api.request(
        "afterSale/operate",
        signed,
        timestamp=ts,
        body=canonical_json(tampered).encode(),
        query={"sign": good_sign},
    )
    assert envelope["code"] == 40003
    assert envelope["sub_code"] == "isv.signature-invalid"
    assert detail(api, case["aftersale_id"])["after_sale_status"] == 6
    assert ctl.get("operations", ok="1") == []


def test_a_wrong_secret_and_an_uncanonical_body_signature_are_refused(sim, shop, api):
    wrong = OpenApiClient(sim.url, APP_KEY, "not-the-secret")
    envelope = wrong.request("token/create", {"grant_type": "authorization_self"})
    assert (envelope["code"], envelope["sub_code"]) == (40003, "isv.signature-invalid")

    # Signed over json.dumps with default separators and unsorted keys: not the canonical form.
    params = {"size": 10, "page": 0}
    ts = format_timestamp(time.time())
    loose = sign(APP_KEY, APP_SECRET, "afterSale.List", json.dumps(params), ts)
    envelope = api.request("afterSale/List", params, timestamp=ts, query={"sign": loose})
    assert envelope["sub_code"] == "isv.signature-invalid"


@pytest.mark.parametrize(
    "timestamp", [str(int(time.time()) - 3600), "2019-01-01 10:00:00", "yesterday", "17000"]
)
def test_stale_or_malformed_timestamps_are_refused(api, timestamp):
    envelope = api.request("afterSale/List", LIST, timestamp=timestamp)
    assert (envelope["code"], envelope["sub_code"]) == (40003, "isv.timestamp-invalid")


def test_envelope_has_legacy_fields_unless_the_client_opts_out(sim, shop):
    legacy = OpenApiClient(sim.url, APP_KEY, APP_SECRET, legacy=True)
    legacy.create_token(SHOP_ID)
    ok = legacy.request("afterSale/List", LIST)
    assert (ok["code"], ok["msg"], ok["err_no"], ok["message"]) == (10000, "success", 0, "success")
    bad = legacy.request("afterSale/Detail", {"after_sale_id": "123"})
    assert bad["code"] == 20000 and bad["err_no"] == 20000 and bad["message"]

    modern = OpenApiClient(sim.url, APP_KEY, APP_SECRET)
    modern.create_token(SHOP_ID)
    envelope = modern.request("afterSale/List", LIST)
    assert "err_no" not in envelope and "message" not in envelope
    assert set(envelope) == {"code", "msg", "sub_code", "sub_msg", "log_id", "data"}


def test_every_call_gets_its_own_log_id(api):
    ids = {api.request("afterSale/List", LIST)["log_id"] for _ in range(5)}
    assert len(ids) == 5 and all(len(i) > 20 for i in ids)


def test_parameter_errors_name_the_parameter(api):
    for params, word in (
        ({"page": 0, "size": 101}, "size"),
        ({"page": -1, "size": 10}, "page"),
        ({"order_by": ["price asc"]}, "order_by"),
        ({"standard_aftersale_status": "6"}, "standard_aftersale_status"),
    ):
        envelope = api.request("afterSale/List", params)
        assert (envelope["code"], envelope["sub_code"]) == (40004, "isv.parameter-invalid")
        assert word in envelope["sub_msg"]
    assert api.request("afterSale/Nope", {})["code"] == 40004
    mismatched = api.request("afterSale/List", LIST, query={"method": "afterSale.Detail"})
    assert mismatched["code"] == 40004


def test_expired_token_is_refused_until_refreshed_and_the_old_token_stops_working(sim, ctl, api):
    ctl.post("config", {"token_ttl": 60})
    api.create_token(SHOP_ID)
    assert api.request("afterSale/List", LIST)["code"] == 10000
    ctl.post("clock/advance", {"seconds": 61})
    expired = api.request("afterSale/List", LIST)
    assert (expired["code"], expired["sub_code"]) == (40003, "isv.access-token-expired")

    old_access, old_refresh = api.access_token, api.refresh_token
    data = api.refresh()
    assert data["expires_in"] == 60 and data["access_token"] != old_access
    assert data["shop_id"] == int(SHOP_ID)
    assert api.request("afterSale/List", LIST)["code"] == 10000
    stale = api.request("afterSale/List", LIST, access_token=old_access)
    assert stale["sub_code"] == "isv.access-token-expired"

    # A second refresh with the same refresh token inside the grace period gets the same pair
    # (two workers racing); after it, the used refresh token is refused.
    again = api.request(
        "token/refresh", {"grant_type": "refresh_token", "refresh_token": old_refresh}
    )
    assert again["data"]["access_token"] == api.access_token
    ctl.post("config", {"refresh_grace": 0})
    late = api.request(
        "token/refresh", {"grant_type": "refresh_token", "refresh_token": old_refresh}
    )
    assert late["code"] == 40004 and "refresh_token" in late["sub_msg"]


def test_expire_tokens_control_and_refresh_token_expiry(sim, ctl, api):
    assert ctl.post("tokens/expire", {"shop_id": SHOP_ID})["expired"] >= 1
    assert api.request("afterSale/List", LIST)["sub_code"] == "isv.access-token-expired"
    ctl.post("clock/advance", {"days": 15})
    refreshed = api.request(
        "token/refresh", {"grant_type": "refresh_token", "refresh_token": api.refresh_token}
    )
    assert refreshed["code"] == 40004 and "过期" in refreshed["sub_msg"]
    api.create_token(SHOP_ID)  # a new authorisation always works
    assert api.request("afterSale/List", LIST)["code"] == 10000


def test_rate_limit_per_app(ctl, api, sim):
    ctl.post("config", {"qps": 3})
    codes = [api.request("afterSale/List", LIST)["code"] for _ in range(8)]
    # The token/create of the fixture may share the one-second window.
    assert codes[0] == 10000
    assert 60000 in codes and codes.index(60000) <= 3
    limited = next(
        e for e in (api.request("afterSale/List", LIST) for _ in range(3)) if e["code"] == 60000
    )
    assert limited["sub_code"] == "isv.rate-limited"


def test_a_shop_sees_only_its_own_after_sales(sim, ctl, api):
    case = new_case(ctl)
    ctl.post("shops", {"shop_id": "2002", "app_key": "other-app", "app_secret": "other-secret"})
    other = OpenApiClient(sim.url, "other-app", "other-secret")
    other.create_token("2002")
    assert other.call("afterSale/List", LIST)["total"] == 0
    denied = other.request("afterSale/Detail", {"after_sale_id": case["aftersale_id"]})
    assert (denied["code"], denied["sub_code"]) == (20000, "isp.service-error:10000")
    refused = operate(other, 201, {"aftersale_id": case["aftersale_id"]})
    assert refused["code"] == 20000
    assert detail(api, case["aftersale_id"])["after_sale_status"] == 6
    # and an app cannot get a token for a shop it is not authorised for
    envelope = other.request(
        "token/create", {"grant_type": "authorization_self", "shop_id": SHOP_ID}
    )
    assert envelope["code"] == 40004


def test_order_detail_and_buyer_messages(ctl, api):
    case = new_case(ctl)
    order_id = case["order_id"]
    order = api.call("order/orderDetail", {"shop_order_id": order_id})["shop_order_detail"]
    assert order["order_status"] == 5 and order["has_insurance"] is True
    assert order["pay_amount"] == 9800 + 600 and order["post_amount"] == 600
    assert order["buyer"]["vip_level"] == 3 and "****" in order["buyer"]["mobile_masked"]
    line = order["sku_order_list"][0]
    assert (line["category"], line["item_num"], line["origin_amount"], line["pay_amount"]) == (
        "apparel",
        2,
        11800,
        9800,
    )
    assert order["logistics_info"][0]["sign_time"] > 0

    sent = api.call(
        "im/sendMessage",
        {
            "order_id": order_id,
            "aftersale_id": case["aftersale_id"],
            "content": "您好，已收到您的申请",
        },
    )
    messages = ctl.get("messages", aftersale_id=case["aftersale_id"])
    assert [(m["message_id"], m["content"]) for m in messages] == [
        (sent["message_id"], "您好，已收到您的申请")
    ]
    assert api.request("im/sendMessage", {"order_id": order_id, "content": ""})["code"] == 40004
