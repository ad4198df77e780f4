"""A scripted platform behind the fake gateway: just enough state for the unit tests.

After-sales are Detail-shaped dicts the test builds and changes directly; `operate` and the
receipt call move them as the contract's type × status table says. The full behaviour
(pushes, deadlines, refunds over time) is the simulator's, used by the end-to-end tests.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

from .fake_gateway import FakeGateway, error, ok

OPERATE = {
    # type: (allowed statuses, target)
    101: ({6, 27}, 7),
    102: ({6}, 27),
    111: ({7, 11, 29}, 12),
    112: ({11}, 29),
    201: ({6, 27}, 12),
    202: ({6}, 27),
    301: ({6, 27}, 7),
    311: ({7, 11, 29}, 13),
    401: ({6}, 12),
    501: ({6}, 8),
    601: ({6}, 7),
}
REJECT_REASONS = [
    {"reject_reason_code": 1, "reason": "买家未提供有效凭证", "evidence_need": "N"},
    {"reject_reason_code": 3, "reason": "超过七天无理由退货期限", "evidence_need": "N"},
    {"reject_reason_code": 9, "reason": "已与买家协商一致", "evidence_need": "Y"},
    {"reject_reason_code": 99, "reason": "其他", "evidence_need": "Y"},
]

_ids = itertools.count(7_000_000_000_000_000_001)


class MiniPlatform:
    def __init__(self, gateway: FakeGateway, shop_id: str) -> None:
        self.gateway = gateway
        self.shop_id = shop_id
        self.aftersales: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.applied: list[tuple[str, int]] = []  # (aftersale id, operate type) applied
        # Faults: method -> list of answers to give before behaving (consumed in order);
        # "after:<status>" applies the call first, then answers <status> (a lost answer).
        self.faults: dict[str, list[Any]] = {}
        gateway.responder = self.respond

    # -- building state -------------------------------------------------------------------

    def add_order(
        self,
        *,
        status: int = 2,
        pay_amount: int = 8800,
        origin_amount: int = 10000,
        quantity: int = 1,
        category: str = "apparel",
        shipped: bool = False,
        signed: bool = False,
        post_amount: int = 1000,
    ) -> dict[str, Any]:
        order_id = str(next(_ids))
        order = {
            "order_id": order_id,
            "shop_id": self.shop_id,
            "order_status": status,
            "pay_time": int(time.time()) - 5 * 86400,
            "pay_amount": pay_amount + post_amount,
            "post_amount": post_amount,
            "has_insurance": False,
            "buyer": {
                "open_id": f"buyer-{order_id}",
                "nickname": "抖音用户",
                "mobile_masked": "138****5678",
                "vip_level": 0,
            },
            "sku_order_list": [
                {
                    "sku_order_id": order_id + "1",
                    "product_id": "p-" + order_id,
                    "product_name": "纯棉短袖T恤",
                    "category": category,
                    "sku_id": "s-" + order_id,
                    "sku_spec": "白色 L",
                    "item_num": quantity,
                    "origin_amount": origin_amount,
                    "pay_amount": pay_amount,
                }
            ],
            "logistics_info": [],
        }
        if shipped or signed:
            order["ship_time"] = int(time.time()) - 4 * 86400
            parcel = {"company_code": "zhongtong", "tracking_no": "ZT" + order_id[-8:]}
            if signed:
                parcel["sign_time"] = int(time.time()) - 2 * 86400
            order["logistics_info"].append(parcel)
        self.orders[order_id] = order
        return order

    def add_aftersale(
        self, order: dict[str, Any], *, type: int, reason_code: int = 1, status: int = 6
    ) -> str:
        aftersale_id = str(next(_ids))
        line = order["sku_order_list"][0]
        refund = line["pay_amount"] if type in (0, 1, 2) else 0
        now = int(time.time())
        self.aftersales[aftersale_id] = {
            "process_info": {
                "after_sale_info": {
                    "after_sale_id": int(aftersale_id),
                    "after_sale_status": status,
                    "after_sale_type": type,
                    "refund_status": 1 if refund else 0,
                    "refund_amount": refund,
                    "refund_post_amount": 0,
                    "reason_code": reason_code,
                    "apply_time": now - 60,
                    "update_time": now - 60,
                    "status_deadline": now + 48 * 3600,
                    "buyer_statement": "不想要了",
                    "evidence": [],
                    "part_type": 0,
                },
                "arbitrate_info": {"arbitrate_status": 0, "arbitrate_id": ""},
                "logistics_info": {"return": {}, "exchange": {}},
            },
            "order_info": {
                "order_id": order["order_id"],
                "shop_id": self.shop_id,
                "order_status": order["order_status"],
                "sku_order_infos": [dict(line, aftersale_item_num=line["item_num"])],
            },
        }
        return aftersale_id

    def info(self, aftersale_id: str) -> dict[str, Any]:
        return self.aftersales[aftersale_id]["process_info"]["after_sale_info"]

    def set_status(self, aftersale_id: str, status: int, **fields: Any) -> None:
        info = self.info(aftersale_id)
        info["after_sale_status"] = status
        info.update(fields)
        info["update_time"] += 1

    def detail(self, aftersale_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.aftersales[aftersale_id])

    def operate_calls(self, aftersale_id: str | None = None) -> list[Any]:
        return [
            c
            for c in self.gateway.calls
            if c.method == "afterSale.operate"
            and (aftersale_id is None or c.params["items"][0]["aftersale_id"] == aftersale_id)
        ]

    # -- answering ------------------------------------------------------------------------

    def respond(self, method: str, params: dict[str, Any], n: int) -> Any:
        queued = self.faults.get(method) or []
        fault = queued.pop(0) if queued else None
        if isinstance(fault, str) and fault.startswith("after:"):
            self._answer(method, params)
            return int(fault.split(":")[1]), {}
        if fault is not None:
            return fault
        return self._answer(method, params)

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "afterSale.Detail":
            return ok(self.detail(str(params["after_sale_id"])), log_id="detail")
        if method == "order.orderDetail":
            return ok({"shop_order_detail": copy.deepcopy(self.orders[params["shop_order_id"]])})
        if method == "afterSale.operate":
            operate_type = params["type"]
            results = []
            for item in params["items"]:
                info = self.info(item["aftersale_id"])
                allowed, target = OPERATE[operate_type]
                if info["after_sale_status"] not in allowed:
                    return error(50002, "isv.business-failed:20309541", "售后状态错误")
                results.append((item["aftersale_id"], target, info))
            for aftersale_id, target, info in results:
                self.set_status(aftersale_id, target)
                if target == 12:
                    info["refund_status"] = 2
                self.applied.append((aftersale_id, operate_type))
            return ok(
                {"items": [{"aftersale_id": a, "status_code": 0} for a, _, _ in results]},
                log_id=f"op-{operate_type}",
            )
        if method == "afterSale.returnGoodsToWareHouseSuccess":
            info = self.info(params["aftersale_id"])
            if info["after_sale_status"] != 7:
                return error(50002, "isv.business-failed:20309541", "售后状态错误")
            self.set_status(params["aftersale_id"], 11)
            self.applied.append((params["aftersale_id"], 0))
            return ok()
        if method == "afterSale.rejectReasonCodeList":
            return ok({"items": copy.deepcopy(REJECT_REASONS)})
        if method == "im.sendMessage":
            key = params.get("client_msg_id")
            for number, sent in enumerate(self.messages, start=1):
                if key and sent.get("client_msg_id") == key:  # the contract's dedupe key
                    return ok({"message_id": f"m{number}", "duplicate": True})
            self.messages.append(params)
            return ok({"message_id": f"m{len(self.messages)}"})
        if method == "afterSale.applyLogisticsIntercept":
            targets = params["intercept_targets"]
            return ok(
                {
                    "intercept_results": [
                        {"tracking_no": t["tracking_no"], "success": True} for t in targets
                    ],
                    "success_count": len(targets),
                    "failed_count": 0,
                }
            )
        if method == "afterSale.List":
            start, end = params.get("update_start_time", 0), params.get("update_end_time", 2**40)
            items = sorted(
                (
                    self.detail(a)
                    for a, d in self.aftersales.items()
                    if start <= d["process_info"]["after_sale_info"]["update_time"] <= end
                ),
                key=lambda d: d["process_info"]["after_sale_info"]["update_time"],
            )
            page, size = params.get("page", 0), params.get("size", 100)
            chunk = items[page * size : (page + 1) * size]
            return ok(
                {"items": chunk, "has_more": (page + 1) * size < len(items), "total": len(items)}
            )
        if method in ("afterSale.timeExtend", "afterSale.addOrderRemark"):
            return ok()
        return error(40004, "isv.parameter-invalid", f"unknown method {method}")
