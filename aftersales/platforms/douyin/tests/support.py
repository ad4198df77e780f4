"""Pushes as the platform sends them, signed by hand (md5(app_key + body + secret))."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from django.test import Client

_msg_ids = itertools.count(1)

PUSH_URL = "/webhooks/douyin/"


def message(tag: str, aftersale_id: str, shop_id: str, msg_id: str | None = None, **data: Any):
    payload = {"aftersale_id": int(aftersale_id), "shop_id": shop_id} | data
    return {
        "tag": tag,
        "msg_id": msg_id or f"msg-{next(_msg_ids)}",
        "data": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    }


def body_of(*messages: dict[str, Any]) -> bytes:
    return json.dumps(list(messages), ensure_ascii=False, separators=(",", ":")).encode()


def sign(app_key: str, body: bytes, secret: str) -> str:
    return hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()


def post_push(
    client: Client,
    body: bytes,
    *,
    app_key: str,
    secret: str | None = None,
    signature: str | None = None,
):
    return client.post(
        PUSH_URL,
        body,
        content_type="application/json",
        HTTP_APP_ID=app_key,
        HTTP_EVENT_SIGN=signature if signature is not None else sign(app_key, body, secret or ""),
    )
