"""Push delivery: one background thread drains the durable queue kept in the platform state.

At least once: a delivery counts only when the receiver answers HTTP 200 with
`{"code": 0, ...}` within `push_timeout`; anything else is retried with exponential backoff
until `push_max_attempts`, then marked dead (kept, and re-queued by POST /_sim/pushes/retry).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

from .platform import Platform
from .signing import event_sign

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def push_body(entries: list[dict]) -> bytes:
    messages = [{"tag": e["tag"], "msg_id": e["msg_id"], "data": e["data"]} for e in entries]
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode()


def deliver(url: str, app_key: str, app_secret: str, entries: list[dict], timeout: float):
    """POST one batch; (ok, error)."""
    body = push_body(entries)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "app-id": app_key,
            "event-sign": event_sign(app_key, body, app_secret),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            text = response.read(65536)
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except Exception as error:  # timeouts, refused connections, resets
        return False, f"{type(error).__name__}: {error}"
    if status != 200:
        return False, f"HTTP {status}"
    try:
        answer = json.loads(text)
    except ValueError:
        return False, "answer is not JSON"
    if not isinstance(answer, dict) or str(answer.get("code")) != "0":
        return False, f"answer without code 0: {text[:200]!r}"
    return True, ""


class Pusher(threading.Thread):
    def __init__(self, platform: Platform, stop: threading.Event):
        super().__init__(name="douyin-sim-pusher", daemon=True)
        self.platform = platform
        self.stop = stop

    def run(self) -> None:
        platform = self.platform
        while not self.stop.is_set():
            with platform.lock:
                posts, wait = platform.take_pushes(time.time())
                if not posts:
                    timeout = 1.0 if wait is None else min(max(wait, 0.005), 1.0)
                    platform.cond.wait(timeout)
                    continue
                timeout = float(platform.switches["push_timeout"])
            for post in posts:
                if self.stop.is_set():
                    break  # what stays "in flight" is sent again after a restart
                ok, error = deliver(
                    post["url"], post["app_key"], post["app_secret"], post["entries"], timeout
                )
                platform.finish_pushes(post["entries"], ok, error)
