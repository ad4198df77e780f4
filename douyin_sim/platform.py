"""The simulated platform: shops, orders, after-sales, tokens and the push queue, in memory.

One re-entrant lock guards everything; every change is saved to the optional state file
(`--state FILE`, JSON, replaced atomically) before its caller is answered, so a restart keeps
what was acknowledged — the push queue included.

Two clocks:
- wall time (`time.time()`) stamps what happened: apply_time, update_time, agree_time, …;
- simulated "timer" time (wall + offset) runs deadlines, token expiry and pending refunds.
  `advance(seconds)` raises the offset and runs what fell due, so a test can make a step time
  out without waiting and without future-dated timestamps that would confuse a poller.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import secrets
import tempfile
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Any

from . import rules as R
from . import settings as S
from .errors import (
    ApiError,
    ControlError,
    invalid_aftersale,
    manual_only,
    parameter_invalid,
    token_expired,
    wrong_status,
)
from .signing import rfc3339

STATE_VERSION = 1
KEEP_FINISHED_PUSHES = 5000
KEEP_OPERATIONS = 20000
AFTERSALE_ID_BASE = 7_300_000_000_000_000_000
ORDER_ID_BASE = 4_900_000_000_000_000_000
ARBITRATE_ID_BASE = 8_100_000_000_000
SHOP_ID_BASE = 100_000
_DEFAULT_ADDRESS = {
    "address_id": "1",
    "receiver_name": "售后仓",
    "receiver_tel": "400-800-0000",
    "province": "浙江省",
    "city": "杭州市",
    "town": "余杭区",
    "detail": "仓前街道文一西路 1000 号 售后组",
}


def _as_id(value: Any, name: str) -> str:
    """A platform id given as an integer or a decimal string; raises 40004 otherwise."""
    if isinstance(value, bool) or value is None:
        raise parameter_invalid(f"{name}: 必填，应为数字 id")
    text = str(value).strip()
    if not text.isdigit():
        raise parameter_invalid(f"{name}: 应为数字 id，收到 {value!r}")
    return str(int(text))


def _as_int(params: dict, name: str, default: Any = ..., *, minimum: int | None = None) -> Any:
    if name not in params or params[name] is None:
        if default is ...:
            raise parameter_invalid(f"{name}: 必填")
        return default
    value = params[name]
    if isinstance(value, bool):
        raise parameter_invalid(f"{name}: 应为整数")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise parameter_invalid(f"{name}: 应为整数，收到 {value!r}") from None
    if isinstance(value, float) and number != value:
        raise parameter_invalid(f"{name}: 应为整数，收到 {value!r}")
    if minimum is not None and number < minimum:
        raise parameter_invalid(f"{name}: 不能小于 {minimum}")
    return number


def _as_str(params: dict, name: str, *, required: bool = True, limit: int = 1000) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise parameter_invalid(f"{name}: 必填")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise parameter_invalid(f"{name}: 应为字符串")
    text = str(value)
    if len(text) > limit:
        raise parameter_invalid(f"{name}: 不能超过 {limit} 个字符")
    return text


def _c_int(body: dict, name: str, default: Any = ..., *, minimum: int = 0) -> Any:
    """The control API's integer fields: ControlError (HTTP 400) when wrong."""
    if body.get(name) is None:
        if default is ...:
            raise ControlError(f"{name} is required")
        return default
    value = body[name]
    if isinstance(value, bool):
        raise ControlError(f"{name}: expected an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name}: expected an integer, got {value!r}") from None
    if isinstance(value, float) and number != value:
        raise ControlError(f"{name}: expected an integer (fen), got {value!r}")
    if number < minimum:
        raise ControlError(f"{name}: must be at least {minimum}")
    return number


def _c_str(body: dict, name: str, default: Any = ..., *, limit: int = 500) -> Any:
    value = body.get(name)
    if value is None or value == "":
        if default is ...:
            raise ControlError(f"{name} is required")
        return default
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ControlError(f"{name}: expected a string")
    if len(str(value)) > limit:
        raise ControlError(f"{name}: at most {limit} characters")
    return str(value)


def _c_urls(body: dict, name: str, limit: int) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(u, str) and u for u in value):
        raise ControlError(f"{name}: expected a list of URLs")
    if len(value) > limit:
        raise ControlError(f"{name}: at most {limit}")
    return list(value)


def _mask_mobile(mobile: str) -> str:
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 7 else "****"


class Platform:
    def __init__(
        self,
        state_path: str | None = None,
        *,
        seed: int | None = None,
        config: dict | None = None,
        switches: dict | None = None,
    ):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rng = random.Random(seed)
        self.state_path = state_path
        self.state = self._empty_state()
        if state_path and os.path.exists(state_path):
            self._load(state_path)
        if config:
            self.state["config"] = S.merged(self.state["config"], S.DEFAULT_CONFIG, config)
        if switches:
            self.state["switches"] = S.merged(self.state["switches"], S.DEFAULT_SWITCHES, switches)
        self._save()

    # --- storage ------------------------------------------------------------------------

    @staticmethod
    def _empty_state() -> dict:
        return {
            "version": STATE_VERSION,
            "seq": {"aftersale": 0, "order": 0, "msg": 0, "push": 0, "op": 0, "im": 0, "arb": 0},
            "offset": 0.0,
            "apps": {},
            "shops": {},
            "tokens": {},
            "refresh_tokens": {},
            "orders": {},
            "aftersales": {},
            "pushes": [],
            "operations": [],
            "messages": [],
            "config": copy.deepcopy(S.DEFAULT_CONFIG),
            "switches": copy.deepcopy(S.DEFAULT_SWITCHES),
        }

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            loaded = json.load(fh)
        if loaded.get("version") != STATE_VERSION:
            raise SystemExit(f"{path}: state version {loaded.get('version')} is not supported")
        state = self._empty_state()
        state.update(loaded)
        # Settings added since the file was written get their defaults.
        state["config"] = {**copy.deepcopy(S.DEFAULT_CONFIG), **state["config"]}
        state["switches"] = {**copy.deepcopy(S.DEFAULT_SWITCHES), **state["switches"]}
        for entry in state["pushes"]:
            entry.pop("inflight", None)  # a delivery cut short by the restart is sent again
        self.state = state

    def _save(self) -> None:
        if not self.state_path:
            return
        with self.lock:
            text = json.dumps(self.state, ensure_ascii=False, separators=(",", ":"))
            directory = os.path.dirname(os.path.abspath(self.state_path))
            fd, tmp = tempfile.mkstemp(prefix=".douyin-sim-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.state_path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    @contextmanager
    def _mutation(self):
        """Everything that changes state: saved, and the push worker woken, on success."""
        with self.lock:
            yield
            self._save()
            self.cond.notify_all()

    def _next(self, kind: str) -> int:
        self.state["seq"][kind] += 1
        return self.state["seq"][kind]

    # --- time ---------------------------------------------------------------------------

    @staticmethod
    def wall() -> int:
        return int(time.time())

    def vnow(self) -> float:
        return time.time() + self.state["offset"]

    def _deadline_out(self, case: dict) -> int:
        if not case["deadline_v"] or case["status"] in R.FINAL_STATUSES:
            return 0
        return int(case["deadline_v"] - self.state["offset"])

    # --- settings -----------------------------------------------------------------------

    @property
    def config(self) -> dict:
        return self.state["config"]

    @property
    def switches(self) -> dict:
        return self.state["switches"]

    def set_config(self, updates: dict) -> dict:
        with self._mutation():
            self.state["config"] = S.merged(self.config, S.DEFAULT_CONFIG, updates)
            return copy.deepcopy(self.config)

    def set_switches(self, updates: dict) -> dict:
        with self._mutation():
            self.state["switches"] = S.merged(self.switches, S.DEFAULT_SWITCHES, updates)
            return copy.deepcopy(self.switches)

    def take_fault(self, method: str) -> str | None:
        """Which fault, if any, this call gets: "fail", "hang" or None (counts `*_next` down)."""
        with self.lock:
            sw = self.switches
            if sw["api_fault_methods"] and method not in sw["api_fault_methods"]:
                return None
            for fault in ("fail", "hang"):
                if sw[f"api_{fault}_next"] > 0:
                    sw[f"api_{fault}_next"] -= 1
                    self._save()
                    return fault
            draw = self.rng.random()
            if draw < sw["api_fail_rate"]:
                return "fail"
            if draw < sw["api_fail_rate"] + sw["api_hang_rate"]:
                return "hang"
            return None

    def fault_after(self) -> bool:
        when = self.switches["api_fault_when"]
        if when == "random":
            with self.lock:
                return self.rng.random() < 0.5
        return when == "after"

    def reset(self) -> None:
        with self._mutation():
            self.state = self._empty_state()

    # --- shops and apps ------------------------------------------------------------------

    def create_shop(self, body: dict) -> dict:
        app_key = _c_str(body, "app_key", limit=64)
        app_secret = _c_str(body, "app_secret", limit=128)
        push_url = _c_str(body, "push_url", "", limit=2000)
        with self._mutation():
            shop_id = body.get("shop_id")
            if shop_id in (None, ""):
                shop_id = str(SHOP_ID_BASE + len(self.state["shops"]) + 1)
                while shop_id in self.state["shops"]:
                    shop_id = str(int(shop_id) + 1)
            shop_id = str(shop_id)
            if not shop_id.isdigit():
                raise ControlError("shop_id: digits only (the platform's shop ids are numbers)")
            shop_id = str(int(shop_id))
            if shop_id in self.state["shops"]:
                raise ControlError(f"shop {shop_id} exists (POST /_sim/shops/{shop_id} updates)")
            app = self.state["apps"].get(app_key)
            if app and app["app_secret"] != app_secret:
                raise ControlError(f"app {app_key} exists with another app_secret")
            self.state["apps"][app_key] = {"app_key": app_key, "app_secret": app_secret}
            address = dict(_DEFAULT_ADDRESS)
            if isinstance(body.get("return_address"), dict):
                address.update({k: str(v) for k, v in body["return_address"].items()})
            shop = {
                "shop_id": shop_id,
                "shop_name": _c_str(body, "shop_name", f"模拟店铺{shop_id}", limit=100),
                "app_key": app_key,
                "push_url": push_url,
                "return_address": address,
            }
            self.state["shops"][shop_id] = shop
            return copy.deepcopy(shop)

    def update_shop(self, shop_id: str, body: dict) -> dict:
        with self._mutation():
            shop = self._shop(shop_id)
            if "push_url" in body:
                shop["push_url"] = _c_str(body, "push_url", "", limit=2000)
            if "shop_name" in body:
                shop["shop_name"] = _c_str(body, "shop_name", limit=100)
            return copy.deepcopy(shop)

    def list_shops(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state["shops"].values()))

    def _shop(self, shop_id: Any) -> dict:
        shop = self.state["shops"].get(str(shop_id))
        if shop is None:
            raise ControlError(f"no shop {shop_id}", 404)
        return shop

    def app_secret(self, app_key: str) -> str | None:
        with self.lock:
            app = self.state["apps"].get(app_key)
            return app["app_secret"] if app else None

    # --- tokens -------------------------------------------------------------------------

    def _issue_tokens(self, app_key: str, shop_id: str) -> dict:
        cfg = self.config
        now_v = self.vnow()
        access = secrets.token_hex(16)
        refresh = secrets.token_hex(16)
        self.state["tokens"][access] = {
            "app_key": app_key,
            "shop_id": shop_id,
            "expires_v": now_v + cfg["token_ttl"],
            "revoked": False,
        }
        self.state["refresh_tokens"][refresh] = {
            "app_key": app_key,
            "shop_id": shop_id,
            "expires_v": now_v + cfg["refresh_ttl"],
            "used_at": None,
            "access_token": access,
            "successor": None,
        }
        # Forget what can no longer be used.
        for table in ("tokens", "refresh_tokens"):
            stale = [k for k, v in self.state[table].items() if v["expires_v"] < now_v - 86400]
            for key in stale:
                del self.state[table][key]
        return self._token_data(access, refresh)

    def _token_data(self, access: str, refresh: str) -> dict:
        token = self.state["tokens"][access]
        shop = self.state["shops"][token["shop_id"]]
        return {
            "access_token": access,
            "expires_in": max(0, math.ceil(token["expires_v"] - self.vnow())),
            "refresh_token": refresh,
            "scope": "SCOPE",
            "shop_id": int(shop["shop_id"]),
            "shop_name": shop["shop_name"],
            "authority_id": "",
            "auth_subject_type": "MiniApp",
        }

    def token_create(self, app_key: str, params: dict) -> dict:
        grant = _as_str(params, "grant_type")
        if grant != "authorization_self":
            raise parameter_invalid("grant_type: 仅支持 authorization_self")
        with self._mutation():
            shops = [s for s in self.state["shops"].values() if s["app_key"] == app_key]
            if params.get("shop_id") in (None, ""):
                if len(shops) != 1:
                    raise parameter_invalid("shop_id: 必填（该应用授权了多个店铺）")
                shop_id = shops[0]["shop_id"]
            else:
                shop_id = _as_id(params["shop_id"], "shop_id")
                if shop_id not in {s["shop_id"] for s in shops}:
                    raise parameter_invalid(f"shop_id: 店铺 {shop_id} 未授权给该应用")
            return self._issue_tokens(app_key, shop_id)

    def token_refresh(self, app_key: str, params: dict) -> dict:
        grant = _as_str(params, "grant_type")
        if grant != "refresh_token":
            raise parameter_invalid("grant_type: 应为 refresh_token")
        refresh = _as_str(params, "refresh_token", limit=200)
        with self._mutation():
            entry = self.state["refresh_tokens"].get(refresh)
            if entry is None or entry["app_key"] != app_key:
                raise parameter_invalid("refresh_token: 无效")
            if entry["expires_v"] <= self.vnow():
                raise parameter_invalid("refresh_token: 已过期，请重新授权（token/create）")
            if entry["used_at"] is not None:
                successor = entry["successor"]
                grace = self.config["refresh_grace"]
                if (
                    successor
                    and time.time() - entry["used_at"] <= grace
                    and successor["access_token"] in self.state["tokens"]
                ):
                    return self._token_data(successor["access_token"], successor["refresh_token"])
                raise parameter_invalid("refresh_token: 已使用过")
            old = self.state["tokens"].get(entry["access_token"])
            if old:
                old["revoked"] = True
            data = self._issue_tokens(app_key, entry["shop_id"])
            entry["used_at"] = time.time()
            entry["successor"] = {
                "access_token": data["access_token"],
                "refresh_token": data["refresh_token"],
            }
            return data

    def resolve_token(self, app_key: str, access_token: str) -> str:
        """The shop an access token acts for; 40003 isv.access-token-expired otherwise."""
        with self.lock:
            token = self.state["tokens"].get(access_token)
            if token is None or token["app_key"] != app_key:
                raise token_expired("access_token无效或不属于该应用")
            if token["revoked"]:
                raise token_expired("access_token已失效（已刷新）")
            if token["expires_v"] <= self.vnow():
                raise token_expired("access_token已过期")
            return token["shop_id"]

    def expire_tokens(self, shop_id: str | None = None) -> int:
        """Control: make every access token (of a shop) expire now."""
        with self._mutation():
            count = 0
            for token in self.state["tokens"].values():
                if shop_id is None or token["shop_id"] == str(shop_id):
                    token["expires_v"] = min(token["expires_v"], self.vnow() - 1)
                    count += 1
            return count

    # --- orders -------------------------------------------------------------------------

    def create_order(self, body: dict) -> dict:
        items = body.get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= 9:
            raise ControlError("items: a list of 1 to 9 items")
        with self._mutation():
            shop = self._shop(_c_str(body, "shop_id"))
            buyer = body.get("buyer") or {}
            if not isinstance(buyer, dict):
                raise ControlError("buyer: expected an object")
            vip = _c_int(buyer, "vip_level", 0)
            if vip > 10:
                raise ControlError("buyer.vip_level: 0 to 10")
            mobile = _c_str(buyer, "mobile", f"1{self.rng.randint(3000000000, 9999999999)}")
            pay_time = _c_int(body, "pay_time", self.wall())
            n = self._next("order")
            order_id = str(ORDER_ID_BASE + n * 10)
            lines = []
            for index, raw in enumerate(items):
                if not isinstance(raw, dict):
                    raise ControlError(f"items[{index}]: expected an object")
                name = _c_str(raw, "product_name", limit=200)
                category = _c_str(raw, "category", "general", limit=40)
                if category not in R.CATEGORIES:
                    raise ControlError(f"items[{index}].category: one of {', '.join(R.CATEGORIES)}")
                quantity = _c_int(raw, "quantity", 1, minimum=1)
                origin = _c_int(raw, "origin_amount")
                pay = _c_int(raw, "pay_amount", origin)
                if pay > origin:
                    raise ControlError(f"items[{index}]: pay_amount above origin_amount")
                spec = _c_str(raw, "sku_spec", "默认", limit=200)
                lines.append(
                    {
                        "sku_order_id": str(ORDER_ID_BASE + n * 10 + index + 1),
                        "product_id": str(
                            raw.get("product_id")
                            or 3_600_000_000_000_000_000 + zlib.crc32(name.encode())
                        ),
                        "product_name": name,
                        "category": category,
                        "sku_id": str(
                            raw.get("sku_id")
                            or 1_700_000_000_000 + zlib.crc32(f"{name}|{spec}".encode())
                        ),
                        "sku_spec": spec,
                        "item_num": quantity,
                        "origin_amount": origin,
                        "pay_amount": pay,
                        "refunded_amount": 0,
                    }
                )
            post_amount = _c_int(body, "shipping_fee", 0)
            order = {
                "order_id": order_id,
                "shop_id": shop["shop_id"],
                "order_status": R.ORDER_PAID,
                "pay_time": pay_time,
                "ship_time": 0,
                "finish_time": 0,
                "post_amount": post_amount,
                "post_refunded": 0,
                "has_insurance": bool(body.get("insurance", False)),
                "buyer": {
                    "open_id": _c_str(buyer, "open_id", f"sim-{secrets.token_hex(8)}"),
                    "nickname": _c_str(buyer, "nickname", "抖音用户", limit=100),
                    "mobile": mobile,
                    "vip_level": vip,
                },
                "items": lines,
                "logistics": [],
                "remarks": [],
            }
            self.state["orders"][order_id] = order
            if body.get("shipped") or body.get("delivered"):
                self._ship(order, {})
            if body.get("delivered"):
                self._deliver(order, {})
            return self._order_view(order)

    def _order(self, order_id: Any) -> dict:
        order = self.state["orders"].get(str(order_id))
        if order is None:
            raise ControlError(f"no order {order_id}", 404)
        return order

    def ship_order(self, order_id: str, body: dict) -> dict:
        with self._mutation():
            order = self._order(order_id)
            self._ship(order, body)
            return self._order_view(order)

    def _ship(self, order: dict, body: dict) -> None:
        if order["order_status"] != R.ORDER_PAID:
            raise ControlError("only a paid, unshipped order can be shipped")
        if all(i["refunded_amount"] >= i["pay_amount"] for i in order["items"]):
            raise ControlError("the whole order is being refunded; it cannot be shipped")
        at = _c_int(body, "at", max(self.wall(), order["pay_time"]))
        order["order_status"] = R.ORDER_SHIPPED
        order["ship_time"] = at
        order["logistics"].append(
            {
                "company_code": _c_str(body, "company_code", "zhongtong", limit=40),
                "tracking_no": _c_str(
                    body, "tracking_no", f"ZT{self.rng.randint(10**11, 10**12 - 1)}", limit=40
                ),
                "sign_time": 0,
                "intercepted": False,
            }
        )
        # The merchant refuses a pre-shipment refund by shipping: the after-sale closes.
        wall = self.wall()
        for case in self._cases_of_order(order["order_id"]):
            if case["type"] == R.REFUND_UNSHIPPED and case["status"] == R.AWAITING_MERCHANT:
                self._record(case, wall, "商家", "发货", "商家已发货，未发货仅退款申请关闭")
                self._close(case, wall)

    def deliver_order(self, order_id: str, body: dict) -> dict:
        with self._mutation():
            order = self._order(order_id)
            self._deliver(order, body)
            return self._order_view(order)

    def _deliver(self, order: dict, body: dict) -> None:
        if order["order_status"] != R.ORDER_SHIPPED:
            raise ControlError("only a shipped order can be signed for")
        parcel = order["logistics"][-1]
        if parcel["intercepted"]:
            raise ControlError("the parcel was intercepted and is going back to the merchant")
        at = _c_int(body, "at", max(self.wall(), order["ship_time"]))
        parcel["sign_time"] = at
        order["order_status"] = R.ORDER_FINISHED
        order["finish_time"] = at

    def _order_view(self, order: dict) -> dict:
        buyer = order["buyer"]
        view = {
            "order_id": order["order_id"],
            "shop_id": int(order["shop_id"]),
            "order_status": order["order_status"],
            "pay_time": order["pay_time"],
            "pay_amount": sum(i["pay_amount"] for i in order["items"]) + order["post_amount"],
            "post_amount": order["post_amount"],
            "has_insurance": order["has_insurance"],
            "buyer": {
                "open_id": buyer["open_id"],
                "nickname": buyer["nickname"],
                "mobile_masked": _mask_mobile(buyer["mobile"]),
                "vip_level": buyer["vip_level"],
            },
            "sku_order_list": [
                {
                    k: item[k]
                    for k in (
                        "sku_order_id",
                        "product_id",
                        "product_name",
                        "category",
                        "sku_id",
                        "sku_spec",
                        "item_num",
                        "origin_amount",
                        "pay_amount",
                    )
                }
                for item in order["items"]
            ],
            "logistics_info": [
                {"company_code": p["company_code"], "tracking_no": p["tracking_no"]}
                | ({"sign_time": p["sign_time"]} if p["sign_time"] else {})
                for p in order["logistics"]
            ],
        }
        if order["ship_time"]:
            view["ship_time"] = order["ship_time"]
        if order["finish_time"]:
            view["finish_time"] = order["finish_time"]
        return view

    def order_view(self, order_id: str) -> dict:
        with self.lock:
            order = self._order(order_id)
            view = self._order_view(order)
            view["aftersale_ids"] = [c["id"] for c in self._cases_of_order(order_id)]
            view["remarks"] = copy.deepcopy(order["remarks"])
            return view

    def _cases_of_order(self, order_id: str) -> list[dict]:
        return [c for c in self.state["aftersales"].values() if c["order_id"] == str(order_id)]

    # --- the buyer ----------------------------------------------------------------------

    def apply(self, body: dict) -> dict:
        """The buyer applies for an after-sale (tag 200)."""
        with self._mutation():
            order = self._order(_c_str(body, "order_id"))
            kind = _c_int(body, "type")
            if kind not in R.TYPE_NAMES:
                raise ControlError(f"type: one of {sorted(R.TYPE_NAMES)}")
            if order["order_status"] == R.ORDER_CANCELLED:
                raise ControlError("the order is cancelled")
            if kind == R.REFUND_UNSHIPPED and order["order_status"] != R.ORDER_PAID:
                raise ControlError("type 2 (未发货仅退款) needs an unshipped order")
            if kind != R.REFUND_UNSHIPPED and order["order_status"] not in (
                R.ORDER_SHIPPED,
                R.ORDER_FINISHED,
            ):
                raise ControlError(f"type {kind} needs a shipped order")
            reason = _c_int(body, "reason_code")
            if reason not in R.REASONS:
                raise ControlError(f"reason_code: one of {sorted(R.REASONS)}")
            lines = self._claimed_lines(order, body.get("items"))
            goods, post, full = self._amounts(order, kind, lines, body)
            at = self.wall()
            n = self._next("aftersale")
            case = {
                "id": str(AFTERSALE_ID_BASE + n),
                "shop_id": order["shop_id"],
                "order_id": order["order_id"],
                "type": kind,
                "status": R.AWAITING_MERCHANT,
                "refund_status": R.REFUND_PENDING if kind in R.REFUND_TYPES else R.REFUND_NONE,
                "reason_code": reason,
                "statement": _c_str(body, "statement", ""),
                "evidence": _c_urls(body, "evidence", 9),
                "items": lines,
                "refund_goods": goods,
                "refund_post": post,
                "part_type": 0 if full else 1,
                "apply_time": at,
                "update_time": at,
                "deadline_v": 0.0,
                "step": 0,
                "extended_step": -1,
                "timeout_done": -1,
                "arbitrate": {"status": R.ARB_NONE, "id": "", "conclusion": 0},
                "return": {
                    "company_code": "",
                    "tracking_no": "",
                    "status": R.PARCEL_NONE,
                    "address_id": "",
                    "ship_time": 0,
                    "receive_time": 0,
                },
                "exchange": {"company_code": "", "tracking_no": "", "status": 0, "ship_time": 0},
                "refund_due_v": 0.0,
                "agree_time": 0,
                "refund_time": 0,
                "close_time": 0,
                "merchant_evidence": [],
                "remarks": [],
                "records": [],
            }
            self.state["aftersales"][case["id"]] = case
            self._enter(case, R.AWAITING_MERCHANT, self.vnow())
            self._record(case, at, "买家", "申请售后", f"{R.TYPE_NAMES[kind]}：{R.REASONS[reason]}")
            self._push(case, R.TAG_CREATED, {"apply_time": at}, at)
            return self._case_view(case)

    def _claimed_lines(self, order: dict, raw_items: Any) -> list[dict]:
        by_id = {i["sku_order_id"]: i for i in order["items"]}
        if raw_items in (None, []):
            raw_items = [{"sku_order_id": i["sku_order_id"]} for i in order["items"]]
        if not isinstance(raw_items, list):
            raise ControlError("items: expected a list of {sku_order_id, quantity}")
        lines: list[dict] = []
        for raw in raw_items:
            if not isinstance(raw, dict):
                raise ControlError("items: expected a list of {sku_order_id, quantity}")
            sku_order_id = _c_str(raw, "sku_order_id")
            item = by_id.get(sku_order_id)
            if item is None:
                raise ControlError(f"sku_order_id {sku_order_id} is not in the order")
            if any(line["sku_order_id"] == sku_order_id for line in lines):
                raise ControlError(f"sku_order_id {sku_order_id} given twice")
            for case in self._cases_of_order(order["order_id"]):
                if case["status"] not in R.FINAL_STATUSES and any(
                    line["sku_order_id"] == sku_order_id for line in case["items"]
                ):
                    raise ControlError(
                        f"sku_order_id {sku_order_id} already has an open after-sale {case['id']}"
                    )
            quantity = _c_int(raw, "quantity", item["item_num"], minimum=1)
            if quantity > item["item_num"]:
                raise ControlError(f"quantity {quantity} above the {item['item_num']} bought")
            lines.append({"sku_order_id": sku_order_id, "quantity": quantity})
        return lines

    def _amounts(self, order: dict, kind: int, lines: list[dict], body: dict):
        """(goods, post, full): the refund asked for, in fen, never more than is left to refund."""
        by_id = {i["sku_order_id"]: i for i in order["items"]}
        whole_lines = all(
            line["quantity"] == by_id[line["sku_order_id"]]["item_num"] for line in lines
        )
        whole_order = whole_lines and len(lines) == len(order["items"])
        if kind not in R.REFUND_TYPES:
            if body.get("amount") or body.get("post_amount"):
                raise ControlError(f"type {kind} ({R.TYPE_NAMES[kind]}) carries no refund amount")
            return 0, 0, whole_lines
        cap = 0
        for line in lines:
            item = by_id[line["sku_order_id"]]
            share = item["pay_amount"] * line["quantity"] // item["item_num"]
            cap += min(share, item["pay_amount"] - item["refunded_amount"])
        goods = _c_int(body, "amount", cap)
        if goods > cap:
            raise ControlError(f"amount {goods} above the {cap} fen paid and not yet refunded")
        post_left = order["post_amount"] - order["post_refunded"]
        default_post = post_left if kind == R.REFUND_UNSHIPPED and whole_order else 0
        post = _c_int(body, "post_amount", default_post)
        if post > post_left:
            raise ControlError(f"post_amount {post} above the {post_left} fen shipping left")
        if goods + post <= 0:
            raise ControlError("nothing left to refund on these items")
        return goods, post, whole_lines and goods == cap

    def _case(self, aftersale_id: Any) -> dict:
        case = self.state["aftersales"].get(str(aftersale_id))
        if case is None:
            raise ControlError(f"no after-sale {aftersale_id}", 404)
        return case

    def modify(self, aftersale_id: str, body: dict) -> dict:
        """The buyer edits the application (tag 208); after a first rejection it re-opens at 6."""
        with self._mutation():
            case = self._case(aftersale_id)
            if case["status"] not in (R.AWAITING_MERCHANT, R.FIRST_REJECTED):
                raise ControlError("the buyer can modify only at status 6 or 27")
            if case["arbitrate"]["status"] in R.ARB_OPEN:
                raise ControlError("the platform is handling this after-sale")
            order = self.state["orders"][case["order_id"]]
            if "reason_code" in body:
                reason = _c_int(body, "reason_code")
                if reason not in R.REASONS:
                    raise ControlError(f"reason_code: one of {sorted(R.REASONS)}")
                case["reason_code"] = reason
            if "amount" in body or "post_amount" in body:
                merged_body = {
                    "amount": body.get("amount", case["refund_goods"]),
                    "post_amount": body.get("post_amount", case["refund_post"]),
                }
                goods, post, full = self._amounts(order, case["type"], case["items"], merged_body)
                case["refund_goods"], case["refund_post"] = goods, post
                case["part_type"] = 0 if full else 1
            if "statement" in body:
                case["statement"] = _c_str(body, "statement", "")
            if "evidence" in body:
                case["evidence"] = _c_urls(body, "evidence", 9)
            at = self.wall()
            self._record(case, at, "买家", "修改申请", case["statement"])
            if case["status"] == R.FIRST_REJECTED:
                self._enter(case, R.AWAITING_MERCHANT, self.vnow())
            self._touch(case, at)
            self._push(case, R.TAG_MODIFIED, {"modify_time": at}, at)
            return self._case_view(case)

    def withdraw(self, aftersale_id: str, body: dict) -> dict:
        """The buyer withdraws (撤销申请): closed, tag 207."""
        with self._mutation():
            case = self._case(aftersale_id)
            allowed = {6, 7, 8, 27, 29}
            if case["status"] not in allowed:
                raise ControlError(f"cannot withdraw at status {case['status']}")
            if case["status"] == R.AWAITING_RETURN and case["return"]["status"]:
                raise ControlError("the return is on its way; it can no longer be withdrawn")
            at = self.wall()
            self._record(case, at, "买家", "撤销申请", _c_str(body, "comment", ""))
            self._close(case, at)
            return self._case_view(case)

    def ship_return(self, aftersale_id: str, body: dict) -> dict:
        """The buyer ships the goods back (tag 203); status stays 7 until the merchant signs."""
        company = _c_str(body, "company_code", limit=40)
        tracking = _c_str(body, "tracking_no", limit=40)
        with self._mutation():
            case = self._case(aftersale_id)
            if case["status"] != R.AWAITING_RETURN or case["return"]["status"]:
                raise ControlError("only an after-sale awaiting the return (7) can be shipped")
            at = self.wall()
            case["return"].update(
                company_code=company, tracking_no=tracking, status=R.PARCEL_SHIPPED, ship_time=at
            )
            self._new_step(case, self.vnow())
            self._record(case, at, "买家", "退货寄出", f"{company} {tracking}")
            self._touch(case, at)
            self._push(case, R.TAG_BUYER_RETURNED, {"return_time": at}, at)
            return self._case_view(case)

    def confirm_receipt(self, aftersale_id: str, body: dict) -> dict:
        """The buyer confirms receipt of the replacement / resent / repaired goods (tag 211)."""
        with self._mutation():
            case = self._case(aftersale_id)
            if case["status"] != R.AWAITING_BUYER_RECEIPT:
                raise ControlError("only an after-sale awaiting the buyer's receipt (13)")
            at = self.wall()
            self._record(case, at, "买家", "确认收货", "")
            self._goods_done(case, at)
            return self._case_view(case)

    def resend_ship(self, aftersale_id: str, body: dict) -> dict:
        """The merchant's warehouse ships the resend in the back-office (8 → 13, tag 226)."""
        with self._mutation():
            case = self._case(aftersale_id)
            if case["status"] != R.AWAITING_MERCHANT_SHIPMENT:
                raise ControlError("only an after-sale awaiting the merchant's shipment (8)")
            at = self.wall()
            self._ship_goods(
                case,
                _c_str(body, "company_code", "zhongtong", limit=40),
                _c_str(body, "tracking_no", f"ZT{self.rng.randint(10**11, 10**12 - 1)}", limit=40),
                at,
                self.vnow(),
            )
            self._record(case, at, "商家", "补寄发货", case["exchange"]["tracking_no"])
            self._push_resend_shipped(case, at)
            return self._case_view(case)

    # --- the platform's customer service (arbitration) -----------------------------------

    def arbitrate_apply(self, aftersale_id: str, body: dict) -> dict:
        with self._mutation():
            case = self._case(aftersale_id)
            if case["status"] not in (R.FIRST_REJECTED, R.SECOND_REJECTED):
                raise ControlError("the buyer can ask for intervention after a rejection (27, 29)")
            if case["arbitrate"]["status"] in R.ARB_OPEN:
                raise ControlError("intervention already in progress")
            at = self.wall()
            arb_id = str(ARBITRATE_ID_BASE + self._next("arb"))
            case["arbitrate"] = {
                "status": R.ARB_IN_PROGRESS,
                "id": arb_id,
                "conclusion": 0,
                "blame": 0,
                "deadline": self._evidence_deadline(),
            }
            self._record(case, at, "买家", "申请平台介入", _c_str(body, "statement", ""))
            self._touch(case, at)
            self._push_arb(case, R.TAG_ARB_APPLIED, at)
            return self._case_view(case)

    def arbitrate_request_evidence(self, aftersale_id: str, body: dict) -> dict:
        with self._mutation():
            case = self._open_arbitration(aftersale_id)
            at = self.wall()
            case["arbitrate"]["status"] = R.ARB_AWAITING_EVIDENCE
            case["arbitrate"]["deadline"] = self._evidence_deadline()
            self._record(case, at, "平台", "要求商家举证", _c_str(body, "comment", ""))
            self._touch(case, at)
            self._push_arb(case, R.TAG_ARB_EVIDENCE_REQUESTED, at)
            return self._case_view(case)

    def arbitrate_cancel(self, aftersale_id: str, body: dict) -> dict:
        with self._mutation():
            case = self._open_arbitration(aftersale_id)
            at = self.wall()
            case["arbitrate"]["status"] = R.ARB_ENDED
            self._record(case, at, "买家", "撤销平台介入", "")
            self._enter(case, case["status"], self.vnow())
            self._touch(case, at)
            self._push_arb(case, R.TAG_ARB_CANCELLED, at)
            return self._case_view(case)

    def arbitrate_rule(self, aftersale_id: str, body: dict) -> dict:
        """The platform rules: 1 for the buyer, 2 for the merchant, 3 for the buyer, refund now;
        `blame` names the party held responsible (1 merchant, 2 buyer, 3 both, 4 platform,
        5 influencer); `refund_amount` (fen, for the buyer) makes it a partial ruling: the
        goods refund is cut to that amount."""
        conclusion = _c_int(body, "conclusion")
        if conclusion not in (1, 2, 3):
            raise ControlError("conclusion: 1 (for buyer), 2 (for merchant), 3 (refund now)")
        blame = _c_int(body, "blame", 2 if conclusion == 2 else 1)
        if blame not in (1, 2, 3, 4, 5):
            raise ControlError("blame: 1 merchant, 2 buyer, 3 both, 4 platform, 5 influencer")
        partial = _c_int(body, "refund_amount", 0)
        with self._mutation():
            case = self._open_arbitration(aftersale_id)
            at, vt = self.wall(), self.vnow()
            arb = case["arbitrate"]
            arb["status"] = R.ARB_FOR_MERCHANT if conclusion == 2 else R.ARB_FOR_BUYER
            arb["conclusion"] = conclusion
            arb["blame"] = blame
            arb["deadline"] = 0
            if partial and conclusion != 2:
                if partial > case["refund_goods"]:
                    raise ControlError("refund_amount: more than the goods refund applied for")
                case["refund_goods"] = partial
                case["part_type"] = 1
            text = {1: "支持买家", 2: "支持商家", 3: "支持买家，立即退款"}[conclusion]
            self._record(case, at, "平台", "客服判定", text + " " + _c_str(body, "comment", ""))
            self._touch(case, at)
            self._push_arb(case, R.TAG_ARB_AUDITED, at, {"arbitrate_conclusion": conclusion})
            if conclusion == R.CONCLUSION_FOR_MERCHANT:
                self._close(case, at)
            elif conclusion == R.CONCLUSION_FOR_BUYER_REFUND_NOW or case["status"] == 29:
                self._agree_refund(case, at, vt, "平台")
            else:
                self._forward(case, at, vt, "平台")
            return self._case_view(case)

    def _evidence_deadline(self) -> int:
        """The wall-clock time by which the merchant's evidence is due."""
        return self.wall() + int(float(self.config.get("evidence_hours", 48.0)) * 3600)

    def _open_arbitration(self, aftersale_id: str) -> dict:
        case = self._case(aftersale_id)
        if case["arbitrate"]["status"] not in R.ARB_OPEN:
            raise ControlError("no platform intervention in progress")
        return case

    def _push_arb(self, case: dict, tag: str, at: int, extra: dict | None = None) -> None:
        arb = case["arbitrate"]
        data = {"arbitrate_id": arb["id"], "arbitrate_status": arb["status"]}
        self._push(case, tag, data | (extra or {}), at)

    # --- the state machine --------------------------------------------------------------

    def _step_key(self, case: dict) -> str:
        if case["status"] == R.AWAITING_RETURN and case["return"]["status"]:
            return "7s"
        return str(case["status"])

    def _new_step(self, case: dict, vt: float) -> None:
        case["step"] += 1
        hours = self.config["deadline_hours"].get(self._step_key(case))
        case["deadline_v"] = vt + hours * 3600 if hours else 0.0

    def _enter(self, case: dict, status: int, vt: float) -> None:
        case["status"] = status
        if status in R.FINAL_STATUSES:
            case["step"] += 1
            case["deadline_v"] = 0.0
        else:
            self._new_step(case, vt)

    def _touch(self, case: dict, at: int) -> None:
        # Strictly increasing, so the update_time check of operate always sees a change.
        case["update_time"] = max(at, case["update_time"] + 1)

    def _record(self, case: dict, at: int, operator: str, action: str, text: str) -> None:
        case["records"].append({"time": at, "operator": operator, "action": action, "text": text})

    def _agree_return(self, case: dict, at: int, vt: float, address_id: str, actor: str) -> None:
        shop = self.state["shops"][case["shop_id"]]
        address = dict(shop["return_address"], address_id=str(address_id))
        case["return"]["address_id"] = str(address_id)
        case["agree_time"] = at
        self._enter(case, R.AWAITING_RETURN, vt)
        self._touch(case, at)
        self._record(case, at, actor, "同意退货", address["detail"])
        addr = json.dumps(address, ensure_ascii=False, separators=(",", ":"))
        self._push(case, R.TAG_RETURN_AGREED, {"agree_time": at, "addr": addr}, at)

    def _agree_refund(self, case: dict, at: int, vt: float, actor: str) -> None:
        if case["type"] not in R.REFUND_TYPES and case["refund_goods"] == 0:
            # An exchange or repair turned into a refund: the goods' paid amount.
            order = self.state["orders"][case["order_id"]]
            by_id = {i["sku_order_id"]: i for i in order["items"]}
            for line in case["items"]:
                item = by_id[line["sku_order_id"]]
                share = item["pay_amount"] * line["quantity"] // item["item_num"]
                case["refund_goods"] += min(share, item["pay_amount"] - item["refunded_amount"])
        if case["return"]["status"] == R.PARCEL_SHIPPED:
            case["return"].update(status=R.PARCEL_RECEIVED, receive_time=at)
        self._commit_refund(case)
        case["agree_time"] = at
        self._enter(case, R.SUCCEEDED, vt)
        case["refund_status"] = R.REFUNDING
        self._touch(case, at)
        self._record(
            case, at, actor, "同意退款", f"{case['refund_goods'] + case['refund_post']} 分"
        )
        self._push(case, R.TAG_REFUND_AGREED, {"agree_time": at}, at)
        delay = float(self.config["refund_delay"])
        case["refund_due_v"] = vt + delay
        if delay <= 0:
            self._complete_refund(case, at)

    def _commit_refund(self, case: dict) -> None:
        """Count the agreed refund against the items at once, so that no later application can
        ask for the same money while this refund is still 退款中."""
        order = self.state["orders"][case["order_id"]]
        by_id = {i["sku_order_id"]: i for i in order["items"]}
        left = case["refund_goods"]
        for index, line in enumerate(case["items"]):
            item = by_id[line["sku_order_id"]]
            room = item["pay_amount"] - item["refunded_amount"]
            if index == len(case["items"]) - 1:
                part = left
            else:
                share = item["pay_amount"] * line["quantity"] // item["item_num"]
                part = min(share, left)
            part = min(part, room)
            item["refunded_amount"] += part
            left -= part
        order["post_refunded"] += case["refund_post"]

    def _complete_refund(self, case: dict, at: int) -> None:
        order = self.state["orders"][case["order_id"]]
        if (
            all(i["refunded_amount"] >= i["pay_amount"] for i in order["items"])
            and order["order_status"] == R.ORDER_PAID
        ):
            order["order_status"] = R.ORDER_CANCELLED
        case["refund_status"] = R.REFUNDED
        case["refund_time"] = at
        case["refund_due_v"] = 0.0
        self._touch(case, at)
        self._record(
            case, at, "平台", "退款成功", f"{case['refund_goods'] + case['refund_post']} 分"
        )
        self._push(case, R.TAG_REFUND_SUCCESS, {"success_time": at}, at)

    def _reject(self, case: dict, op: R.Operation, at: int, vt: float, detail: str) -> None:
        self._enter(case, op.to, vt)
        self._touch(case, at)
        self._record(case, at, "商家", op.name, detail)
        self._push(case, op.tag, {"refuse_time": at}, at)

    def _ship_goods(self, case: dict, company: str, tracking: str, at: int, vt: float) -> None:
        if case["return"]["status"] == R.PARCEL_SHIPPED:
            case["return"].update(status=R.PARCEL_RECEIVED, receive_time=at)
        case["exchange"].update(
            company_code=company, tracking_no=tracking, status=R.PARCEL_SHIPPED, ship_time=at
        )
        self._enter(case, R.AWAITING_BUYER_RECEIPT, vt)
        self._touch(case, at)

    def _push_resend_shipped(self, case: dict, at: int) -> None:
        parcel = case["exchange"]
        data = {
            "company_code": parcel["company_code"],
            "tracking_no": parcel["tracking_no"],
            "status_deadline": self._deadline_out(case),
        }
        self._push(case, R.TAG_RESEND_SHIPPED, data, at)

    def _goods_done(self, case: dict, at: int) -> None:
        case["exchange"]["status"] = R.PARCEL_RECEIVED
        self._enter(case, R.GOODS_SUCCEEDED, 0.0)
        self._touch(case, at)
        self._push(case, R.TAG_EXCHANGE_CONFIRMED, {"confirm_time": at}, at)

    def _received(self, case: dict, at: int, vt: float) -> None:
        case["return"].update(status=R.PARCEL_RECEIVED, receive_time=at)
        self._enter(case, R.AWAITING_SECOND_REVIEW, vt)
        self._touch(case, at)
        self._push(case, R.TAG_DEADLINE, {"status_deadline": self._deadline_out(case)}, at)

    def _close(self, case: dict, at: int) -> None:
        if case["refund_status"] == R.REFUND_PENDING:
            case["refund_status"] = R.REFUND_NONE
        case["close_time"] = at
        self._enter(case, R.CLOSED, 0.0)
        self._touch(case, at)
        self._push(case, R.TAG_CLOSED, {"close_time": at}, at)

    def _forward(self, case: dict, at: int, vt: float, actor: str) -> None:
        """The step's move forward, made by the platform (a timeout, or a ruling for the buyer)."""
        status, kind = case["status"], case["type"]
        if status in (R.AWAITING_MERCHANT, R.FIRST_REJECTED):
            if kind in (R.RETURN_REFUND, R.EXCHANGE, R.REPAIR):
                address = self.state["shops"][case["shop_id"]]["return_address"]["address_id"]
                self._agree_return(case, at, vt, address, actor)
            elif kind == R.RESEND:
                case["agree_time"] = at
                self._enter(case, R.AWAITING_MERCHANT_SHIPMENT, vt)
                self._touch(case, at)
                self._record(case, at, actor, "同意补寄", "")
                self._push(case, R.TAG_REFUND_AGREED, {"agree_time": at}, at)
            else:
                self._agree_refund(case, at, vt, actor)
        elif status == R.AWAITING_RETURN:
            if case["return"]["status"] and kind == R.RETURN_REFUND:
                self._agree_refund(case, at, vt, actor)
            else:
                self._record(case, at, actor, "视为已收到退货", "")
                self._received(case, at, vt)
        elif status in (R.AWAITING_SECOND_REVIEW, R.SECOND_REJECTED):
            self._agree_refund(case, at, vt, actor)
        elif status == R.AWAITING_MERCHANT_SHIPMENT:
            self._ship_goods(case, "platform", "", at, vt)
            self._record(case, at, actor, "视为已发货", "")
            self._push_resend_shipped(case, at)
        elif status == R.AWAITING_BUYER_RECEIPT:
            self._record(case, at, actor, "自动确认收货", "")
            self._goods_done(case, at)

    # --- timers -------------------------------------------------------------------------

    def _next_due(self, until_v: float) -> tuple[float, str, dict] | None:
        best: tuple[float, str, dict] | None = None
        for case in self.state["aftersales"].values():
            if (
                case["refund_status"] == R.REFUNDING
                and case["refund_due_v"] <= until_v
                and (best is None or case["refund_due_v"] < best[0])
            ):
                best = (case["refund_due_v"], "refund", case)
            if (
                case["deadline_v"]
                and case["deadline_v"] <= until_v
                and case["status"] not in R.FINAL_STATUSES
                and case["arbitrate"]["status"] not in R.ARB_OPEN
                and case["timeout_done"] != case["step"]
                and (best is None or case["deadline_v"] < best[0])
            ):
                best = (case["deadline_v"], "timeout", case)
        return best

    def sweep(self) -> list[dict]:
        """Run every timeout and refund that is due, earliest first (at its own simulated time)."""
        fired: list[dict] = []
        with self.lock:
            until_v = self.vnow()
            for _ in range(100_000):
                due = self._next_due(until_v)
                if due is None:
                    break
                when_v, what, case = due
                at = self.wall()
                if what == "refund":
                    self._complete_refund(case, at)
                    fired.append({"aftersale_id": case["id"], "event": "refund_success"})
                    continue
                key = self._step_key(case)
                action = self.config["timeout_actions"].get(key, "none")
                before = case["status"]
                case["timeout_done"] = case["step"]
                if action == "close":
                    self._record(case, at, "系统", "超时关闭", f"状态 {before} 超时")
                    self._close(case, at)
                elif action == "agree":
                    self._forward(case, at, when_v, "系统")
                fired.append(
                    {
                        "aftersale_id": case["id"],
                        "event": f"timeout:{key}:{action}",
                        "from": before,
                        "to": case["status"],
                    }
                )
            if fired:
                self._save()
                self.cond.notify_all()
        return fired

    def advance(self, seconds: float) -> dict:
        if seconds < 0:
            raise ControlError("seconds: the clock only moves forward")
        with self.lock:
            self.state["offset"] += float(seconds)
            fired = self.sweep()
            self._save()
            return {"offset": self.state["offset"], "fired": fired}

    def clock(self) -> dict:
        with self.lock:
            return {"wall": time.time(), "offset": self.state["offset"], "simulated": self.vnow()}

    # --- pushes -------------------------------------------------------------------------

    def _push(self, case: dict, tag: str, extra: dict, at: int) -> None:
        order = self.state["orders"][case["order_id"]]
        data = {
            "aftersale_id": int(case["id"]),
            "aftersale_status": case["status"],
            "aftersale_type": case["type"],
            "p_id": int(order["order_id"]),
            "s_id": int(case["items"][0]["sku_order_id"]),
            "shop_id": int(case["shop_id"]),
            "refund_amount": case["refund_goods"] + case["refund_post"],
            "refund_post_amount": case["refund_post"],
            "reason_code": case["reason_code"],
            "update_time": rfc3339(case["update_time"]),
        }
        data.update(extra)
        msg_id = f"{7_200_000_000_000_000_000 + self._next('msg')}"
        sw = self.switches
        now = time.time()
        for copy_no in range(sw["push_duplicate"]):
            self.state["pushes"].append(
                {
                    "id": self._next("push"),
                    "msg_id": msg_id,
                    "tag": tag,
                    "shop_id": case["shop_id"],
                    "aftersale_id": case["id"],
                    "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    "copy": copy_no + 1,
                    "created": now,
                    "next_at": now + sw["push_delay"],
                    "attempts": 0,
                    "status": "pending",
                    "last_error": "",
                    "delivered_at": 0.0,
                }
            )

    def take_pushes(self, now: float) -> tuple[list[dict], float | None]:
        """Deliveries to make now, grouped in POSTs, or how long to wait (None: until notified).

        Each POST: {"url", "app_key", "app_secret", "entries"}; the entries are marked in flight.
        """
        sw = self.switches
        if sw["push_paused"]:
            return [], None
        shops = self.state["shops"]
        pending = [
            e
            for e in self.state["pushes"]
            if e["status"] == "pending"
            and not e.get("inflight")
            and shops.get(e["shop_id"], {}).get("push_url")
        ]
        due = [e for e in pending if e["next_at"] <= now]
        if not due:
            return [], (min(e["next_at"] for e in pending) - now) if pending else None
        shop = shops[due[0]["shop_id"]]
        group = [e for e in due if e["shop_id"] == shop["shop_id"]]
        window = sw["push_reorder_window"]
        if window > 1:
            waited = now - max(group[0]["next_at"], group[0]["created"])
            if len(group) < window and waited < sw["push_reorder_hold"]:
                return [], sw["push_reorder_hold"] - waited
            chosen = group[:window]
            self.rng.shuffle(chosen)
        else:
            chosen = group[: sw["push_batch_size"]]
        size = sw["push_batch_size"]
        for entry in chosen:
            entry["inflight"] = True
        app_secret = self.state["apps"][shop["app_key"]]["app_secret"]
        posts = [
            {
                "url": shop["push_url"],
                "app_key": shop["app_key"],
                "app_secret": app_secret,
                "entries": chosen[i : i + size],
            }
            for i in range(0, len(chosen), size)
        ]
        return posts, 0.0

    def finish_pushes(self, entries: list[dict], ok: bool, error: str = "") -> None:
        with self._mutation():
            now = time.time()
            sw = self.switches
            for entry in entries:
                entry.pop("inflight", None)
                entry["attempts"] += 1
                if ok:
                    entry["status"] = "delivered"
                    entry["delivered_at"] = now
                    entry["last_error"] = ""
                    continue
                entry["last_error"] = error
                if entry["attempts"] >= sw["push_max_attempts"]:
                    entry["status"] = "dead"
                else:
                    backoff = sw["push_retry_base"] * 2 ** (entry["attempts"] - 1)
                    entry["next_at"] = now + min(sw["push_retry_max"], backoff)
            finished = [e for e in self.state["pushes"] if e["status"] == "delivered"]
            if len(finished) > KEEP_FINISHED_PUSHES:
                drop = {id(e) for e in finished[: len(finished) - KEEP_FINISHED_PUSHES]}
                self.state["pushes"] = [e for e in self.state["pushes"] if id(e) not in drop]

    def pushes(self, filters: dict) -> list[dict]:
        with self.lock:
            out = []
            for entry in self.state["pushes"]:
                if any(
                    str(entry.get(k)) != str(v)
                    for k, v in filters.items()
                    if k in ("status", "tag", "aftersale_id", "shop_id", "msg_id") and v
                ):
                    continue
                view = {k: v for k, v in entry.items() if k != "inflight"}
                view["data"] = json.loads(entry["data"])
                out.append(view)
            return out

    def retry_dead_pushes(self) -> int:
        with self._mutation():
            count = 0
            for entry in self.state["pushes"]:
                if entry["status"] == "dead":
                    entry.update(status="pending", attempts=0, next_at=time.time())
                    count += 1
            return count

    # --- records ------------------------------------------------------------------------

    def record_operation(self, entry: dict) -> None:
        with self._mutation():
            entry["seq"] = self._next("op")
            self.state["operations"].append(entry)
            if len(self.state["operations"]) > KEEP_OPERATIONS:
                del self.state["operations"][:-KEEP_OPERATIONS]

    def operations(self, filters: dict) -> list[dict]:
        with self.lock:
            out = []
            for op in self.state["operations"]:
                if filters.get("shop_id") and op["shop_id"] != str(filters["shop_id"]):
                    continue
                if filters.get("method") and op["method"] != filters["method"]:
                    continue
                if (
                    filters.get("aftersale_id")
                    and str(filters["aftersale_id"]) not in op["aftersale_ids"]
                ):
                    continue
                if filters.get("ok") in ("1", "true") and op["code"] != 10000:
                    continue
                out.append(copy.deepcopy(op))
            return out

    def messages(self, filters: dict) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(m)
                for m in self.state["messages"]
                if all(
                    str(m.get(k) or "") == str(v)
                    for k, v in filters.items()
                    if k in ("shop_id", "order_id", "aftersale_id") and v
                )
            ]

    # --- views --------------------------------------------------------------------------

    def _detail(self, case: dict, with_records: bool = False) -> dict:
        order = self.state["orders"][case["order_id"]]
        by_id = {i["sku_order_id"]: i for i in order["items"]}
        arb = case["arbitrate"]
        ret, exch = case["return"], case["exchange"]
        process = {
            "after_sale_info": {
                "after_sale_id": int(case["id"]),
                "after_sale_status": case["status"],
                "after_sale_status_desc": R.STATUS_NAMES[case["status"]],
                "after_sale_type": case["type"],
                "refund_status": case["refund_status"],
                "refund_amount": case["refund_goods"] + case["refund_post"],
                "refund_post_amount": case["refund_post"],
                "reason_code": case["reason_code"],
                "reason_text": R.REASONS[case["reason_code"]],
                "apply_time": case["apply_time"],
                "update_time": case["update_time"],
                "status_deadline": self._deadline_out(case),
                "buyer_statement": case["statement"],
                "evidence": list(case["evidence"]),
                "part_type": case["part_type"],
                "agree_time": case["agree_time"],
                "refund_time": case["refund_time"],
                "close_time": case["close_time"],
            },
            "arbitrate_info": {
                "arbitrate_status": arb["status"],
                "arbitrate_id": arb["id"],
                "arbitrate_conclusion": arb["conclusion"],
                "arbitrate_blame": arb.get("blame", 0),
                "is_required_evidence": arb["status"] == R.ARB_AWAITING_EVIDENCE,
                "arbitrate_status_deadline": arb.get("deadline", 0),
            },
            "logistics_info": {
                "return": {
                    "company_code": ret["company_code"],
                    "tracking_no": ret["tracking_no"],
                    "status": ret["status"],
                },
                "exchange": {
                    "company_code": exch["company_code"],
                    "tracking_no": exch["tracking_no"],
                    "status": exch["status"],
                },
            },
            "after_sale_shop_remarks": copy.deepcopy(case["remarks"]),
        }
        if with_records:
            process["record_logs_list"] = copy.deepcopy(case["records"])
        sku_infos = []
        for line in case["items"]:
            item = by_id[line["sku_order_id"]]
            sku_infos.append(
                {
                    "sku_order_id": item["sku_order_id"],
                    "product_id": item["product_id"],
                    "product_name": item["product_name"],
                    "sku_id": item["sku_id"],
                    "sku_spec": item["sku_spec"],
                    "item_num": item["item_num"],
                    "origin_amount": item["origin_amount"],
                    "pay_amount": item["pay_amount"],
                    "aftersale_item_num": line["quantity"],
                }
            )
        return {
            "process_info": process,
            "order_info": {
                "order_id": order["order_id"],
                "shop_id": int(order["shop_id"]),
                "order_status": order["order_status"],
                "sku_order_infos": sku_infos,
            },
        }

    def _summary(self, case: dict) -> dict:
        return {
            "aftersale_id": case["id"],
            "shop_id": case["shop_id"],
            "order_id": case["order_id"],
            "type": case["type"],
            "status": case["status"],
            "status_name": R.STATUS_NAMES[case["status"]],
            "refund_status": case["refund_status"],
            "refund_amount": case["refund_goods"] + case["refund_post"],
            "arbitrate_status": case["arbitrate"]["status"],
            "return_status": case["return"]["status"],
            "update_time": case["update_time"],
            "status_deadline": self._deadline_out(case),
        }

    def _case_view(self, case: dict) -> dict:
        return self._summary(case) | {"detail": self._detail(case, with_records=True)}

    def case_view(self, aftersale_id: str) -> dict:
        with self.lock:
            return self._case_view(self._case(aftersale_id))

    def list_cases(self, filters: dict) -> list[dict]:
        with self.lock:
            out = []
            for case in self.state["aftersales"].values():
                if filters.get("shop_id") and case["shop_id"] != str(filters["shop_id"]):
                    continue
                if filters.get("order_id") and case["order_id"] != str(filters["order_id"]):
                    continue
                if filters.get("status") and str(case["status"]) not in str(
                    filters["status"]
                ).split(","):
                    continue
                if filters.get("open") in ("1", "true") and case["status"] in R.FINAL_STATUSES:
                    continue
                out.append(self._summary(case))
            return out

    # --- the open API ---------------------------------------------------------------------

    def _case_for_shop(self, shop_id: str, aftersale_id: str) -> dict | None:
        case = self.state["aftersales"].get(aftersale_id)
        return case if case is not None and case["shop_id"] == shop_id else None

    def _require_case(self, shop_id: str, params: dict, name: str) -> dict:
        aftersale_id = _as_id(params.get(name), name)
        case = self._case_for_shop(shop_id, aftersale_id)
        if case is None:
            raise invalid_aftersale(aftersale_id)
        return case

    def api_list(self, shop_id: str, params: dict) -> dict:
        page = _as_int(params, "page", 0, minimum=0)
        size = _as_int(params, "size", 10, minimum=1)
        if size > 100:
            raise parameter_invalid("size: 不能超过 100")
        filters = []
        if params.get("order_id") not in (None, ""):
            order_id = _as_id(params["order_id"], "order_id")
            filters.append(lambda c: c["order_id"] == order_id)
        if params.get("aftersale_id") not in (None, ""):
            aftersale_id = _as_id(params["aftersale_id"], "aftersale_id")
            filters.append(lambda c: c["id"] == aftersale_id)
        if params.get("aftersale_type") is not None:
            kind = _as_int(params, "aftersale_type")
            filters.append(lambda c: c["type"] == kind)
        if params.get("reason") is not None:
            reason = _as_int(params, "reason")
            filters.append(lambda c: c["reason_code"] == reason)
        for name, key in (
            ("standard_aftersale_status", lambda c: c["status"]),
            ("arbitrate_status", lambda c: c["arbitrate"]["status"]),
        ):
            values = params.get(name)
            if values is None:
                continue
            if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values
            ):
                raise parameter_invalid(f"{name}: 应为整数数组")
            wanted = set(values)
            filters.append(lambda c, key=key, wanted=wanted: key(c) in wanted)
        for name, field, bound in (
            ("start_time", "apply_time", ">="),
            ("end_time", "apply_time", "<="),
            ("update_start_time", "update_time", ">="),
            ("update_end_time", "update_time", "<="),
        ):
            if params.get(name) is None:
                continue
            value = _as_int(params, name, minimum=0)
            if bound == ">=":
                filters.append(lambda c, f=field, v=value: c[f] >= v)
            else:
                filters.append(lambda c, f=field, v=value: c[f] <= v)
        order_by = params.get("order_by") or ["apply_time desc"]
        if not isinstance(order_by, list) or not all(isinstance(o, str) for o in order_by):
            raise parameter_invalid('order_by: 应为字符串数组，如 ["update_time asc"]')
        sorts = []
        for clause in order_by:
            parts = clause.split()
            if (
                len(parts) != 2
                or parts[0] not in ("update_time", "apply_time", "status_deadline")
                or parts[1] not in ("asc", "desc")
            ):
                raise parameter_invalid(f"order_by: 不支持 {clause!r}")
            sorts.append((parts[0], parts[1] == "desc"))
        with self.lock:
            rows = [
                c
                for c in self.state["aftersales"].values()
                if c["shop_id"] == shop_id and all(f(c) for f in filters)
            ]
            # Ties (same second) break by id, in the same direction as the first sort key.
            rows.sort(key=lambda c: int(c["id"]), reverse=sorts[0][1])
            for field, desc in reversed(sorts):
                if field == "status_deadline":
                    rows.sort(key=self._deadline_out, reverse=desc)
                else:
                    rows.sort(key=lambda c, f=field: c[f], reverse=desc)
            total = len(rows)
            chosen = rows[page * size : (page + 1) * size]
            return {
                "items": [self._detail(c) for c in chosen],
                "has_more": (page + 1) * size < total,
                "total": total,
                "page": page,
                "size": size,
            }

    def api_detail(self, shop_id: str, params: dict) -> dict:
        with self.lock:
            case = self._require_case(shop_id, params, "after_sale_id")
            return self._detail(case, with_records=bool(params.get("need_operation_record")))

    def api_reject_reasons(self, shop_id: str, params: dict) -> dict:
        with self.lock:
            case = self._require_case(shop_id, params, "aftersale_id")
            return {
                "items": [
                    {
                        "reject_reason_code": r.code,
                        "reason": r.reason,
                        "evidence_need": "Y" if r.evidence_need else "N",
                        "evidence_description": r.evidence_description,
                        "image": "",
                    }
                    for r in R.reject_reasons_for(case["status"])
                ]
            }

    def api_operate(self, shop_id: str, params: dict) -> dict:
        code = _as_int(params, "type")
        op = R.OPERATIONS.get(code)
        if op is None:
            raise parameter_invalid(f"type: 不支持的操作类型 {code}")
        items = params.get("items")
        if not isinstance(items, list) or not items:
            raise parameter_invalid("items: 必填，至少一个售后单")
        if len(items) > 20:
            raise parameter_invalid(f"items: 一次最多 20 个售后单，收到 {len(items)} 个")
        parsed = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise parameter_invalid(f"items[{index}]: 应为对象")
            aftersale_id = _as_id(item.get("aftersale_id"), f"items[{index}].aftersale_id")
            if any(p["id"] == aftersale_id for p in parsed):
                raise parameter_invalid(f"items: 售后单 {aftersale_id} 重复")
            logistics = item.get("logistics") or {}
            if not isinstance(logistics, dict):
                raise parameter_invalid(f"items[{index}].logistics: 应为对象")
            evidence = item.get("evidence") or []
            if not isinstance(evidence, list) or not all(
                isinstance(e, dict) and isinstance(e.get("url"), str) and e["url"] for e in evidence
            ):
                raise parameter_invalid(f"items[{index}].evidence: 应为 [{{type,url,desc}}]")
            entry = {
                "index": index,
                "id": aftersale_id,
                "item": item,
                "logistics": logistics,
                "evidence": evidence,
                "update_time": _as_int(item, "update_time", None),
                "reject_code": _as_int(item, "reject_reason_code", None),
            }
            if (
                op.kind == "agree_return"
                and code == 101
                and not logistics.get("receiver_address_id")
            ):
                raise parameter_invalid(f"items[{index}].logistics.receiver_address_id: 必填")
            if op.kind == "reship":
                for name in ("company_code", "logistics_code"):
                    if not logistics.get(name):
                        raise parameter_invalid(f"items[{index}].logistics.{name}: 必填")
            if op.kind == "reject":
                if entry["reject_code"] is None:
                    raise parameter_invalid(f"items[{index}].reject_reason_code: 拒绝时必填")
                reason = R.REJECT_REASON_BY_CODE.get(entry["reject_code"])
                if reason is None:
                    raise parameter_invalid(
                        f"items[{index}].reject_reason_code: 无效的拒绝原因 {entry['reject_code']}"
                    )
                if reason.evidence_need and not evidence:
                    raise parameter_invalid(
                        f"items[{index}].evidence: "
                        f"拒绝原因 {reason.code}（{reason.reason}）需要上传凭证"
                    )
            parsed.append(entry)

        def failure(entry: dict, status_code: int, message: str) -> dict:
            return {
                "items": [
                    {
                        "aftersale_id": int(entry["id"]),
                        "status_code": status_code,
                        "status_msg": message,
                    }
                ]
            }

        with self._mutation():
            cases = []
            for entry in parsed:
                case = self._case_for_shop(shop_id, entry["id"])
                if case is None:
                    raise invalid_aftersale(entry["id"], failure(entry, 10000, "售后单不存在"))
                cases.append(case)
            for entry, case in zip(parsed, cases, strict=True):
                if case["type"] not in op.types:
                    kind = R.TYPE_NAMES[case["type"]]
                    message = f"操作 {code}（{op.name}）不适用于{kind}售后单 {case['id']}"
                    raise wrong_status(message, failure(entry, 20309541, message))
                if case["status"] not in op.statuses:
                    message = (
                        f"售后单 {case['id']} 当前状态 {case['status']}"
                        f"（{R.STATUS_NAMES[case['status']]}）不能执行 {code}（{op.name}）"
                    )
                    raise wrong_status(message, failure(entry, 20309541, message))
                if case["arbitrate"]["status"] in R.ARB_OPEN:
                    message = f"售后单 {case['id']} 平台客服介入中，请在抖店后台处理"
                    raise manual_only(message, failure(entry, 11001, message))
                if op.kind == "reject":
                    offered = {r.code for r in R.reject_reasons_for(case["status"])}
                    if entry["reject_code"] not in offered:
                        raise parameter_invalid(
                            f"items[{entry['index']}].reject_reason_code: "
                            f"{entry['reject_code']} 不适用于当前阶段，"
                            "请先调用 afterSale/rejectReasonCodeList"
                        )
                if entry["update_time"] is not None and entry["update_time"] != case["update_time"]:
                    message = (
                        f"售后单 {case['id']} 已被更新（update_time {case['update_time']}，"
                        f"请求为 {entry['update_time']}），请刷新后重试"
                    )
                    raise wrong_status(message, failure(entry, 20309541, message))
            at, vt = self.wall(), self.vnow()
            results = []
            for entry, case in zip(parsed, cases, strict=True):
                self._apply_operation(case, op, entry, at, vt)
                results.append(
                    {"aftersale_id": int(case["id"]), "status_code": 0, "status_msg": "success"}
                )
            return {"items": results}

    def _apply_operation(self, case: dict, op: R.Operation, entry: dict, at: int, vt: float):
        item, logistics = entry["item"], entry["logistics"]
        note = str(item.get("remark") or item.get("reason") or "")
        if op.kind == "agree_return":
            address = (
                logistics.get("receiver_address_id")
                or self.state["shops"][case["shop_id"]]["return_address"]["address_id"]
            )
            self._agree_return(case, at, vt, str(address), "商家")
        elif op.kind == "refund":
            self._agree_refund(case, at, vt, "商家")
        elif op.kind == "reject":
            reason = R.REJECT_REASON_BY_CODE[entry["reject_code"]]
            case["merchant_evidence"].extend(e["url"] for e in entry["evidence"])
            self._reject(case, op, at, vt, f"{reason.reason} {note}".strip())
        elif op.kind == "reship":
            self._ship_goods(
                case, str(logistics["company_code"]), str(logistics["logistics_code"]), at, vt
            )
            self._record(case, at, "商家", op.name, str(logistics["logistics_code"]))
            self._push(case, op.tag, {"agree_time": at}, at)
        elif op.kind == "agree":
            case["agree_time"] = at
            self._enter(case, op.to, vt)
            self._touch(case, at)
            self._record(case, at, "商家", op.name, note)
            self._push(case, op.tag, {"agree_time": at}, at)

    def api_submit_evidence(self, shop_id: str, params: dict) -> dict:
        evidence = params.get("evidence")
        if not isinstance(evidence, list) or not evidence:
            raise parameter_invalid("evidence: 必填，图片 url 数组")
        if len(evidence) > 4 or not all(isinstance(u, str) and u for u in evidence):
            raise parameter_invalid("evidence: 最多 4 个 url")
        comment = _as_str(params, "comment", required=False, limit=500)
        with self._mutation():
            case = self._require_case(shop_id, params, "aftersale_id")
            at = self.wall()
            case["merchant_evidence"].extend(evidence)
            self._record(case, at, "商家", "上传凭证", comment)
            arb = case["arbitrate"]
            if arb["status"] in R.ARB_OPEN:
                arb["status"] = R.ARB_IN_PROGRESS
                self._touch(case, at)
                self._push_arb(case, R.TAG_ARB_EVIDENCE_SUBMITTED, at)
            return {}

    def api_return_received(self, shop_id: str, params: dict) -> dict:
        tracking = _as_str(params, "tracking_no", limit=40)
        _as_str(params, "logistics_company_code", limit=40)
        _as_int(params, "op_time", None, minimum=0)
        with self._mutation():
            case = self._require_case(shop_id, params, "aftersale_id")
            if case["type"] not in R.GOODS_BACK_TYPES:
                raise wrong_status(f"{R.TYPE_NAMES[case['type']]}售后单没有退货")
            if case["status"] != R.AWAITING_RETURN:
                raise wrong_status(
                    f"当前状态 {case['status']}（{R.STATUS_NAMES[case['status']]}），应为 7"
                )
            if case["arbitrate"]["status"] in R.ARB_OPEN:
                raise manual_only("平台客服介入中，请在抖店后台处理")
            at = self.wall()
            self._record(case, at, "商家", "确认退货入库", tracking)
            self._received(case, at, self.vnow())
            return {}

    def api_time_extend(self, shop_id: str, params: dict) -> dict:
        with self._mutation():
            case = self._require_case(shop_id, params, "aftersale_id")
            if case["status"] in R.FINAL_STATUSES or not case["deadline_v"]:
                raise wrong_status(f"当前状态 {case['status']} 没有可延长的时效")
            if case["extended_step"] == case["step"]:
                raise wrong_status("本阶段已延长过一次时效")
            at = self.wall()
            case["deadline_v"] += R.EXTEND_HOURS * 3600
            case["extended_step"] = case["step"]
            self._record(case, at, "商家", "延长时效", f"+{R.EXTEND_HOURS} 小时")
            self._touch(case, at)
            self._push(case, R.TAG_DEADLINE, {"status_deadline": self._deadline_out(case)}, at)
            return {}

    def api_add_remark(self, shop_id: str, params: dict) -> dict:
        remark = _as_str(params, "remark", limit=500)
        with self._mutation():
            at = self.wall()
            if params.get("aftersale_id") not in (None, ""):
                case = self._require_case(shop_id, params, "aftersale_id")
                case["remarks"].append(
                    {
                        "order_id": case["order_id"],
                        "after_sale_id": int(case["id"]),
                        "remark": remark,
                        "create_time": at,
                    }
                )
                return {}
            if params.get("order_id") in (None, ""):
                raise parameter_invalid("aftersale_id 与 order_id 至少传一个")
            order = self.state["orders"].get(_as_id(params["order_id"], "order_id"))
            if order is None or order["shop_id"] != shop_id:
                raise parameter_invalid(f"order_id: 订单 {params['order_id']} 不存在")
            order["remarks"].append({"remark": remark, "create_time": at})
            return {}

    def api_intercept(self, shop_id: str, params: dict) -> dict:
        targets = params.get("intercept_targets")
        if not isinstance(targets, list) or not targets:
            raise parameter_invalid("intercept_targets: 必填")
        for index, target in enumerate(targets):
            if not isinstance(target, dict) or not target.get("tracking_no"):
                raise parameter_invalid(f"intercept_targets[{index}].tracking_no: 必填")
        _as_int(params, "op_from", 1)
        with self._mutation():
            case = self._require_case(shop_id, params, "after_sale_id")
            order = self.state["orders"][case["order_id"]]
            at = self.wall()
            results = []
            for target in targets:
                tracking = str(target["tracking_no"])
                parcel = next((p for p in order["logistics"] if p["tracking_no"] == tracking), None)
                if parcel is None:
                    result = (False, "运单号不属于该订单")
                elif parcel["sign_time"]:
                    result = (False, "包裹已签收，无法拦截")
                elif parcel["intercepted"]:
                    result = (True, "已拦截")
                elif self.rng.random() < self.config["intercept_success_rate"]:
                    parcel["intercepted"] = True
                    result = (True, "")
                else:
                    result = (False, "快递公司拦截失败")
                results.append({"tracking_no": tracking, "success": result[0], "reason": result[1]})
                self._record(
                    case, at, "商家", "物流拦截", f"{tracking} {'成功' if result[0] else result[1]}"
                )
            ok = sum(1 for r in results if r["success"])
            return {
                "intercept_results": results,
                "success_count": ok,
                "failed_count": len(results) - ok,
            }

    def api_exchange_confirm(self, shop_id: str, params: dict) -> dict:
        is_reject = params.get("is_reject", False)
        if not isinstance(is_reject, bool):
            raise parameter_invalid("is_reject: 应为 true/false")
        comment = _as_str(params, "comment", required=is_reject, limit=500)
        if not is_reject:
            for name in ("logistics_code", "company_code"):
                _as_str(params, name, limit=40)
        with self._mutation():
            case = self._require_case(shop_id, params, "aftersale_id")
            if case["type"] != R.EXCHANGE:
                raise wrong_status("不是换货售后单")
            allowed = {11} if is_reject else {7, 11, 29}
            if case["status"] not in allowed:
                raise wrong_status(f"当前状态 {case['status']}（{R.STATUS_NAMES[case['status']]}）")
            if case["arbitrate"]["status"] in R.ARB_OPEN:
                raise manual_only("平台客服介入中，请在抖店后台处理")
            at, vt = self.wall(), self.vnow()
            if is_reject:
                self._reject(case, R.OPERATIONS[312], at, vt, comment)
            else:
                self._ship_goods(
                    case, str(params["company_code"]), str(params["logistics_code"]), at, vt
                )
                self._record(case, at, "商家", "确认换货并发货", str(params["logistics_code"]))
                self._push(case, R.TAG_REFUND_AGREED, {"agree_time": at}, at)
            return {}

    def api_order_detail(self, shop_id: str, params: dict) -> dict:
        order_id = _as_id(params.get("shop_order_id"), "shop_order_id")
        with self.lock:
            order = self.state["orders"].get(order_id)
            if order is None or order["shop_id"] != shop_id:
                raise parameter_invalid(f"shop_order_id: 订单 {order_id} 不存在")
            return {"shop_order_detail": self._order_view(order)}

    def api_send_message(self, shop_id: str, params: dict) -> dict:
        order_id = _as_id(params.get("order_id"), "order_id")
        content = _as_str(params, "content", limit=1000)
        # [ours] A sender's key: the same key from the same shop is the same message, sent once
        # (a retry after a lost answer gets the first message's id back).
        client_msg_id = str(params.get("client_msg_id") or "")[:64]
        with self._mutation():
            if client_msg_id:
                for sent in self.state["messages"]:
                    if sent["shop_id"] == shop_id and sent.get("client_msg_id") == client_msg_id:
                        return {"message_id": sent["message_id"], "duplicate": True}
            order = self.state["orders"].get(order_id)
            if order is None or order["shop_id"] != shop_id:
                raise parameter_invalid(f"order_id: 订单 {order_id} 不存在")
            aftersale_id = ""
            if params.get("aftersale_id") not in (None, ""):
                case = self._require_case(shop_id, params, "aftersale_id")
                if case["order_id"] != order_id:
                    raise parameter_invalid("aftersale_id: 不属于该订单")
                aftersale_id = case["id"]
            message_id = str(9_100_000_000 + self._next("im"))
            self.state["messages"].append(
                {
                    "message_id": message_id,
                    "shop_id": shop_id,
                    "order_id": order_id,
                    "aftersale_id": aftersale_id,
                    "buyer_open_id": order["buyer"]["open_id"],
                    "content": content,
                    "time": self.wall(),
                    **({"client_msg_id": client_msg_id} if client_msg_id else {}),
                }
            )
            return {"message_id": message_id}


__all__ = ["ApiError", "Platform"]
