"""A tiny stand-in for the open platform's gateway, on real HTTP over loopback (stdlib only).

It checks every request the way the contract says the platform does — the signature is
recomputed here independently of the product's code — records it, and answers from a
scripted responder. The unit tests use it where the full simulator would hide the detail
being tested (one 503, one hang, one expired token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HANG = "hang"


@dataclass
class Call:
    path: str
    method: str
    query: dict[str, str]
    params: dict[str, Any]
    headers: dict[str, str]
    signature_ok: bool


def expected_sign(app_key: str, secret: str, query: dict[str, str], body: str) -> str:
    text = (
        secret
        + "app_key"
        + app_key
        + "method"
        + query["method"]
        + "param_json"
        + body
        + "timestamp"
        + query["timestamp"]
        + "v"
        + "2"
        + secret
    ).encode()
    if query.get("sign_method") == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    return hashlib.md5(text).hexdigest()


def ok(data: dict[str, Any] | None = None, log_id: str = "log-ok") -> tuple[int, dict[str, Any]]:
    return 200, {
        "code": 10000,
        "msg": "success",
        "sub_code": "",
        "sub_msg": "",
        "log_id": log_id,
        "data": data or {},
    }


def error(code: int, sub_code: str, sub_msg: str = "", log_id: str = "log-err"):
    return 200, {
        "code": code,
        "msg": "error",
        "sub_code": sub_code,
        "sub_msg": sub_msg,
        "log_id": log_id,
        "data": {},
    }


@dataclass
class FakeGateway:
    app_key: str
    secret: str
    # (method, params, call number of this method) -> (status, body) or HANG
    responder: Callable[[str, dict[str, Any], int], Any] = lambda method, params, n: ok()
    calls: list[Call] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                split = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                signature_ok = query.get("app_key") == gateway.app_key and hmac.compare_digest(
                    query.get("sign", ""),
                    expected_sign(gateway.app_key, gateway.secret, query, body),
                )
                call = Call(
                    path=split.path,
                    method=query.get("method", ""),
                    query=query,
                    params=json.loads(body or "{}"),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    signature_ok=signature_ok,
                )
                with gateway._lock:
                    gateway.calls.append(call)
                    number = sum(1 for c in gateway.calls if c.method == call.method)
                if not signature_ok:
                    answer: Any = error(40003, "isv.signature-invalid", "签名无效")
                else:
                    answer = gateway.responder(call.method, call.params, number)
                if answer == HANG:
                    gateway.release.wait(10)
                    self.close_connection = True
                    return
                status, payload = answer
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]
