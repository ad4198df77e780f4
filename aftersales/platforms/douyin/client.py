"""The signed client for the open platform's gateway (stdlib `urllib`, no extra dependency).

What it does for every call:
- signs it (MD5 by default, HMAC-SHA256 when the shop link says so) with a fresh timestamp;
- sends a valid access token: creates or refreshes it when missing or about to expire, and
  on `isv.access-token-expired` refreshes and retries once;
- retries transport failures (HTTP 5xx, timeouts, refused connections) and rate limiting
  (`60000`) with exponential backoff and full jitter, but never a business error (`50002`,
  `40004`, `20000`, …): those answer the question and asking again changes nothing;
- logs every try: one `ApiCallLog` row and one log line with the platform's `log_id`.

Writes (operate, receipt, …) pass `retry_ambiguous=False`: after a 5xx or a timeout the
platform may or may not have applied the call, so the outbox re-reads Detail before trying
again instead of the client blindly repeating it.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from datetime import timedelta
from http.client import HTTPException
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.utils import timezone

from aftersales.core.text import storable

from .models import ApiCallLog, DouyinShopLink
from .signing import canonical_json, method_name, sign_request

logger = logging.getLogger(__name__)

OPERATE_BATCH = 20  # afterSale/operate takes at most 20 items per call
TOKEN_MARGIN = timedelta(seconds=120)  # refresh this long before the token runs out


# --- Errors ---------------------------------------------------------------------------------


class DouyinError(Exception):
    """A call did not succeed."""

    log_id = ""


class TransportError(DouyinError):
    """No usable answer: HTTP 5xx, a timeout, a dropped or refused connection.

    `ambiguous` is true when the request may have reached the platform (anything but a
    refused connection): a write may or may not have been applied.
    """

    def __init__(self, message: str, *, http_status: int | None = None, ambiguous: bool = True):
        super().__init__(message)
        self.http_status = http_status
        self.ambiguous = ambiguous


class ApiError(DouyinError):
    """The platform answered with a code other than 10000."""

    def __init__(self, *, code: int, msg: str, sub_code: str, sub_msg: str, log_id: str):
        super().__init__(f"{code} {sub_code}: {sub_msg or msg}")
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.log_id = log_id

    @property
    def is_rate_limited(self) -> bool:
        return self.code == 60000

    @property
    def is_token_expired(self) -> bool:
        return self.code == 40003 and "access-token-expired" in self.sub_code

    @property
    def is_wrong_status(self) -> bool:
        """售后状态错误: the after-sale is not in a status that allows the operation."""
        return self.code == 50002 and "20309541" in self.sub_code

    @property
    def is_transient(self) -> bool:
        return self.is_rate_limited


@dataclass(frozen=True)
class Response:
    data: dict[str, Any]
    log_id: str
    code: int = 10000
    msg: str = "success"


@dataclass
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base·2^n)]."""

    base: float = 0.2
    cap: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    waits: list[float] = field(default_factory=list)

    def wait(self, attempt: int) -> None:
        delay = self.rng() * min(self.cap, self.base * (2 ** (attempt - 1)))
        self.waits.append(delay)
        self.sleep(delay)


# --- The client -----------------------------------------------------------------------------


class DouyinClient:
    """Calls the gateway for one shop link. Cheap to create; one per unit of work."""

    def __init__(
        self,
        link: DouyinShopLink,
        *,
        timeout: float | None = None,
        max_tries: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.link = link
        self.timeout = timeout if timeout is not None else settings.DOUYIN_HTTP_TIMEOUT
        self.max_tries = max_tries if max_tries is not None else settings.DOUYIN_MAX_TRIES
        self.backoff = backoff or Backoff(
            base=settings.DOUYIN_BACKOFF_BASE, cap=settings.DOUYIN_BACKOFF_CAP
        )
        # Loopback and production both go direct: an HTTP(S)_PROXY in the environment must
        # not silently reroute signed calls.
        handlers: list[Any] = []
        if not settings.DOUYIN_USE_ENVIRONMENT_PROXY:
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)
        self.last_log_id = ""

    # -- public calls ----------------------------------------------------------------------

    def call(self, path: str, params: dict[str, Any], *, retry_ambiguous: bool = True) -> Response:
        """Call an API method with a valid token; see the module docstring for retries."""
        self.ensure_token()
        refreshed = False
        tries = 0
        while True:
            tries += 1
            token = self.link.access_token
            try:
                response = self._send(path, params, access_token=token, attempt=tries)
            except TransportError as exc:
                if (exc.ambiguous and not retry_ambiguous) or tries >= self.max_tries:
                    raise
                self.backoff.wait(tries)
                continue
            except ApiError as exc:
                if exc.is_token_expired and not refreshed:
                    # Refresh, then retry once; the retry does not count as a transport try.
                    refreshed = True
                    tries -= 1
                    self.refresh_token(expired=token)
                    continue
                if exc.is_transient and tries < self.max_tries:
                    self.backoff.wait(tries)
                    continue
                raise
            self.last_log_id = response.log_id
            return response

    def operate(
        self, operate_type: int, items: Sequence[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """afterSale/operate in batches of at most 20 items; returns every item's result.

        The platform applies a batch all or nothing; one failing batch raises and the
        batches after it are not sent.
        """
        results: list[dict[str, Any]] = []
        for batch in _chunks(items, OPERATE_BATCH):
            response = self.call(
                "afterSale/operate", {"type": operate_type, "items": list(batch)}, **kwargs
            )
            results.extend(response.data.get("items", []))
        return results

    # -- tokens ----------------------------------------------------------------------------

    def ensure_token(self) -> None:
        link = self.link
        if (
            link.access_token
            and link.token_expires_at
            and (link.token_expires_at - TOKEN_MARGIN > timezone.now())
        ):
            return
        if link.refresh_token:
            self.refresh_token(expired=link.access_token)
        else:
            self.create_token()

    def create_token(self) -> None:
        params = {"grant_type": "authorization_self", "shop_id": self.link.platform_shop_id}
        response = self._token_call("token/create", params)
        self._store_token(response.data)

    def refresh_token(self, *, expired: str) -> None:
        """Get a new token. Another worker may have refreshed already: use theirs if so."""
        stored = DouyinShopLink.objects.filter(pk=self.link.pk).values(
            "access_token", "refresh_token", "token_expires_at"
        )[0]
        if stored["access_token"] and stored["access_token"] != expired:
            self.link.access_token = stored["access_token"]
            self.link.refresh_token = stored["refresh_token"]
            self.link.token_expires_at = stored["token_expires_at"]
            if stored["token_expires_at"] and stored["token_expires_at"] > timezone.now():
                return
        if not self.link.refresh_token:
            self.create_token()
            return
        try:
            response = self._token_call(
                "token/refresh",
                {"grant_type": "refresh_token", "refresh_token": self.link.refresh_token},
            )
        except ApiError as exc:
            # The refresh token ran out or was used up: a self-authorised app starts over.
            logger.warning("douyin token refresh refused (%s); creating a new token", exc)
            self.create_token()
            return
        self._store_token(response.data)

    def _token_call(self, path: str, params: dict[str, Any]) -> Response:
        tries = 0
        while True:
            tries += 1
            try:
                return self._send(path, params, access_token=None, attempt=tries)
            except TransportError:
                if tries >= self.max_tries:
                    raise
                self.backoff.wait(tries)
            except ApiError as exc:
                if exc.is_transient and tries < self.max_tries:
                    self.backoff.wait(tries)
                    continue
                raise

    def _store_token(self, data: dict[str, Any]) -> None:
        link = self.link
        link.access_token = str(data["access_token"])
        link.refresh_token = str(data.get("refresh_token", ""))
        link.token_expires_at = timezone.now() + timedelta(seconds=int(data.get("expires_in", 0)))
        DouyinShopLink.objects.filter(pk=link.pk).update(
            access_token=link.access_token,
            refresh_token=link.refresh_token,
            token_expires_at=link.token_expires_at,
        )

    # -- one HTTP request ------------------------------------------------------------------

    def _send(
        self, path: str, params: dict[str, Any], *, access_token: str | None, attempt: int
    ) -> Response:
        link = self.link
        method = method_name(path)
        param_json = canonical_json(params)
        timestamp = str(int(time.time()))
        query = {
            "app_key": link.app_key,
            "method": method,
            "timestamp": timestamp,
            "v": "2",
            "sign": sign_request(
                app_key=link.app_key,
                secret=link.secret(),
                method=method,
                param_json=param_json,
                timestamp=timestamp,
                sign_method=link.sign_method,
            ),
        }
        if access_token is not None:
            query["access_token"] = access_token
        if link.sign_method == "hmac-sha256":
            query["sign_method"] = "hmac-sha256"
        url = f"{link.gateway_url.rstrip('/')}/{path.strip('/')}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(
            url,
            data=param_json.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "x-open-no-old-err-code": "1",
            },
        )
        started = time.monotonic()
        http_status: int | None = None
        raw = b""
        failure: TransportError | None = None
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                http_status = reply.status
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            http_status = exc.code
            failure = TransportError(
                f"HTTP {exc.code}", http_status=exc.code, ambiguous=exc.code >= 500
            )
        except TimeoutError as exc:
            failure = TransportError(f"timeout after {self.timeout}s ({exc})")
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                failure = TransportError(f"timeout after {self.timeout}s")
            else:
                refused = isinstance(reason, ConnectionRefusedError)
                failure = TransportError(f"connection failed: {reason}", ambiguous=not refused)
        except (ConnectionError, HTTPException, OSError) as exc:
            failure = TransportError(f"connection failed: {type(exc).__name__}: {exc}")
        duration_ms = int((time.monotonic() - started) * 1000)

        body: dict[str, Any] = {}
        if failure is None:
            try:
                # The platform's text may hold NUL (a buyer's statement): made storable here,
                # at the boundary, so a Detail is never refused by PostgreSQL.
                body = storable(json.loads(raw.decode()))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError):
                failure = TransportError(
                    f"unreadable answer (HTTP {http_status})", http_status=http_status
                )
        code = _int(body.get("code")) if body else None
        log_id = str(body.get("log_id", "")) if body else ""
        sub_code = str(body.get("sub_code", "") or "") if body else ""
        self._log(
            method=method,
            attempt=attempt,
            http_status=http_status,
            code=code,
            sub_code=sub_code,
            log_id=log_id,
            duration_ms=duration_ms,
            error=str(failure) if failure else "",
        )
        if failure is not None:
            raise failure
        if code != 10000:
            raise ApiError(
                code=code if code is not None else -1,
                msg=str(body.get("msg", "")),
                sub_code=sub_code,
                sub_msg=str(body.get("sub_msg", "") or ""),
                log_id=log_id,
            )
        data = body.get("data") or {}
        return Response(data=data if isinstance(data, dict) else {"value": data}, log_id=log_id)

    def _log(
        self,
        *,
        method: str,
        attempt: int,
        http_status: int | None,
        code: int | None,
        sub_code: str,
        log_id: str,
        duration_ms: int,
        error: str,
    ) -> None:
        # Every call is in ApiCallLog; the console hears of failures (a sync run's summary is
        # its one INFO line).
        level = logging.DEBUG if code == 10000 else logging.WARNING
        logger.log(
            level,
            "douyin call %s shop=%s try=%d http=%s code=%s sub_code=%s log_id=%s %dms%s",
            method,
            self.link.platform_shop_id,
            attempt,
            http_status,
            code,
            sub_code or "-",
            log_id or "-",
            duration_ms,
            f" error={error}" if error else "",
        )
        row = ApiCallLog(
            link_id=self.link.pk,
            method=method[:64],
            log_id=log_id[:128],
            http_status=http_status,
            code=code,
            sub_code=sub_code[:128],
            error=error[:255],
            attempt=min(attempt, 32767),
            duration_ms=max(duration_ms, 0),
            at=timezone.now(),
        )
        buffered = _call_log_buffer.get()
        if buffered is not None:
            buffered.append(row)
        else:
            row.save()


_call_log_buffer: ContextVar[list[ApiCallLog] | None] = ContextVar(
    "douyin_call_log_buffer", default=None
)


@contextmanager
def call_logs_written_together() -> Iterator[None]:
    """Keep the `ApiCallLog` rows of the calls made inside, and write them in one INSERT at
    the end (a worker's batch: one statement instead of one autocommit per call, issue 16).
    Written on the way out even when the batch raised; a worker killed inside loses the log
    rows of its batch, never a case's state (the log is bookkeeping, and every call is also
    in the process log with its log_id)."""
    if _call_log_buffer.get() is not None:  # already collecting: the outer block writes
        yield
        return
    rows: list[ApiCallLog] = []
    token = _call_log_buffer.set(rows)
    try:
        yield
    finally:
        _call_log_buffer.reset(token)
        if rows:
            ApiCallLog.objects.bulk_create(rows)


T = TypeVar("T")


def side_by_side(
    jobs: Sequence[Callable[[], T]], *, width: int | None = None
) -> list[T | Exception]:
    """Run `jobs` (platform calls, nothing else) at most `width` at a time, each in its own
    thread; their results in the jobs' order. A job that raised gives its exception back as
    its result, so one failed call is its own job's failure only (issue 16: a batch's calls
    were waited for one after another, ~25 ms each).

    The jobs are for HTTP: what they write to the database stays on the caller's
    connection, after they return. Each runs in a copy of the caller's context, so the call
    log rows go to the caller's `call_logs_written_together` (a list: appends are atomic).
    A job that still touches the database (a token refreshed mid-call) does it on a
    connection of its own thread, in autocommit, closed when the job ends."""
    width = settings.DOUYIN_CALL_CONCURRENCY if width is None else width
    if width <= 1 or len(jobs) <= 1:
        return [_caught(job) for job in jobs]

    def run(job: Callable[[], T]) -> T | Exception:
        try:
            return _caught(job)
        finally:
            connections.close_all()  # this thread's, if the job opened one

    with ThreadPoolExecutor(max_workers=min(width, len(jobs))) as pool:
        futures = [pool.submit(copy_context().run, run, job) for job in jobs]
        return [future.result() for future in futures]


def _caught(job: Callable[[], T]) -> T | Exception:
    try:
        return job()
    except Exception as exc:  # given back as the job's result: the caller decides
        return exc


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
