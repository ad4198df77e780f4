"""Signing exactly as docs/douyin-contract.md says; expected values are computed here by hand."""

import hashlib
import hmac

from aftersales.platforms.douyin.signing import (
    canonical_json,
    method_name,
    push_signature,
    push_signature_valid,
    sign_request,
)

PARAMS = {"size": 10, "page": 0, "items": [{"z": 1, "aftersale_id": "7"}], "note": "中文<&>"}


def test_param_json_is_sorted_at_every_depth_compact_and_not_escaped():
    assert canonical_json(PARAMS) == (
        '{"items":[{"aftersale_id":"7","z":1}],"note":"中文<&>","page":0,"size":10}'
    )


def test_method_is_the_path_with_dots():
    assert method_name("afterSale/List") == "afterSale.List"
    assert method_name("/token/create") == "token.create"


def test_md5_sign_matches_the_contract_string():
    param_json = canonical_json(PARAMS)
    text = (
        "SECRETapp_keyAK1methodafterSale.Listparam_json"
        + param_json
        + "timestamp1700000000v2SECRET"
    )
    expected = hashlib.md5(text.encode()).hexdigest()

    signed = sign_request(
        app_key="AK1",
        secret="SECRET",
        method="afterSale.List",
        param_json=param_json,
        timestamp="1700000000",
        sign_method="md5",
    )

    assert signed == expected
    # A pinned vector, so a change of both sides at once would still be noticed.
    assert (
        sign_request(
            app_key="a", secret="s", method="m", param_json="{}", timestamp="1", sign_method="md5"
        )
        == hashlib.md5(b"sapp_keyamethodmparam_json{}timestamp1v2s").hexdigest()
    )


def test_hmac_sha256_sign_is_keyed_with_the_secret():
    text = "Kapp_keyAmethodMparam_json{}timestamp2024-01-01 00:00:00v2K"
    expected = hmac.new(b"K", text.encode(), hashlib.sha256).hexdigest()

    assert (
        sign_request(
            app_key="A",
            secret="K",
            method="M",
            param_json="{}",
            timestamp="2024-01-01 00:00:00",
            sign_method="hmac-sha256",
        )
        == expected
    )


def test_push_signature_is_md5_of_app_key_body_secret():
    body = b'[{"tag":"200","msg_id":"1","data":"{}"}]'
    expected = hashlib.md5(b"APP" + body + "密钥".encode()).hexdigest()

    assert push_signature(app_key="APP", body=body, secret="密钥") == expected
    assert push_signature_valid(app_key="APP", body=body, secret="密钥", signature=expected)
    assert push_signature_valid(app_key="APP", body=body, secret="密钥", signature=expected.upper())
    assert not push_signature_valid(
        app_key="APP", body=body + b" ", secret="密钥", signature=expected
    )
    assert not push_signature_valid(app_key="APP", body=body, secret="other", signature=expected)
    assert not push_signature_valid(app_key="APP", body=body, secret="密钥", signature="")
