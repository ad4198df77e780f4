"""The simulator's HTTP server: the signed gateway on `/{path}`, the control API on `/_sim/`.

`Simulator` owns the platform state, the HTTP server, the push worker, the timer sweep and
(optionally) the traffic generator. Use it from tests as a context manager:

    with Simulator(port=0) as sim:
        ...  # sim.url
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import control
from .errors import ControlError
from .gateway import MAX_BODY, Gateway, Reply
from .platform import Platform
from .pusher import Pusher
from .traffic import Traffic

log = logging.getLogger("douyin_sim")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "douyin-sim"
    sim: Simulator  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # the unread body must not be taken as a request
            self._send(Reply(413, b"request body too large", {"Content-Type": "text/plain"}))
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if reply.hang > 0:
            # No answer: the client times out. Then the line is dropped.
            self.sim.stop_event.wait(reply.hang)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _control(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            payload, status, result = None, 400, {"error": "the body is not JSON"}
        else:
            try:
                status, result = control.handle(self.sim, method, parts.path, query, payload)
            except ControlError as error:
                status, result = error.status, {"error": error.message}
            except Exception as error:  # a bug: say so, keep serving
                log.exception("control %s %s", method, self.path)
                status, result = 500, {"error": f"{type(error).__name__}: {error}"}
        text = json.dumps(result, ensure_ascii=False, indent=1).encode()
        self._send(Reply(status, text, {"Content-Type": "application/json; charset=utf-8"}))

    def _dispatch(self, method: str) -> None:
        body = self._body()
        if body is None:
            return
        parts = urlsplit(self.path)
        if parts.path == "/_sim" or parts.path.startswith("/_sim/"):
            self._control(method, body)
            return
        if method != "POST":
            text = b'{"error":"the open API takes POST"}'
            self._send(Reply(405, text, {"Content-Type": "application/json", "Allow": "POST"}))
            return
        latency = float(self.sim.platform.config.get("api_latency") or 0)
        if latency > 0:
            # The platform's round trip; other requests are served meanwhile (a thread each).
            self.sim.stop_event.wait(latency)
        try:
            reply = self.sim.gateway.handle(parts.path, parts.query, self.headers, body)
        except Exception:
            log.exception("gateway %s", self.path)
            reply = Reply(500, b"internal error", {"Content-Type": "text/plain"})
        self._send(reply)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Simulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9100,
        *,
        state_path: str | None = None,
        seed: int | None = None,
        config: dict | None = None,
        switches: dict | None = None,
    ):
        self.platform = Platform(state_path, seed=seed, config=config, switches=switches)
        self.gateway = Gateway(self.platform)
        self.stop_event = threading.Event()
        handler = type("Handler", (_Handler,), {"sim": self})
        self.httpd = _Server((host, port), handler)
        self.host, self.port = self.httpd.server_address[:2]
        self.pusher = Pusher(self.platform, self.stop_event)
        self._threads: list[threading.Thread] = []
        self._server_thread: threading.Thread | None = None
        self._traffic: Traffic | None = None
        self._traffic_thread: threading.Thread | None = None
        self._traffic_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _tick(self) -> None:
        while not self.stop_event.wait(float(self.platform.config["tick"])):
            try:
                self.platform.sweep()
            except Exception:
                log.exception("sweep")

    def _start_workers(self) -> None:
        self.pusher.start()
        ticker = threading.Thread(target=self._tick, name="douyin-sim-ticker", daemon=True)
        ticker.start()
        self._threads += [self.pusher, ticker]

    def start(self) -> Simulator:
        """Serve in background threads (tests); returns self."""
        self._start_workers()
        server = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        server.start()
        self._server_thread = server
        self._threads.append(server)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI)."""
        try:
            self._start_workers()
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        self.stop_traffic()
        with self.platform.lock:
            self.platform.cond.notify_all()
        if self._server_thread is not None:
            # Only a loop in another thread needs asking to stop; `shutdown` waits for a loop
            # that never started forever (a signal before `serve_forever` began its loop).
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- traffic ------------------------------------------------------------------------

    def start_traffic(self, body: dict) -> dict:
        try:
            rate = float(body.get("rate", 0.2))
        except (TypeError, ValueError):
            raise ControlError("rate: applications per second, e.g. 0.2") from None
        if rate <= 0:
            raise ControlError("rate: must be positive (POST /_sim/traffic/stop stops)")
        shop_ids = body.get("shop_ids") or ([body["shop_id"]] if body.get("shop_id") else [])
        for shop_id in shop_ids:
            self.platform._shop(shop_id)
        low, high = body.get("follow_up", (15.0, 90.0))
        self.stop_traffic()
        with self._traffic_lock:
            self._traffic = Traffic(
                self.url,
                rate,
                shop_ids=[str(s) for s in shop_ids],
                seed=body.get("seed"),
                follow_up=(float(low), float(high)),
            )
            self._traffic_thread = threading.Thread(
                target=self._traffic.run, name="douyin-sim-traffic", daemon=True
            )
            self._traffic_thread.start()
        return self.traffic_status()

    def stop_traffic(self) -> None:
        with self._traffic_lock:
            if self._traffic is not None:
                self._traffic.stop.set()
                if self._traffic_thread and self._traffic_thread is not threading.current_thread():
                    self._traffic_thread.join(timeout=15)
            self._traffic = None
            self._traffic_thread = None

    def traffic_status(self) -> dict:
        traffic = self._traffic
        if traffic is None:
            return {"running": False}
        return {
            "running": True,
            "rate": traffic.rate,
            "shop_ids": traffic.shop_ids,
            "follow_up": list(traffic.follow_up),
            **traffic.stats,
        }
