"""The signed open-platform gateway: request checks, rate limit, envelope, recorded operations."""

from __future__ import annotations

import collections
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from .errors import MESSAGES, ApiError, parameter_invalid, rate_limited, signature_invalid
from .errors import timestamp_invalid as bad_timestamp
from .platform import Platform
from .signing import (
    API_VERSION,
    SHANGHAI,
    SIGN_HMAC_SHA256,
    SIGN_MD5,
    canonical_json,
    parse_timestamp,
    sign,
)

# method → (Platform method name, needs an access token)
METHODS: dict[str, tuple[str, bool]] = {
    "token.create": ("token_create", False),
    "token.refresh": ("token_refresh", False),
    "afterSale.List": ("api_list", True),
    "afterSale.Detail": ("api_detail", True),
    "afterSale.operate": ("api_operate", True),
    "afterSale.rejectReasonCodeList": ("api_reject_reasons", True),
    "afterSale.submitEvidence": ("api_submit_evidence", True),
    "afterSale.returnGoodsToWareHouseSuccess": ("api_return_received", True),
    "afterSale.timeExtend": ("api_time_extend", True),
    "afterSale.addOrderRemark": ("api_add_remark", True),
    "afterSale.applyLogisticsIntercept": ("api_intercept", True),
    "afterSale.buyerExchangeConfirm": ("api_exchange_confirm", True),
    "order.orderDetail": ("api_order_detail", True),
    "im.sendMessage": ("api_send_message", True),
}
# Calls that change the platform (or reach the buyer): recorded for /_sim/operations.
RECORDED = frozenset(
    {
        "afterSale.operate",
        "afterSale.submitEvidence",
        "afterSale.returnGoodsToWareHouseSuccess",
        "afterSale.timeExtend",
        "afterSale.addOrderRemark",
        "afterSale.applyLogisticsIntercept",
        "afterSale.buyerExchangeConfirm",
        "im.sendMessage",
    }
)
MAX_BODY = 10 * 1024 * 1024


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # > 0: answer nothing for this long, then drop the connection


def _json_reply(payload: Any, status: int = 200, headers: dict | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(
        status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def new_log_id() -> str:
    stamp = datetime.now(tz=SHANGHAI).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()


def _aftersale_ids(params: dict) -> list[str]:
    ids = []
    for name in ("aftersale_id", "after_sale_id"):
        if params.get(name) not in (None, ""):
            ids.append(str(params[name]))
    items = params.get("items")
    if isinstance(items, list):
        ids.extend(
            str(i["aftersale_id"]) for i in items if isinstance(i, dict) and i.get("aftersale_id")
        )
    return ids


class Gateway:
    def __init__(self, platform: Platform):
        self.platform = platform
        self._hits: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._rate_lock = threading.Lock()
        self.calls: collections.deque = collections.deque(maxlen=1000)

    def handle(self, path: str, query: str, headers: Any, body: bytes) -> Reply:
        method = path.strip("/").replace("/", ".")
        fault = self.platform.take_fault(method)
        after = bool(fault) and self.platform.fault_after()
        if fault and not after:
            self._log_call(method, None, "-", 0, f"{fault} before")
            return self._fault_reply(fault)
        legacy = (headers.get("x-open-no-old-err-code") or "").strip() != "1"
        envelope = self._process(method, query, body, legacy, fault if after else None)
        if fault:
            return self._fault_reply(fault)
        return _json_reply(envelope, headers={"X-Tt-Logid": envelope["log_id"]})

    def _fault_reply(self, fault: str) -> Reply:
        sw = self.platform.switches
        if fault == "hang":
            return Reply(hang=float(sw["api_hang_seconds"]))
        status = int(sw["api_fail_status"])
        text = f"<html><body><h1>{status} simulated gateway failure</h1></body></html>"
        return Reply(status, text.encode(), {"Content-Type": "text/html"})

    def _rate_check(self, app_key: str) -> None:
        qps = int(self.platform.config["qps"])
        if qps <= 0:
            return
        now = time.monotonic()
        with self._rate_lock:
            hits = self._hits[app_key]
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= qps:
                raise rate_limited(qps)
            hits.append(now)

    def _process(
        self, method: str, query: str, body: bytes, legacy: bool, fault_after: str | None
    ) -> dict:
        log_id = new_log_id()
        shop_id: str | None = None
        params: dict = {}
        try:
            q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            for name in ("app_key", "method", "timestamp", "v", "sign"):
                if not q.get(name):
                    raise parameter_invalid(f"缺少公共参数 {name}")
            if q["method"] != method:
                raise parameter_invalid(f"method {q['method']!r} 与路径 {method!r} 不一致")
            if q["v"] != API_VERSION:
                raise parameter_invalid("v: 应为 2")
            if method not in METHODS:
                raise parameter_invalid(f"method {method!r} 不存在")
            app_key = q["app_key"]
            secret = self.platform.app_secret(app_key)
            if secret is None:
                raise parameter_invalid(f"app_key {app_key!r} 不存在")
            self._rate_check(app_key)
            when = parse_timestamp(q["timestamp"])
            if when is None:
                raise bad_timestamp("timestamp 格式错误：应为秒级时间戳或 yyyy-MM-dd HH:mm:ss")
            skew = float(self.platform.config["timestamp_skew"])
            if abs(when - time.time()) > skew:
                raise bad_timestamp(f"timestamp 与服务器时间相差超过 {int(skew)} 秒")
            sign_method = q.get("sign_method") or SIGN_MD5
            if sign_method not in (SIGN_MD5, SIGN_HMAC_SHA256):
                raise parameter_invalid("sign_method: 仅支持 md5 或 hmac-sha256")
            if len(body) > MAX_BODY:
                raise parameter_invalid("param_json 过大")
            try:
                parsed = json.loads(body.decode("utf-8") or "{}")
            except (UnicodeDecodeError, ValueError):
                raise parameter_invalid("param_json 不是合法的 UTF-8 JSON") from None
            if not isinstance(parsed, dict):
                raise parameter_invalid("param_json 应为 JSON 对象")
            params = parsed
            expected = sign(
                app_key, secret, method, canonical_json(params), q["timestamp"], sign_method
            )
            if not hmac.compare_digest(expected, q["sign"].lower()):
                raise signature_invalid()
            handler_name, needs_token = METHODS[method]
            handler = getattr(self.platform, handler_name)
            if needs_token:
                token = q.get("access_token")
                if not token:
                    raise parameter_invalid("缺少公共参数 access_token")
                shop_id = self.platform.resolve_token(app_key, token)
                data = handler(shop_id, params)
            else:
                data = handler(app_key, params)
            code, sub_code, sub_msg = 10000, "", ""
        except ApiError as error:
            data, code, sub_code, sub_msg = error.data, error.code, error.sub_code, error.sub_msg
        envelope: dict[str, Any] = {
            "code": code,
            "msg": MESSAGES.get(code, "error"),
            "sub_code": sub_code,
            "sub_msg": sub_msg,
            "log_id": log_id,
            "data": data,
        }
        if legacy:
            envelope["err_no"] = 0 if code == 10000 else code
            envelope["message"] = "success" if code == 10000 else f"{envelope['msg']}：{sub_msg}"
        transport = f"{fault_after} after" if fault_after else "ok"
        self._log_call(method, shop_id, log_id, code, transport, sub_code)
        if method in RECORDED and shop_id is not None:
            self.platform.record_operation(
                {
                    "time": time.time(),
                    "log_id": log_id,
                    "shop_id": shop_id,
                    "method": method,
                    "params": params,
                    "aftersale_ids": _aftersale_ids(params),
                    "code": code,
                    "sub_code": sub_code,
                    "sub_msg": sub_msg,
                    "data": data,
                    "transport": transport,
                }
            )
        return envelope

    def _log_call(
        self,
        method: str,
        shop_id: str | None,
        log_id: str,
        code: int,
        transport: str,
        sub_code: str = "",
    ) -> None:
        self.calls.append(
            {
                "time": time.time(),
                "method": method,
                "shop_id": shop_id,
                "log_id": log_id,
                "code": code,
                "sub_code": sub_code,
                "transport": transport,
            }
        )
