"""A traffic generator for demos: orders and realistic after-sales over time, and the buyers'
(and the platform's) follow-ups — returns shipped some time after agreement, receipts
confirmed, rejections taken to the platform and ruled on.

It drives the simulator only through the control API, so it runs the same inside the server
(POST /_sim/traffic) or beside it (`douyin-sim traffic`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from .client import ControlClient, ControlError

log = logging.getLogger("douyin_sim.traffic")

# (name, category, unit price in fen, specs)
CATALOG: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("纯棉圆领短袖T恤", "apparel", 5900, ("白色 M", "白色 L", "黑色 XL")),
    ("高腰显瘦阔腿牛仔裤", "apparel", 12900, ("浅蓝 26", "浅蓝 27", "深蓝 28")),
    ("轻薄白鸭绒羽绒服", "apparel", 39900, ("雾霾蓝 M", "米白 L")),
    ("法式碎花雪纺连衣裙", "apparel", 15900, ("S", "M", "L")),
    ("加绒连帽运动卫衣", "apparel", 9900, ("灰色 L", "藏青 XL")),
    ("每日坚果混合装 750g", "food", 6990, ("30 袋装",)),
    ("云南小粒咖啡豆 500g", "food", 7800, ("中度烘焙", "深度烘焙")),
    ("手工牛轧糖礼盒", "food", 4500, ("蔓越莓味", "原味")),
    ("智利车厘子 JJ级 2斤", "fresh", 12800, ("2斤装",)),
    ("海南贵妃芒 5斤", "fresh", 4990, ("中果",)),
    ("玻尿酸补水面膜 10片", "beauty", 8900, ("10片/盒",)),
    ("烟酰胺焕亮精华液 30ml", "beauty", 19900, ("30ml",)),
    ("氨基酸温和洁面乳", "beauty", 5900, ("120g",)),
    ("清爽防晒霜 SPF50+", "beauty", 9900, ("50ml",)),
    ("主动降噪蓝牙耳机", "electronics", 39900, ("曜石黑", "珍珠白")),
    ("20000mAh 快充充电宝", "electronics", 12900, ("白色",)),
    ("智能运动手环 8", "electronics", 22900, ("黑色", "粉色")),
    ("三模机械键盘 茶轴", "electronics", 29900, ("87键", "104键")),
    ("声波电动牙刷", "electronics", 15900, ("薄荷绿",)),
    ("泰国天然乳胶枕", "home", 16900, ("波浪款",)),
    ("全棉磨毛四件套 1.8m", "home", 29900, ("灰格", "奶咖")),
    ("316不锈钢保温杯 500ml", "home", 8900, ("岩灰", "奶白")),
    ("《三体》全集 典藏版", "books", 9800, ("全三册",)),
    ("儿童科普绘本 10册", "books", 12800, ("3-6岁",)),
    ("定制刻字金属签字笔", "custom", 12900, ("刻字款",)),
    ("定制照片抱枕", "custom", 6900, ("45×45cm",)),
    ("全自动晴雨折叠伞", "general", 5900, ("黑色", "藏青")),
    ("磁吸透明手机壳", "general", 3900, ("iPhone 15", "iPhone 15 Pro")),
]
NICKNAMES = [
    "小鹿乱撞",
    "快乐星球",
    "阿杰",
    "柠檬不萌",
    "晴天",
    "追风少年",
    "喵小姐",
    "大橙子",
    "Summer",
    "一只胖虎",
    "木子李",
    "今天也要加油",
]
STATEMENTS = {
    1: ["不喜欢，七天无理由退货", "买多了，退一件", "和预期不太一样"],
    2: ["拍错了，不想要了", "不想要了，麻烦尽快处理", "家里人已经买了"],
    3: ["尺码偏小，穿不上", "码数偏大，想换小一号", "版型不合适"],
    4: ["用了两天就坏了", "做工粗糙，有开线", "有明显的质量问题，见图"],
    5: ["充不进电", "蓝牙连不上，重置也不行", "开机几分钟就自动关机"],
    6: ["收到时外包装破损，商品有裂痕", "快递压坏了", "瓶子碎了，漏了一箱"],
    7: ["颜色发错了，我拍的是黑色", "发成了别的型号", "收到的不是我买的商品"],
    8: ["少发了一件", "配件没有发", "赠品没收到"],
    9: ["实物颜色和图片差别很大", "材质和详情页描述不一样", "尺寸比标注的小"],
    10: ["收到的是临期产品", "生产日期是半年前的", "已经过期了"],
    11: ["物流一直没更新", "显示签收但我没收到", "快递停在中转站三天了"],
    12: ["说好48小时发货，到现在没发", "一直不发货", "等太久了不要了"],
    99: ["其他原因", "联系客服没人回复"],
}
EVIDENCE_REASONS = {4, 5, 6, 7, 8, 9, 10}
COMPANIES = ["zhongtong", "yuantong", "shunfeng", "yunda", "jtexpress"]


class Traffic:
    """Arrivals at `rate` after-sales per second (Poisson), and follow-ups every second."""

    def __init__(
        self,
        base_url: str,
        rate: float,
        *,
        shop_ids: list[str] | None = None,
        seed: int | None = None,
        follow_up: tuple[float, float] = (15.0, 90.0),
        stop: threading.Event | None = None,
    ):
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.control = ControlClient(base_url)
        self.rate = rate
        self.shop_ids = [str(s) for s in shop_ids or []]
        self.rng = random.Random(seed)
        self.follow_up = follow_up
        self.stop = stop or threading.Event()
        self.scheduled: dict[tuple[str, str, int], float] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.stats = {"orders": 0, "applications": 0, "actions": 0, "errors": 0}

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        next_arrival = time.monotonic() + self._gap()
        while not self.stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_arrival:
                    self.create_one()
                    next_arrival = now + self._gap()
                self.follow_ups(now)
            except (ControlError, OSError) as error:
                self.stats["errors"] += 1
                log.warning("traffic: %s", error)
            self.stop.wait(min(1.0, max(0.05, next_arrival - time.monotonic())))

    def _gap(self) -> float:
        return self.rng.expovariate(self.rate) if self.rate > 0 else float("inf")

    def _shop(self) -> str:
        if self.shop_ids:
            return self.rng.choice(self.shop_ids)
        shops = self.control.get("shops")
        if not shops:
            raise ControlError(400, "no shop: create one first (POST /_sim/shops)")
        return self.rng.choice(shops)["shop_id"]

    # --- arrivals -----------------------------------------------------------------------

    def create_one(self) -> dict:
        """One order, brought to a realistic state, and one after-sales application on it."""
        rng = self.rng
        shop_id = self._shop()
        now = int(time.time())
        stage = rng.choices(["unshipped", "in_transit", "delivered"], [15, 12, 73])[0]
        lines = rng.sample(CATALOG, rng.choice([1, 1, 1, 2]))
        items = []
        for name, category, price, specs in lines:
            quantity = rng.choice([1, 1, 1, 1, 2, 3])
            origin = price * quantity
            discount = rng.choice([0, 0, 500, 1000, int(origin * 0.1)])
            items.append(
                {
                    "product_name": name,
                    "category": category,
                    "sku_spec": rng.choice(specs),
                    "quantity": quantity,
                    "origin_amount": origin,
                    "pay_amount": max(1, origin - discount),
                }
            )
        pay_time = now - rng.randint(3600, 6 * 86400)
        order = self.control.post(
            "orders",
            {
                "shop_id": shop_id,
                "buyer": {
                    "nickname": rng.choice(NICKNAMES),
                    "vip_level": rng.choices([0, 1, 2, 3, 5, 7], [70, 10, 6, 4, 6, 4])[0],
                },
                "items": items,
                "shipping_fee": rng.choice([0, 0, 0, 600, 1000]),
                "insurance": rng.random() < 0.4,
                "pay_time": pay_time,
            },
        )
        self.stats["orders"] += 1
        order_id = order["order_id"]
        if stage != "unshipped":
            ship_time = min(now - 7200, pay_time + rng.randint(3600, 36 * 3600))
            self.control.post(
                f"orders/{order_id}/ship",
                {"company_code": rng.choice(COMPANIES), "at": max(pay_time, ship_time)},
            )
            if stage == "delivered":
                late = rng.random() < 0.1  # some buyers apply after the 7-day window
                sign_time = now - (
                    rng.randint(8, 12) * 86400 if late else rng.randint(600, 3 * 86400)
                )
                self.control.post(f"orders/{order_id}/deliver", {"at": max(ship_time, sign_time)})
        first = order["sku_order_list"][0]
        kind, reason = self._pick(stage, first["category"])
        body: dict[str, Any] = {
            "order_id": order_id,
            "type": kind,
            "reason_code": reason,
            "statement": rng.choice(STATEMENTS[reason]),
        }
        if kind in (3, 7, 8) or (kind in (0, 1) and len(items) > 1 and rng.random() < 0.5):
            body["items"] = [{"sku_order_id": first["sku_order_id"], "quantity": 1}]
        if reason in EVIDENCE_REASONS and rng.random() < 0.85:
            body["evidence"] = [
                f"https://sim.douyin.local/evidence/{rng.getrandbits(48):012x}.jpg"
                for _ in range(rng.randint(1, 3))
            ]
        if kind == 1 and stage == "delivered" and reason in (6, 8, 9):
            body["amount"] = max(1, first["pay_amount"] * rng.choice([20, 30, 50]) // 100)
        case = self.control.post("aftersales", body)
        self.stats["applications"] += 1
        return case

    def _pick(self, stage: str, category: str) -> tuple[int, int]:
        rng = self.rng
        if stage == "unshipped":
            return 2, rng.choices([2, 12, 99], [60, 30, 10])[0]
        if stage == "in_transit":
            return 1, rng.choices([11, 2, 12], [40, 50, 10])[0]
        weights = {0: 55, 1: 12, 3: 15, 7: 8, 8: 10 if category == "electronics" else 0}
        kind = rng.choices(list(weights), list(weights.values()))[0]
        if kind == 0:
            reasons = {1: 30, 4: 15, 6: 10, 7: 8, 9: 12}
            if category == "apparel":
                reasons[3] = 30
            if category in ("food", "fresh"):
                reasons[10] = 15
            return 0, rng.choices(list(reasons), list(reasons.values()))[0]
        if kind == 1:
            return 1, rng.choices([6, 8, 9, 10], [35, 30, 25, 10])[0]
        if kind == 3:
            return 3, rng.choices([3, 4, 7], [50 if category == "apparel" else 5, 30, 20])[0]
        if kind == 7:
            return 7, 8
        return 8, rng.choices([5, 4], [70, 30])[0]

    # --- follow-ups ---------------------------------------------------------------------

    def _plan(self, aftersale_id: str) -> dict[str, Any]:
        if aftersale_id not in self.plans:
            rng = self.rng
            self.plans[aftersale_id] = {
                "withdraw": rng.random() < 0.04,
                "never_ship": rng.random() < 0.04,
                "arbitrate": rng.random() < 0.35,
                "modify": rng.random() < 0.2,
                "ask_evidence": rng.random() < 0.4,
            }
        return self.plans[aftersale_id]

    def _later(self, now: float, low: float | None = None, high: float | None = None) -> float:
        low = self.follow_up[0] if low is None else low
        high = self.follow_up[1] if high is None else high
        return now + self.rng.uniform(low, high)

    def follow_ups(self, now: float) -> None:
        shops = self.shop_ids or [None]
        cases = []
        for shop_id in shops:
            cases.extend(self.control.get("aftersales", open="1", shop_id=shop_id))
        live = {c["aftersale_id"] for c in cases}
        self.scheduled = {k: v for k, v in self.scheduled.items() if k[0] in live}
        self.plans = {k: v for k, v in self.plans.items() if k in live}
        for case in cases:
            action = self._next_action(case)
            if action is None:
                continue
            key = (case["aftersale_id"], action, case["update_time"])
            if key not in self.scheduled:
                quick = action in ("arbitrate/evidence_request",)
                self.scheduled[key] = self._later(now, 5, 20) if quick else self._later(now)
                continue
            if self.scheduled[key] > now:
                continue
            self.scheduled[key] = float("inf")  # once
            try:
                self.control.post(f"aftersales/{case['aftersale_id']}/{action}", self._body(action))
                self.stats["actions"] += 1
                plan = self._plan(case["aftersale_id"])
                if action == "arbitrate/evidence_request":
                    plan["ask_evidence"] = False
                elif action == "modify":
                    plan["modify"] = False
            except ControlError as error:
                log.info("traffic: %s on %s: %s", action, case["aftersale_id"], error.message)

    def _next_action(self, case: dict) -> str | None:
        plan = self._plan(case["aftersale_id"])
        status, arb = case["status"], case["arbitrate_status"]
        if arb == 1:
            if plan["ask_evidence"]:
                return "arbitrate/evidence_request"
            return "arbitrate/rule"
        if arb == 4:
            return "arbitrate/rule"
        if status == 6 and plan["withdraw"]:
            return "withdraw"
        if status == 7 and not case["return_status"] and not plan["never_ship"]:
            return "ship_return"
        if status == 8:
            return "resend_ship"
        if status == 13:
            return "confirm_receipt"
        if status in (27, 29) and arb == 0:
            if plan["arbitrate"]:
                return "arbitrate"
            if status == 27 and plan["modify"]:
                return "modify"
        return None

    def _body(self, action: str) -> dict:
        rng = self.rng
        if action == "ship_return":
            return {
                "company_code": rng.choice(COMPANIES),
                "tracking_no": f"RT{rng.randint(10**11, 10**12 - 1)}",
            }
        if action == "arbitrate/rule":
            return {"conclusion": rng.choices([1, 2, 3], [40, 40, 20])[0]}
        if action == "arbitrate":
            return {"statement": rng.choice(["商家拒绝不合理，申请平台介入", "要求平台处理"])}
        if action == "modify":
            return {
                "statement": "补充了照片，请重新审核",
                "evidence": [f"https://sim.douyin.local/evidence/{rng.getrandbits(48):012x}.jpg"],
            }
        return {}
