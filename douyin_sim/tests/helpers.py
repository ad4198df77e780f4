"""Helpers for the simulator tests: a push receiver, waiting, building orders and cases."""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from douyin_sim.client import ControlClient, OpenApiClient
from douyin_sim.signing import event_sign

APP_KEY = "app-test-1"
APP_SECRET = "secret-test-1"
SHOP_ID = "1001"

# Fast redelivery, immediate refunds; everything else as in production defaults.
TEST_CONFIG = {"refund_delay": 0}
TEST_SWITCHES = {"push_retry_base": 0.05, "push_retry_max": 0.2, "push_timeout": 2.0}


class PushReceiver:
    """A tiny merchant endpoint: records every POST, checks its signature, answers as scripted."""

    def __init__(self, app_key: str = APP_KEY, app_secret: str = APP_SECRET):
        self.app_key = app_key
        self.app_secret = app_secret
        self.requests: list[dict] = []
        self.script: collections.deque = collections.deque()  # (status, body) or "hang"
        self.cond = threading.Condition()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    answer = receiver.script.popleft() if receiver.script else None
                if answer == "hang":
                    receiver.release.wait(10)
                    return
                status, text = answer or (200, '{"code":0,"msg":"success"}')
                expected = event_sign(receiver.app_key, body, receiver.app_secret)
                entry = {
                    "body": body,
                    "app_id": self.headers.get("app-id"),
                    "sign_ok": self.headers.get("event-sign") == expected,
                    "content_type": self.headers.get("Content-Type"),
                    "messages": json.loads(body),
                    "status": status,
                    "accepted": status == 200 and '"code":0' in text,
                }
                # Recorded before answering: the simulator sends the next push only after this
                # answer, so the record keeps the order of delivery.
                with receiver.cond:
                    receiver.requests.append(entry)
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text.encode())))
                self.end_headers()
                self.wfile.write(text.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/douyin/push"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def messages(self, accepted_only: bool = True) -> list[dict]:
        """Every message received (in arrival order), `data` decoded."""
        with self.cond:
            out = []
            for request in self.requests:
                if accepted_only and not request["accepted"]:
                    continue
                for message in request["messages"]:
                    out.append(message | {"data": json.loads(message["data"])})
            return out

    def wait_for(self, predicate: Callable[[PushReceiver], bool], timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def wait_tags(self, tags: list[str], aftersale_id: str | None = None, timeout=5.0) -> list:
        """Wait until these tags (in any order, duplicates ignored) were accepted."""

        def seen(r: PushReceiver) -> bool:
            got = {
                m["tag"]
                for m in r.messages()
                if aftersale_id is None or str(m["data"]["aftersale_id"]) == str(aftersale_id)
            }
            return set(tags) <= got

        assert self.wait_for(seen, timeout), f"tags {tags} not all received: {self.tags()}"
        return self.messages()

    def tags(self) -> list[str]:
        return [m["tag"] for m in self.messages()]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.02) -> Any:
    """Poll a condition that has no event to wait on (state behind HTTP); fail on timeout."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        pause.wait(step)


def new_order(ctl: ControlClient, *, stage: str = "delivered", **extra: Any) -> dict:
    body = {
        "shop_id": SHOP_ID,
        "buyer": {"nickname": "小鹿乱撞", "vip_level": 3},
        "items": [
            {
                "product_name": "纯棉圆领短袖T恤",
                "category": "apparel",
                "quantity": 2,
                "origin_amount": 11800,
                "pay_amount": 9800,
            }
        ],
        "shipping_fee": 600,
        "insurance": True,
        "shipped": stage in ("shipped", "delivered"),
        "delivered": stage == "delivered",
    } | extra
    return ctl.post("orders", body)


def new_case(ctl: ControlClient, kind: int = 0, reason: int = 3, **extra: Any) -> dict:
    stage = {2: "unshipped", 1: "shipped"}.get(kind, "delivered")
    order = new_order(ctl, stage=extra.pop("stage", stage))
    return ctl.post(
        "aftersales", {"order_id": order["order_id"], "type": kind, "reason_code": reason} | extra
    )


def operate(api: OpenApiClient, type_: int, *items: dict) -> dict:
    return api.request("afterSale/operate", {"type": type_, "items": list(items)})


def detail(api: OpenApiClient, aftersale_id: str) -> dict:
    return api.call("afterSale/Detail", {"after_sale_id": str(aftersale_id)})["process_info"][
        "after_sale_info"
    ]
