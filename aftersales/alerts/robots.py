"""The group robots Chinese teams read: their message formats and their signing. Pure.

Each robot is a webhook URL the group's owner copies from the robot's settings:

- **企业微信 (WeCom) group robot**: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`.
  POST JSON `{"msgtype": "markdown", "markdown": {"content": …}}` (at most 4096 bytes of
  UTF-8); no signature, the key in the URL is the secret. Answers `{"errcode": 0, …}`.
- **钉钉 (DingTalk) custom robot**: `https://oapi.dingtalk.com/robot/send?access_token=…`.
  With 加签 (signing), the query gets `timestamp` (milliseconds) and `sign`:
  Base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded; the platform
  refuses a timestamp more than an hour off. POST JSON
  `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`. Answers `{"errcode": 0, …}`.
- **飞书 (Feishu / Lark) custom bot**: `https://open.feishu.cn/open-apis/bot/v2/hook/…`.
  With 签名校验, the body carries `timestamp` (seconds, as a string) and `sign`:
  Base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) — the string to sign is the
  key and the message is empty. POST JSON `{"msg_type": "text", "content": {"text": …}}`.
  Answers `{"code": 0, …}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class RobotKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk custom robot (钉钉)")
    FEISHU = "feishu", _("Feishu custom bot (飞书)")


# The hosts each robot's webhook lives on; a URL elsewhere is refused unless the setting
# `AFTERSALES_ALERT_EXTRA_HOSTS` allows it (the tests' local receiver).
OFFICIAL_HOSTS: dict[str, str] = {
    RobotKind.WECOM: "qyapi.weixin.qq.com",
    RobotKind.DINGTALK: "oapi.dingtalk.com",
    RobotKind.FEISHU: "open.feishu.cn",
}
WECOM_MARKDOWN_MAX_BYTES = 4096
FEISHU_MAX_BYTES = 20_000  # the whole body; the platform answers 9499 beyond 20 KB


@dataclass(frozen=True)
class Message:
    """What the team reads: a title and lines (plain text, no markup from outside)."""

    title: str
    lines: tuple[str, ...]
    link: str = ""  # a path or URL to open the case or incident


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: Base64(HMAC-SHA256(secret, "timestamp\\nsecret")), not yet URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's 签名校验: the key is "timestamp\\nsecret", the message empty."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _clip_utf8(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def _markdown_escape(text: str) -> str:
    # Robots render markdown: a buyer's words must not become links or headings.
    return "".join("\\" + c if c in "*_[]()#`>" else c for c in text)


def markdown(message: Message) -> str:
    lines = [f"**{_markdown_escape(message.title)}**"]
    lines += [f"> {_markdown_escape(line)}" for line in message.lines]
    if message.link:
        lines.append(f"[{_markdown_escape(str(_('Open')))}]({message.link})")
    return "\n".join(lines)


def plain(message: Message) -> str:
    text = "\n".join([message.title, *message.lines])
    return f"{text}\n{message.link}" if message.link else text


def build_request(kind: str, url: str, secret: str, message: Message, *, now: float) -> Request:
    """The HTTP request a robot expects for the message, signed at `now` (Unix seconds)."""
    body: dict[str, Any]
    if kind == RobotKind.WECOM:
        body = {
            "msgtype": "markdown",
            "markdown": {"content": _clip_utf8(markdown(message), WECOM_MARKDOWN_MAX_BYTES)},
        }
    elif kind == RobotKind.DINGTALK:
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": markdown(message)},
        }
        if secret:
            timestamp_ms = int(now * 1000)
            sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}timestamp={timestamp_ms}&sign={sign}"
    elif kind == RobotKind.FEISHU:
        body = {
            "msg_type": "text",
            "content": {"text": _clip_utf8(plain(message), FEISHU_MAX_BYTES - 500)},
        }
        if secret:
            timestamp_s = int(now)
            body = {"timestamp": str(timestamp_s), "sign": feishu_sign(secret, timestamp_s), **body}
    else:
        raise ValueError(f"unknown robot {kind!r}")
    return Request(url=url, body=json.dumps(body, ensure_ascii=False).encode())


def accepted(kind: str, status: int, body: bytes) -> tuple[bool, str]:
    """Whether the robot took the message, and its own words if not. All three answer HTTP
    200 with an error code in the JSON when they refuse (a bad key, a bad signature, a rate
    limit)."""
    if status != 200:
        return False, f"HTTP {status}"
    try:
        answer = json.loads(body.decode() or "{}")
    except (UnicodeDecodeError, ValueError):
        return False, "unreadable answer"
    code = answer.get("code" if kind == RobotKind.FEISHU else "errcode", 0)
    if code in (0, "0", None):
        return True, ""
    words = answer.get("msg") or answer.get("errmsg") or ""
    return False, f"{code} {words}".strip()[:500]


def masked_url(url: str) -> str:
    """The URL with its secret part (WeCom's key, DingTalk's token, Feishu's hook id) hidden
    but for its last four characters."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if query:
        hidden = "&".join(f"{k}={mask(v)}" for k, v in query)
        return urllib.parse.urlunsplit(parts._replace(query=hidden))
    head, _sep, tail = parts.path.rpartition("/")
    return urllib.parse.urlunsplit(parts._replace(path=f"{head}/{mask(tail)}"))


def mask(secret: str) -> str:
    if not secret:
        return ""
    return "•" * 6 + secret[-4:] if len(secret) > 8 else "•" * 6
