"""Signing of gateway calls and verification of pushes, exactly as docs/douyin-contract.md says."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

API_VERSION = "2"


def canonical_json(params: Any) -> str:
    """`param_json`: keys sorted at every depth (objects inside arrays too), compact, UTF-8.

    `json.dumps(sort_keys=True)` sorts every object it writes, nested ones included.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def method_name(path: str) -> str:
    """`afterSale/List` → `afterSale.List`."""
    return path.strip("/").replace("/", ".")


def sign_request(
    *, app_key: str, secret: str, method: str, param_json: str, timestamp: str, sign_method: str
) -> str:
    """The `sign` query parameter: MD5 of the sign string, or HMAC-SHA256 keyed with the secret."""
    text = (
        f"{secret}app_key{app_key}method{method}param_json{param_json}"
        f"timestamp{timestamp}v{API_VERSION}{secret}"
    ).encode()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()
    raise ValueError(f"unknown sign method {sign_method!r}")


def push_signature(*, app_key: str, body: bytes, secret: str) -> str:
    """The `event-sign` header of a push: md5(app_key + raw body + app_secret), lowercase hex."""
    return hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()


def push_signature_valid(*, app_key: str, body: bytes, secret: str, signature: str) -> bool:
    expected = push_signature(app_key=app_key, body=body, secret=secret)
    # Constant time: the comparison must not tell an attacker how much of a guess was right.
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
