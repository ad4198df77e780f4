"""The product served over real HTTP on loopback, for the simulator to push to.

Like pytest-django's `live_server`, but per test and safe for the in-memory SQLite test
database: that database is one connection shared by every thread, so on SQLite each request
(and each block of the test's own database work, `with server.db():`) holds one lock. On
PostgreSQL every request thread has its own connection and nothing is serialised: the
concurrency is real.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections

T = TypeVar("T")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _OneRequestPerConnection(_QuietHandler):
    """Closes each connection after its request: a browser's idle keep-alive connection would
    otherwise outlive the server and touch the shared test database after it stopped."""

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self.close_connection = True


class ProductServer:
    def __init__(self, *, serve_static: bool = False) -> None:
        """`serve_static`: also the static files, and one request per connection, for a
        browser (as `runserver` serves it)."""
        shared = {
            conn.alias: conn
            for conn in connections.all()
            if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        for conn in shared.values():
            conn.inc_thread_sharing()
        self._shared = shared
        self._lock = threading.RLock() if shared else None
        self.changed = threading.Condition()
        app: Any = StaticFilesHandler(WSGIHandler()) if serve_static else WSGIHandler()

        def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with self.db():
                body = list(app(environ, start_response))
            with self.changed:
                self.changed.notify_all()
            return body

        self.httpd = ThreadedWSGIServer(
            ("127.0.0.1", 0),
            _OneRequestPerConnection if serve_static else _QuietHandler,
            allow_reuse_address=False,
            connections_override=shared,
        )
        self.httpd.set_app(serialised)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.push_url = self.url + "/webhooks/douyin/"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> ProductServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)
        for conn in self._shared.values():
            conn.dec_thread_sharing()

    @contextlib.contextmanager
    def db(self) -> Iterator[None]:
        """Hold the database (SQLite only) for a block of the test's own work."""
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    def wait_for(self, check: Callable[[], T], *, timeout: float = 30.0, what: str = "") -> T:
        """Re-check after every request the product answers (or every 0.2 s for work done
        elsewhere) until `check()` is truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db():
                result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
            with self.changed:
                self.changed.wait(min(0.2, remaining))
