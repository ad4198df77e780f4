"""Small clients for the simulator: the signed open API (for tests and scripts) and /_sim/.

The product has its own client; it never imports this package.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .signing import SIGN_MD5, canonical_json, format_timestamp, sign

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpFailure(Exception):
    """A transport failure: HTTP 5xx, a timeout or a dropped connection."""


class OpenApiClient:
    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        sign_method: str = SIGN_MD5,
        timestamp_form: str = "unix",
        timeout: float = 10.0,
        legacy: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.sign_method = sign_method
        self.timestamp_form = timestamp_form
        self.timeout = timeout
        self.legacy = legacy
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.shop_id: str | None = None

    def request(
        self,
        path: str,
        params: dict | None = None,
        *,
        access_token: str | None = None,
        timestamp: str | None = None,
        body: bytes | None = None,
        query: dict | None = None,
    ) -> dict:
        """One signed call; returns the envelope. `body`/`query` override what is sent."""
        method = path.strip("/").replace("/", ".")
        param_json = canonical_json(params or {})
        ts = timestamp or format_timestamp(time.time(), self.timestamp_form)
        q = {
            "app_key": self.app_key,
            "method": method,
            "timestamp": ts,
            "v": "2",
            "sign": sign(self.app_key, self.app_secret, method, param_json, ts, self.sign_method),
        }
        if self.sign_method != SIGN_MD5:
            q["sign_method"] = self.sign_method
        token = access_token if access_token is not None else self.access_token
        if token and not method.startswith("token."):
            q["access_token"] = token
        q.update(query or {})
        url = f"{self.base_url}/{path.strip('/')}?{urllib.parse.urlencode(q)}"
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        if not self.legacy:
            headers["x-open-no-old-err-code"] = "1"
        data = param_json.encode() if body is None else body
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise HttpFailure(f"HTTP {error.code}") from error
        except (OSError, urllib.error.URLError) as error:
            raise HttpFailure(f"{type(error).__name__}: {error}") from error

    def call(self, path: str, params: dict | None = None) -> dict:
        """The `data` of a successful call; raises RuntimeError with the code otherwise.

        As the contract says: on `isv.access-token-expired`, refresh (or, when the refresh
        token is gone too, authorise again) and retry once.
        """
        envelope = self.request(path, params)
        if envelope.get("sub_code") == "isv.access-token-expired" and self.shop_id:
            try:
                self.refresh()
            except RuntimeError:
                self.create_token(self.shop_id)
            envelope = self.request(path, params)
        if envelope["code"] != 10000:
            raise RuntimeError(f"{envelope['code']} {envelope['sub_code']}: {envelope['sub_msg']}")
        return envelope["data"]

    def create_token(self, shop_id: str | int) -> dict:
        self.shop_id = str(shop_id)
        data = self.call(
            "token/create", {"grant_type": "authorization_self", "shop_id": str(shop_id)}
        )
        self.access_token, self.refresh_token = data["access_token"], data["refresh_token"]
        return data

    def refresh(self) -> dict:
        data = self.call(
            "token/refresh", {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        )
        self.access_token, self.refresh_token = data["access_token"], data["refresh_token"]
        return data


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class ControlClient:
    """The unsigned control API under /_sim/."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _send(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        url = f"{self.base_url}/_sim/{path.strip('/')}"
        clean = {k: v for k, v in (query or {}).items() if v is not None}
        if clean:
            url += "?" + urllib.parse.urlencode(clean)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("error", "")
            except ValueError:
                message = str(error)
            raise ControlError(error.code, message) from None

    def get(self, path: str, **query: Any) -> Any:
        return self._send("GET", path, query=query)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self._send("POST", path, body if body is not None else {})
