"""Signing and time formats of the Douyin open platform, as docs/douyin-contract.md states them.

Used by the simulator's gateway to verify requests and sign pushes, and by its own client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
API_VERSION = "2"
SIGN_MD5 = "md5"
SIGN_HMAC_SHA256 = "hmac-sha256"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def canonical_json(value: Any) -> str:
    """param_json: keys sorted at every depth (objects inside arrays too), compact, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_string(app_key: str, secret: str, method: str, param_json: str, timestamp: str) -> str:
    return (
        f"{secret}app_key{app_key}method{method}param_json{param_json}"
        f"timestamp{timestamp}v{API_VERSION}{secret}"
    )


def sign(
    app_key: str,
    secret: str,
    method: str,
    param_json: str,
    timestamp: str,
    sign_method: str = SIGN_MD5,
) -> str:
    """Lowercase hex MD5 of the sign string, or HMAC-SHA256 of it keyed with the secret."""
    text = sign_string(app_key, secret, method, param_json, timestamp).encode()
    if sign_method == SIGN_HMAC_SHA256:
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    if sign_method == SIGN_MD5:
        return hashlib.md5(text).hexdigest()
    raise ValueError(f"unknown sign_method {sign_method!r}")


def event_sign(app_key: str, body: bytes, secret: str) -> str:
    """The `event-sign` header of a push: md5(app_key + raw body + app_secret)."""
    return hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()


def format_timestamp(when: float, form: str = "unix") -> str:
    """A request `timestamp`: unix seconds, or `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai."""
    if form == "unix":
        return str(int(when))
    if form == "datetime":
        return datetime.fromtimestamp(when, tz=SHANGHAI).strftime(DATETIME_FORMAT)
    raise ValueError(f"unknown timestamp form {form!r}")


def parse_timestamp(value: str) -> float | None:
    """Unix seconds (13 digits are read as milliseconds) or `yyyy-MM-dd HH:mm:ss` (+08:00)."""
    value = value.strip()
    if value.isdigit():
        number = int(value)
        return number / 1000 if len(value) >= 13 else float(number)
    if _DATETIME_RE.match(value):
        try:
            parsed = datetime.strptime(value, DATETIME_FORMAT).replace(tzinfo=SHANGHAI)
        except ValueError:
            return None
        return parsed.timestamp()
    return None


def rfc3339(when: float) -> str:
    """`update_time` in pushes: e.g. 2022-09-02T10:27:50+08:00."""
    return datetime.fromtimestamp(int(when), tz=SHANGHAI).isoformat()
