"""The demo installation: two Douyin shops, their staff, ~90 days of orders and cases.

`seed_demo()` builds it once; when the demo's history already exists it changes nothing. It
comes in two parts, so that `make demo` answers within seconds and writes the history while
the web server already runs:

* **The staff** (`seed_staff`, `seed_demo --staff-only`): the demo logins, the two history
  shops (empty) and the live shop `make demo` connects to the simulator. One transaction,
  about a second.
* **The history** (the rest of `seed_demo`): the shops' catalog, buyers and orders, then every
  after-sales case replayed through the services, a minute or two.

What is written how:

* Shops, memberships and users go through the shop services (audited).
* Catalog, buyers, orders, order items and outbound parcels are platform data that a
  sync would import; they are written with `bulk_create`, there is no service for them.
* Every after-sales case goes through the case services (`open_case`, `approve_case`,
  `refund_case` + `execute_refund`, …), so the refund caps, the state machine and the
  audit chain hold exactly as in production.

Time. Each case is planned as a list of steps with the moment each would have happened
(buyer applies, agent answers within working hours, the parcel travels, the warehouse
inspects …). All steps of all cases are then replayed in one global time order under a
simulated clock: `django.utils.timezone.now` is patched with `unittest.mock` (standard
library; time_machine is a dev-only dependency and is not used here) to the moment of the
step. So `applied_at`, `approved_at`, `resolved_at`, refund and shipment times and every
audit event's `created_at` fall over the past 90 days, and each shop's audit chain is
in time order. Steps planned after the real "now" are not run, so recent cases stop where
they would be today: awaiting review, awaiting the buyer's parcel, awaiting inspection….

Transactions. The orders are written in one transaction with a `demo_seed_started` event on
each history shop's chain; the replay commits about once a second (on SQLite it then lets go
of the write lock for a moment, so the web server's writes — a login — get their turn); the
last transaction brings the orders to today and writes `demo_seeded`. A history that started
and never finished (the command was stopped) is reported, not continued: remove the database
and seed again. No SLA timer task is queued during the replay (most clocks stop again within
it); the clocks still running get theirs at the end. Refund tasks the services queue find the
refund executed and do nothing.

Determinism: every choice comes from `random.Random(seed)`; dates are relative to the
minute the command runs.
"""

from __future__ import annotations

import io
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as cs
from aftersales.cases.choices import (
    RETURNING_TYPES,
    CaseStatus,
    CaseType,
    CostKind,
    CostPayer,
    EvidenceSource,
    ExecutionStatus,
)
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.money import item_cap
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product, Sku
from aftersales.core.actors import Actor
from aftersales.core.money import yuan_to_fen
from aftersales.knowledge.models import Article
from aftersales.knowledge.services import ArticleDraft, create_article
from aftersales.orders.choices import OrderStatus, Packaging, ShipmentKind, ShipmentStatus
from aftersales.orders.models import Buyer, Order, OrderItem, Shipment, ShipmentEvent
from aftersales.orders.totals import rebuild_order_totals
from aftersales.shops.choices import Platform, Role
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user, add_member, create_shop
from aftersales.team.services import set_on_duty
from aftersales.testing import png_bytes

from . import data
from .bad_days import seed_bad_days

# What the merchant attaches to a rejection the platform refuses without evidence.
REJECT_EVIDENCE_NOTES = {
    "not_quality_issue": "远程检测录屏",
    "agreed_other_solution": "与买家协商一致的聊天记录截图",
}

DEMO_PASSWORD = "demo-pass-2026"
DEMO_URL = "http://127.0.0.1:8000/"
DEFAULT_ORDERS_PER_SHOP = 3000
DEFAULT_SEED = 2026
DAYS = 90

BEIJING = ZoneInfo("Asia/Shanghai")

# The stories the reports must find in the history (issue #10; `tests/test_stories.py`):
# - the skirt's size returns fall after its new size chart (recorded as an improvement);
STORY_SKIRT = "高腰A字百褶半身裙"
SIZE_CHART_DAYS_AGO = 45
# - the vacuum flask arrives dented when 韵达 carries it in a poly bag (a packaging problem
#   on one carrier: other carriers' parcels of it are boxed);
STORY_FRAGILE = "316不锈钢保温杯 500ml"
STORY_CARRIER = "韵达快递"
# - the agent (小美) is slow at the first response: three times the supervisor's wait;
SLOW_AGENT = "agent"
# - one month (the month of 60 days ago, Shanghai) every review waited three times as long:
#   the platform's review metric dips.
DIP_DAYS_AGO = 60
SEED_ACTOR = Actor.system("seed")
# The replay commits after about this many seconds of steps...
REPLAY_CHUNK_SECONDS = 1.0
# ...and on SQLite then holds no lock for a moment longer than SQLite's busy handler sleeps
# between its tries (100 ms), so a waiting writer of the web server always gets its turn.
REPLAY_PAUSE_SECONDS = {"sqlite": 0.11}


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    role_label: str
    display_name: str
    note: str = ""


DEMO_USERS = (
    DemoUser("agent", Role.AGENT, "客服", "小美", "处理售后队列"),
    DemoUser("supervisor", Role.SUPERVISOR, "主管", "李主管", "VIP、高风险与升级工单"),
    DemoUser("admin", Role.ADMIN, "店铺管理员", "王店长", "也是 Django 超级用户 (/admin/)"),
    DemoUser("auditor", Role.AUDITOR, "审计员", "赵审计", "只读,查看完整记录"),
)


# The history's state, from the markers on the history shops' chains.
ABSENT, COMPLETE, INTERRUPTED = "absent", "complete", "interrupted"
HISTORY_STARTED, HISTORY_SEEDED = "demo_seed_started", "demo_seeded"


@dataclass
class SeedResult:
    created: bool
    shops: list[Shop]
    users: list[tuple[DemoUser, bool]]  # (user, the password is the demo's)
    counts: dict[str, int] = field(default_factory=dict)
    cases_by_status: dict[str, int] = field(default_factory=dict)
    refunded_fen: int = 0
    history: str = ABSENT  # ABSENT | COMPLETE | INTERRUPTED, as found before this run


class HistoryInterrupted(Exception):
    """The history was started and never finished: it is not continued half-way."""


def demo_shops() -> list[Shop]:
    """The seeded shops and, last, the live one (`data.LIVE_SHOP_ID`)."""
    ids = [spec.platform_shop_id for spec in data.SHOPS] + [data.LIVE_SHOP_ID]
    return list(
        Shop.objects.filter(platform=Platform.DOUYIN, platform_shop_id__in=ids).order_by("pk")
    )


def seed_demo(
    *,
    orders_per_shop: int = DEFAULT_ORDERS_PER_SHOP,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda line: None,
    staff_only: bool = False,
) -> SeedResult:
    """Create what is missing of the demo and return what is there: the staff and the shops,
    then (unless `staff_only`) the history. `progress` is told how far the history is (it
    takes minutes on a slow machine). Raises `HistoryInterrupted` for a history a stopped
    run left half-written."""
    if orders_per_shop < 1:
        raise ValueError("orders_per_shop must be at least 1")
    # In UTC, as timezone.now() gives it: the audit hash covers created_at's isoformat().
    now = (now or timezone.now()).astimezone(UTC).replace(second=0, microsecond=0)
    shops, users = seed_staff(now=now)
    history = history_state(shops[:-1])
    if staff_only or history == COMPLETE:
        return SeedResult(created=False, shops=shops, users=users, history=history)
    if history == INTERRUPTED:
        raise HistoryInterrupted(
            "the demo's history was started and never finished (a stopped seed_demo)"
        )
    builder = _Builder(rng=random.Random(seed), now=now, progress=progress)
    with builder.clock.installed():
        builder.build(shops, orders_per_shop, seed=seed)
    return builder.summary(shops, users)


def seed_staff(*, now: datetime) -> tuple[list[Shop], list[tuple[DemoUser, bool]]]:
    """The demo logins, the history shops and the live shop, whichever are missing (one
    transaction). Their events fall before the history's 90 days, so each chain stays in time
    order. Returns the shops (history shops first, the live one last) and each demo user with
    whether their password is still the demo's."""
    clock = SimClock(now - timedelta(days=DAYS + 3))
    user_model = get_user_model()
    with clock.installed(), transaction.atomic():
        users: dict[str, Any] = {}
        for demo_user in DEMO_USERS:
            user = user_model.objects.filter(username=demo_user.username).first()
            if user is None:
                is_admin = demo_user.role == Role.ADMIN
                user = user_model.objects.create_user(
                    username=demo_user.username,
                    password=DEMO_PASSWORD,
                    first_name=demo_user.display_name,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                    date_joined=clock.now(),
                )
            users[demo_user.username] = user
        existing = {shop.platform_shop_id: shop for shop in demo_shops()}
        shops = [
            existing.get(spec.platform_shop_id)
            or create_demo_shop(spec.platform_shop_id, spec.name, users)
            for spec in data.SHOPS
        ]
        # A demo seeded before the live shop existed gets it, so `make demo` can connect it.
        shops.append(existing.get(data.LIVE_SHOP_ID) or create_live_shop(users))
        new = [shop for shop in shops if shop.platform_shop_id not in existing]
        for shop in new:
            seed_articles(shop)
    # A demo seeded before the knowledge base existed gets its articles now (at the real
    # time: its chains already hold the history).
    with transaction.atomic():
        for shop in shops:
            if shop not in new:
                seed_articles(shop)
    with_password = [(u, users[u.username].check_password(DEMO_PASSWORD)) for u in DEMO_USERS]
    return shops, with_password


def seed_articles(shop: Shop) -> int:
    """The demo shop's knowledge base (R8.3): the common articles and its own, unless it has
    articles already. Returns how many were made."""
    if Article.objects.filter(shop=shop).exists():
        return 0
    key = next(
        (spec.key for spec in data.SHOPS if spec.platform_shop_id == shop.platform_shop_id),
        "fashion",  # the live shop sells clothes
    )
    specs = data.COMMON_ARTICLES + data.SHOP_ARTICLES.get(key, ())
    for question, tags, answer, categories in specs:
        create_article(
            shop_id=shop.pk,
            draft=ArticleDraft(question=question, answer=answer, tags=tags, categories=categories),
            by=SEED_ACTOR,
        )
    return len(specs)


def history_state(shops: Sequence[Shop]) -> str:
    """Whether the history shops' history is there (COMPLETE), half-written (INTERRUPTED) or
    not begun (ABSENT). A demo seeded before the markers existed was written in one
    transaction: its orders mean it is complete."""
    marks = set(
        AuditEvent.objects.filter(
            shop__in=shops, type__in=[HISTORY_STARTED, HISTORY_SEEDED]
        ).values_list("type", flat=True)
    )
    if HISTORY_SEEDED in marks:
        return COMPLETE
    if HISTORY_STARTED in marks:
        return INTERRUPTED
    return COMPLETE if Order.objects.filter(shop__in=shops).exists() else ABSENT


def create_demo_shop(platform_shop_id: str, name: str, users: dict[str, Any]) -> Shop:
    """A Douyin shop with each demo user (by username) a member in their role."""
    shop = create_shop(
        platform=Platform.DOUYIN, platform_shop_id=platform_shop_id, name=name, by=SEED_ACTOR
    )
    for demo_user in DEMO_USERS:
        user = users.get(demo_user.username)
        if user is not None:  # an admin may have removed one since an earlier seed
            add_member(shop=shop, user=user, role=demo_user.role, by=SEED_ACTOR)
    return shop


def create_live_shop(users: dict[str, Any]) -> Shop:
    """The empty shop `make demo` connects to the simulator (`data.LIVE_SHOP_ID`), with the
    demo staff; the agent and the supervisor are on duty there, so arriving cases are assigned."""
    shop = create_demo_shop(data.LIVE_SHOP_ID, data.LIVE_SHOP_NAME, users)
    for demo_user in DEMO_USERS:
        if demo_user.role in (Role.AGENT, Role.SUPERVISOR) and demo_user.username in users:
            user = users[demo_user.username]
            set_on_duty(user=user, shop=shop, on_duty=True, by=SEED_ACTOR)
    return shop


# --- The simulated clock -----------------------------------------------------------------------


class SimClock:
    """A clock the seed sets to each step's moment; every reading advances it by 1 ms so
    that events written within one step keep their order."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current

    def advance_to(self, at: datetime) -> None:
        self.current = max(self.current, at)

    @contextmanager
    def installed(self) -> Iterator[None]:
        with mock.patch("django.utils.timezone.now", self.now):
            yield


# --- Plans -----------------------------------------------------------------------------------


@dataclass
class LinePlan:
    sku: Sku
    product: Product
    quantity: int
    list_price_fen: int  # unit
    paid_amount_fen: int  # line
    best_before: date | None
    exclusion_confirmed: bool
    obj: OrderItem | None = None


@dataclass
class OrderPlan:
    shop: Shop
    spec: data.ShopSpec
    buyer: Buyer
    platform_order_id: str
    paid_at: datetime
    ship_at: datetime | None
    deliver_at: datetime | None
    complete_at: datetime | None
    lines: list[LinePlan]
    shipping_fee_fen: int
    insured: bool
    receiver: tuple[str, str, str]
    remote: bool
    carrier: tuple[str, str, int]
    tracking_number: str
    cancelled_at: datetime | None = None
    obj: Order | None = None
    case: CasePlan | None = None

    def state_at(self, t: datetime) -> dict[str, Any]:
        def upto(value: datetime | None) -> datetime | None:
            return value if value is not None and value <= t else None

        cancelled = upto(self.cancelled_at)
        shipped, delivered, completed = upto(self.ship_at), upto(self.deliver_at), None
        if cancelled is None:
            completed = upto(self.complete_at)
        else:
            delivered = None
        if cancelled is not None:
            status = OrderStatus.CANCELLED
        elif completed is not None:
            status = OrderStatus.COMPLETED
        elif delivered is not None:
            status = OrderStatus.DELIVERED
        elif shipped is not None:
            status = OrderStatus.SHIPPED
        else:
            status = OrderStatus.UNSHIPPED
        return {
            "status": status,
            "shipped_at": shipped,
            "delivered_at": delivered,
            "completed_at": completed,
            "cancelled_at": cancelled,
        }


@dataclass
class Step:
    at: datetime
    action: str
    args: dict[str, Any]


@dataclass
class CasePlan:
    order: OrderPlan
    type: str
    reason: str
    lines: list[tuple[LinePlan, int]]
    handler: str  # username of the member who works the case
    category: str
    auto: bool = False  # agreed and refunded automatically by shop policy
    steps: list[Step] = field(default_factory=list)
    case: Case | None = None
    photo_id: int | None = None  # the inspection photo a stage-2 rejection points at

    def add(self, at: datetime, action: str, **args: Any) -> datetime:
        self.steps.append(Step(at, action, args))
        return at


# Per category: the share of delivered orders with an after-sales request, and the mix of
# (weight, type, reason). Rates follow what shops in each category report (apparel is by far
# the highest, mostly size and "no reason"; food the lowest, mostly damage and expiry).
T = CaseType
CASE_PROFILES: dict[str, tuple[float, tuple[tuple[int, str, str], ...]]] = {
    Category.APPAREL: (
        0.30,
        (
            (35, T.RETURN_REFUND, "no_reason"),
            (20, T.RETURN_REFUND, "wrong_size"),
            (20, T.EXCHANGE, "wrong_size"),
            (10, T.RETURN_REFUND, "not_as_described"),
            (7, T.RETURN_REFUND, "quality_issue"),
            (3, T.REFUND_SHIPPED, "quality_issue"),
            (3, T.RETURN_REFUND, "wrong_item"),
            (2, T.RESEND, "missing_item"),
        ),
    ),
    Category.BEAUTY: (
        0.06,
        (
            (35, T.RETURN_REFUND, "no_reason"),
            (20, T.RETURN_REFUND, "quality_issue"),
            (15, T.REFUND_SHIPPED, "damaged"),
            (10, T.RETURN_REFUND, "not_as_described"),
            (10, T.RETURN_REFUND, "expired"),
            (10, T.RESEND, "missing_item"),
        ),
    ),
    Category.ELECTRONICS: (
        0.12,
        (
            (25, T.RETURN_REFUND, "functional_fault"),
            (20, T.EXCHANGE, "functional_fault"),
            (10, T.REPAIR, "functional_fault"),
            (20, T.RETURN_REFUND, "no_reason"),
            (10, T.RETURN_REFUND, "quality_issue"),
            (5, T.REFUND_SHIPPED, "damaged"),
            (10, T.RESEND, "missing_item"),
        ),
    ),
    Category.FOOD: (
        0.02,
        (
            (35, T.REFUND_SHIPPED, "damaged"),
            (25, T.REFUND_SHIPPED, "expired"),
            (10, T.RETURN_REFUND, "expired"),
            (15, T.REFUND_SHIPPED, "quality_issue"),
            (15, T.RESEND, "missing_item"),
        ),
    ),
    Category.FRESH: (
        0.04,
        (
            (60, T.REFUND_SHIPPED, "damaged"),
            (30, T.REFUND_SHIPPED, "quality_issue"),
            (10, T.RESEND, "missing_item"),
        ),
    ),
    Category.HOME: (
        0.05,
        (
            (35, T.RETURN_REFUND, "no_reason"),
            (20, T.RETURN_REFUND, "quality_issue"),
            (15, T.REFUND_SHIPPED, "damaged"),
            (10, T.EXCHANGE, "quality_issue"),
            (20, T.RETURN_REFUND, "not_as_described"),
        ),
    ),
    Category.DIGITAL: (
        0.015,
        ((50, T.REFUND_SHIPPED, "quality_issue"), (50, T.REFUND_SHIPPED, "no_reason")),
    ),
    Category.BOOKS: (
        0.03,
        (
            (40, T.RETURN_REFUND, "no_reason"),
            (40, T.REFUND_SHIPPED, "damaged"),
            (20, T.RESEND, "missing_item"),
        ),
    ),
    Category.GENERAL: (
        0.04,
        (
            (40, T.RETURN_REFUND, "no_reason"),
            (30, T.RETURN_REFUND, "quality_issue"),
            (30, T.REFUND_SHIPPED, "damaged"),
        ),
    ),
    Category.CUSTOM: (
        0.03,
        ((50, T.RETURN_REFUND, "quality_issue"), (50, T.RETURN_REFUND, "no_reason")),
    ),
}

# When, in days after the buyer signed for the goods, each reason is typically raised.
OPEN_AFTER_DELIVERY_DAYS: dict[str, tuple[float, float]] = {
    "no_reason": (0.3, 6.5),
    "wrong_size": (0.3, 5.0),
    "not_as_described": (0.2, 4.0),
    "quality_issue": (0.5, 15.0),
    "functional_fault": (1.0, 25.0),
    "damaged": (0.05, 2.0),
    "expired": (0.05, 2.0),
    "wrong_item": (0.1, 3.0),
    "missing_item": (0.1, 2.0),
}
# Partial refunds for refund-only requests (协商部分退款), by category.
PARTIAL_REFUND_RATE: dict[str, float] = {
    Category.FRESH: 0.5,
    Category.FOOD: 0.3,
    Category.BOOKS: 0.5,
    Category.APPAREL: 0.6,
    Category.ELECTRONICS: 0.5,
    Category.HOME: 0.3,
    Category.BEAUTY: 0.2,
    Category.GENERAL: 0.3,
}
EXCLUDED_FROM_NO_REASON = {Category.CUSTOM, Category.DIGITAL, Category.FRESH}
PROMO_DAYS = {(3, 8), (5, 20), (6, 18), (9, 9), (11, 11), (12, 12)}
# Buyers shop on Douyin in the evening, during live streams.
HOUR_WEIGHTS = (
    0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3,
    1.5, 1.3, 1.1, 1.1, 1.2, 1.3, 1.6, 2.0, 2.6, 2.8, 2.4, 1.4,
)  # fmt: skip


# --- Building ------------------------------------------------------------------------------------


class _Builder:
    def __init__(
        self, *, rng: random.Random, now: datetime, progress: Callable[[str], None]
    ) -> None:
        self.rng = rng
        self.progress = progress
        self.now = now
        self.start = now - timedelta(days=DAYS)
        self.clock = SimClock(self.start - timedelta(days=5))
        self.used_ids: set[str] = set()
        self.users: dict[str, Any] = {}
        self.actors: dict[str, Actor] = {}
        self.images = [png_bytes(96, 72, top=top, bottom=bottom) for top, bottom in _IMAGE_COLOURS]

    # Helpers ------------------------------------------------------------------------------

    def new_id(self, prefix: str, digits: int) -> str:
        while True:
            value = prefix + str(self.rng.randrange(10 ** (digits - 1), 10**digits))
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def staffed(self, t: datetime) -> datetime:
        """The first moment at or after `t` when the shop's staff work (09:00–23:00)."""
        local = t.astimezone(BEIJING)
        if local.hour < 9:
            opening = local.replace(hour=9, minute=0, second=0, microsecond=0)
        elif local.hour >= 23:
            opening = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0)
        else:
            return t
        return (opening + timedelta(minutes=self.rng.uniform(0, 50))).astimezone(t.tzinfo)

    def upload(self, at: datetime) -> cs.Upload:
        image = self.rng.choice(self.images)
        name = at.astimezone(BEIJING).strftime("IMG_%Y%m%d_%H%M%S.png")
        return cs.Upload(stream=io.BytesIO(image), name=name)

    # The whole build ----------------------------------------------------------------------

    def build(self, shops: list[Shop], orders_per_shop: int, *, seed: int) -> None:
        """The history of the history shops (all but the last, live one)."""
        history_shops = shops[:-1]
        self.progress(f"正在生成演示数据: {len(data.SHOPS)} 个店铺, 约 {DAYS} 天的订单与售后单……")
        # After the staff's events, whenever they were written: each chain in time order.
        last = AuditEvent.objects.filter(shop__in=shops).order_by("-created_at").first()
        self.clock.advance_to(
            max(self.start - timedelta(days=3), last.created_at if last else self.start)
        )
        names = [u.username for u in DEMO_USERS]
        self.users = {
            u.get_username(): u for u in get_user_model().objects.filter(username__in=names)
        }
        self.actors = {name: actor_for_user(user) for name, user in self.users.items()}
        orders: list[OrderPlan] = []
        with transaction.atomic():
            for spec, shop in zip(data.SHOPS, history_shops, strict=True):
                orders.extend(self.build_shop(shop, spec, orders_per_shop))
                self.progress(f"  {spec.name}: 商品与 {orders_per_shop} 个订单已创建")
                record_event(
                    shop_id=shop.pk,
                    type=HISTORY_STARTED,
                    by=SEED_ACTOR,
                    payload={"orders": orders_per_shop, "seed": seed, "now": self.now.isoformat()},
                )
        # The clocks this starts queue nothing: the sweep fires the running ones from the
        # clock table.
        self.replay([o.case for o in orders if o.case is not None])
        with transaction.atomic():
            self.finish_orders([o for o in orders if o.case is not None])
            seed_bad_days(history_shops, self.users, self.now)
            self.record_stories(history_shops)
            for shop in history_shops:
                record_event(shop_id=shop.pk, type=HISTORY_SEEDED, by=SEED_ACTOR)

    def build_shop(self, shop: Shop, spec: data.ShopSpec, n_orders: int) -> list[OrderPlan]:
        skus_by_category = self.create_catalog(shop, spec)
        buyers = self.create_buyers(shop, max(20, int(n_orders * 0.6)))
        plans = self.plan_orders(shop, spec, skus_by_category, buyers, n_orders)
        for plan in plans:
            self.maybe_plan_case(plan)
        self.write_orders(shop, plans)
        return plans

    # Catalog, buyers -------------------------------------------------------------------------

    def create_catalog(
        self, shop: Shop, spec: data.ShopSpec
    ) -> dict[str, list[tuple[Sku, Product, float]]]:
        products = []
        for product_spec in spec.products:
            products.append(
                Product(
                    shop=shop,
                    platform_product_id=self.new_id("3", 18),
                    name=product_spec.name,
                    category=product_spec.category,
                    shelf_life_days=product_spec.shelf_life_days,
                    is_high_risk=product_spec.is_high_risk,
                )
            )
        Product.objects.bulk_create(products)
        skus: list[Sku] = []
        weights: list[float] = []
        for product, product_spec in zip(products, spec.products, strict=True):
            combos = _combinations(product_spec.axes)
            for labels, step_yuan in combos:
                skus.append(
                    Sku(
                        shop=shop,
                        product=product,
                        platform_sku_id=self.new_id("17", 17),
                        spec=";".join(labels),
                        list_price_fen=yuan_to_fen(product_spec.price_yuan)
                        + yuan_to_fen(step_yuan),
                    )
                )
                weights.append(product_spec.popularity / len(combos))
        Sku.objects.bulk_create(skus)
        by_category: dict[str, list[tuple[Sku, Product, float]]] = {}
        for sku, weight in zip(skus, weights, strict=True):
            by_category.setdefault(sku.product.category, []).append((sku, sku.product, weight))
        return by_category

    def create_buyers(self, shop: Shop, count: int) -> list[Buyer]:
        rng = self.rng
        buyers = []
        for _ in range(count):
            roll = rng.random()
            if roll < 0.25:
                nickname = "用户" + str(rng.randrange(1000000, 9999999))
            elif roll < 0.45:
                nickname = rng.choice(data.NICK_PLAIN) + str(rng.randrange(10, 999))
            else:
                nickname = rng.choice(data.NICK_HEADS) + rng.choice(data.NICK_TAILS)
            vip = rng.choices((0, 1, 2, 3), weights=(92, 5, 2, 1))[0]
            buyers.append(
                Buyer(
                    shop=shop,
                    platform_buyer_id=self.new_id("", 16),
                    nickname=nickname,
                    phone=_phone(rng),
                    vip_level=vip,
                )
            )
        Buyer.objects.bulk_create(buyers)
        return buyers

    # Orders ------------------------------------------------------------------------------------

    def plan_orders(
        self,
        shop: Shop,
        spec: data.ShopSpec,
        skus_by_category: dict[str, list[tuple[Sku, Product, float]]],
        buyers: list[Buyer],
        n_orders: int,
    ) -> list[OrderPlan]:
        rng = self.rng
        days = [self.start.astimezone(BEIJING).date() + timedelta(days=i) for i in range(DAYS + 1)]
        day_weights = []
        for index, day in enumerate(days):
            weight = 1.0 + index / DAYS  # the shop is growing: twice the orders of 90 days ago
            if day.weekday() >= 5:
                weight *= 1.15
            if (day.month, day.day) in PROMO_DAYS:
                weight *= 2.4
            elif ((day + timedelta(days=1)).month, (day + timedelta(days=1)).day) in PROMO_DAYS:
                weight *= 1.5
            day_weights.append(weight)
        buyer_weights = [3.0 if b.vip_level else 1.0 for b in buyers]
        categories = list(spec.category_mix)
        category_weights = [spec.category_mix[c] for c in categories]
        free_from = yuan_to_fen(spec.free_shipping_from_yuan)
        base_fee = yuan_to_fen(spec.shipping_fee_yuan)

        paid_times: list[datetime] = []
        while len(paid_times) < n_orders:
            day = rng.choices(days, weights=day_weights)[0]
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            local = datetime(
                day.year,
                day.month,
                day.day,
                hour,
                rng.randrange(60),
                rng.randrange(60),
                tzinfo=BEIJING,
            )
            paid_at = local.astimezone(self.now.tzinfo)
            if self.start <= paid_at <= self.now - timedelta(minutes=10):
                paid_times.append(paid_at)
        paid_times.sort()

        plans = []
        for paid_at in paid_times:
            buyer = rng.choices(buyers, weights=buyer_weights)[0]
            n_lines = rng.choices((1, 2, 3), weights=(72, 22, 6))[0]
            lines: list[LinePlan] = []
            used_products: set[int] = set()
            discount = rng.uniform(0.72, 0.97)  # shop coupon, 满减, live-stream price
            for _ in range(n_lines):
                if lines and lines[0].product.category == Category.DIGITAL:
                    break  # virtual goods are bought alone
                category = rng.choices(categories, weights=category_weights)[0]
                if category == Category.DIGITAL and lines:
                    continue
                choices = skus_by_category[category]
                sku, product, _w = rng.choices(choices, weights=[c[2] for c in choices])[0]
                if id(product) in used_products:
                    continue
                used_products.add(id(product))
                quantity = rng.choices((1, 2, 3), weights=(85, 12, 3))[0]
                if category in {Category.FOOD, Category.FRESH} and rng.random() < 0.2:
                    quantity += 1
                list_line = sku.list_price_fen * quantity
                paid_line = max(1, min(list_line - 1, round(list_line * discount)))
                best_before = None
                if product.shelf_life_days:
                    left = product.shelf_life_days * rng.uniform(0.35, 0.9)
                    best_before = (paid_at + timedelta(days=max(2.0, left))).date()
                lines.append(
                    LinePlan(
                        sku=sku,
                        product=product,
                        quantity=quantity,
                        list_price_fen=sku.list_price_fen,
                        paid_amount_fen=paid_line,
                        best_before=best_before,
                        # The buyer ticked "custom-made / virtual, no 7-day return" (R6.1).
                        exclusion_confirmed=category in {Category.CUSTOM, Category.DIGITAL},
                    )
                )
            paid_total = sum(line.paid_amount_fen for line in lines)
            virtual = all(line.product.category == Category.DIGITAL for line in lines)
            fresh = any(line.product.category == Category.FRESH for line in lines)
            province, city, districts = rng.choice(data.REGIONS)
            remote = province in data.REMOTE_PROVINCES
            fee = 0
            if not virtual and paid_total < free_from:
                fee = base_fee
            if not virtual and remote:
                fee += rng.choice((1000, 1500, 2000))
            if fresh and not virtual:
                fee = max(fee, 1200) if rng.random() < 0.4 else fee
            receiver_name = rng.choice(data.SURNAMES) + "".join(
                rng.choice(data.GIVEN) for _ in range(rng.choice((1, 2)))
            )
            address = (
                f"{province}{city}{rng.choice(districts)}{rng.choice(data.STREETS)}"
                f"{rng.randrange(1, 999)}号{rng.choice(data.COMMUNITIES)}"
                f"{rng.randrange(1, 30)}幢{rng.randrange(101, 2802)}室"
            )
            receiver_phone = buyer.phone if rng.random() < 0.8 else _phone(rng)
            carrier = data.COLD_CHAIN_CARRIER if fresh else rng.choice(data.CARRIERS)

            if virtual:
                ship_at = paid_at + timedelta(minutes=rng.uniform(0.5, 10))
                deliver_at = ship_at
            else:
                late = rng.random() < 0.03
                delay = self.hours(50, 110) if late else self.hours(2, 40)
                ship_at = self.staffed(paid_at + delay)
                transit = self.hours(18, 40) if fresh else self.hours(24, 96)
                if remote:
                    transit += self.hours(24, 72)
                deliver_at = ship_at + transit
            complete_at = deliver_at + timedelta(days=rng.uniform(2, 10))
            plans.append(
                OrderPlan(
                    shop=shop,
                    spec=spec,
                    buyer=buyer,
                    platform_order_id=self.new_id("69", 17),
                    paid_at=paid_at,
                    ship_at=ship_at,
                    deliver_at=deliver_at,
                    complete_at=complete_at,
                    lines=lines,
                    shipping_fee_fen=fee,
                    insured=(not virtual) and rng.random() < spec.insurance_rate,
                    receiver=(receiver_name, receiver_phone, address),
                    remote=remote,
                    carrier=carrier,
                    tracking_number=carrier[1] + _digits(rng, carrier[2]),
                )
            )
        return plans

    def write_orders(self, shop: Shop, plans: list[OrderPlan]) -> None:
        """Orders as the platform sync would import them. An order with a case is written as
        it was when the buyer applied; `finish_orders` brings it to today after the replay."""
        orders = []
        for plan in plans:
            as_of = plan.case.steps[0].at if plan.case else self.now
            name, phone, address = plan.receiver
            plan.obj = Order(
                shop=shop,
                buyer=plan.buyer,
                platform_order_id=plan.platform_order_id,
                paid_at=plan.paid_at,
                shipping_fee_paid_fen=plan.shipping_fee_fen,
                has_shipping_insurance=plan.insured,
                receiver_name=name,
                receiver_phone=phone,
                receiver_address=address,
                **plan.state_at(as_of),
            )
            orders.append(plan.obj)
        Order.objects.bulk_create(orders, batch_size=500)
        items = []
        for plan in plans:
            for line in plan.lines:
                line.obj = OrderItem(
                    shop=shop,
                    order=plan.obj,
                    sku=line.sku,
                    platform_item_id=self.new_id("69", 17),
                    quantity=line.quantity,
                    list_price_fen=line.list_price_fen,
                    paid_amount_fen=line.paid_amount_fen,
                    return_exclusion_confirmed=line.exclusion_confirmed,
                    best_before=line.best_before,
                )
                items.append(line.obj)
        OrderItem.objects.bulk_create(items, batch_size=500)
        shipments, history = [], []
        for plan in plans:
            final = plan.state_at(self.now)
            if final["shipped_at"] is None:
                continue
            if final["status"] == OrderStatus.CANCELLED:
                status = ShipmentStatus.RETURNED
            elif final["delivered_at"] is not None:
                status = ShipmentStatus.DELIVERED
            else:
                status = ShipmentStatus.IN_TRANSIT
            shipment = Shipment(
                shop=shop,
                order=plan.obj,
                kind=ShipmentKind.OUTBOUND,
                carrier=plan.carrier[0],
                tracking_number=plan.tracking_number,
                packaging=self.packaging_of(plan),
                status=status,
                created_at=final["shipped_at"],
            )
            shipments.append(shipment)
            history.append((shipment, ShipmentStatus.IN_TRANSIT, final["shipped_at"], "已揽收"))
            if status == ShipmentStatus.DELIVERED:
                history.append((shipment, status, final["delivered_at"], "已签收"))
            elif status == ShipmentStatus.RETURNED:
                intercepted = final["cancelled_at"] - timedelta(hours=6)
                history.append((shipment, ShipmentStatus.INTERCEPTED, intercepted, "拦截成功"))
                history.append((shipment, status, final["cancelled_at"], "已退回发件人"))
        Shipment.objects.bulk_create(shipments, batch_size=500)
        ShipmentEvent.objects.bulk_create(
            [ShipmentEvent(shipment=s, status=st, at=at, note=n) for s, st, at, n in history],
            batch_size=500,
        )
        rebuild_order_totals([shop.pk])  # the reports' daily order totals, after the bulk write

    def finish_orders(self, plans: list[OrderPlan]) -> None:
        fields = ["status", "shipped_at", "delivered_at", "completed_at", "cancelled_at"]
        for plan in plans:
            assert plan.obj is not None
            for name, value in plan.state_at(self.now).items():
                setattr(plan.obj, name, value)
        Order.objects.bulk_update([p.obj for p in plans if p.obj], fields, batch_size=500)

    # Case plans --------------------------------------------------------------------------------

    def maybe_plan_case(self, order: OrderPlan) -> None:
        """Decide whether this order gets an after-sales request, and plan its whole life."""
        rng = self.rng
        primary = rng.choices(order.lines, weights=[ln.paid_amount_fen for ln in order.lines])[0]
        category = primary.product.category
        virtual = category == Category.DIGITAL
        assert order.ship_at is not None and order.deliver_at is not None
        if not virtual and rng.random() < order.spec.unshipped_refund_rate:
            late = order.ship_at - order.paid_at > timedelta(hours=48)
            if late and rng.random() < 0.6:
                reason = "late_shipment"
                waited = (order.ship_at - order.paid_at).total_seconds() / 3600
                opened = order.paid_at + self.hours(48, waited - 0.5)
            else:
                reason = rng.choices(("changed_mind", "no_reason", "other"), (70, 15, 15))[0]
                window = (order.ship_at - order.paid_at).total_seconds() / 3600
                opened = order.paid_at + self.hours(0.05, max(0.1, window * 0.9))
            if opened < self.now:
                self.plan_unshipped(order, reason, opened, category)
            return
        if not virtual and rng.random() < 0.004:
            opened = order.ship_at + self.hours(50, 120)
            if opened < self.now:
                order.deliver_at = order.complete_at = None  # stuck somewhere on the way
                plan = self.new_case(order, T.REFUND_SHIPPED, "not_received", primary, opened)
                plan.lines = [(line, line.quantity) for line in order.lines]
                self.plan_not_received(plan, opened)
            return
        rate, mix = self.story_profile(order, primary) or CASE_PROFILES[category]
        if rng.random() >= rate:
            return
        _weight, type_, reason = rng.choices(mix, weights=[m[0] for m in mix])[0]
        low, high = OPEN_AFTER_DELIVERY_DAYS[reason]
        late_no_reason = reason == "no_reason" and rng.random() < 0.07
        if late_no_reason:
            low, high = 7.5, 12.0
        opened = order.deliver_at + timedelta(days=rng.uniform(low, high))
        if opened >= self.now:
            return
        if type_ == T.REFUND_SHIPPED and order.complete_at and opened >= order.complete_at:
            # Refund-only requests come while the order is still open; keep it open.
            order.complete_at = opened + timedelta(days=rng.uniform(1, 4))
        if reason == "expired" and primary.best_before is not None:
            primary.best_before = (order.deliver_at + timedelta(days=rng.randrange(3, 20))).date()
        plan = self.new_case(order, type_, reason, primary, opened)
        self.plan_after_delivery(plan, opened, late_no_reason)

    def size_chart_day(self) -> date:
        return (self.now - timedelta(days=SIZE_CHART_DAYS_AGO)).astimezone(BEIJING).date()

    def dip_month(self) -> tuple[date, date]:
        first = (self.now - timedelta(days=DIP_DAYS_AGO)).astimezone(BEIJING).date().replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)

    def story_profile(
        self, order: OrderPlan, primary: LinePlan
    ) -> tuple[float, tuple[tuple[int, str, str], ...]] | None:
        """The stories' case rates and mixes, where they differ from the category's."""
        if primary.product.name == STORY_SKIRT:
            if order.paid_at.astimezone(BEIJING).date() < self.size_chart_day():
                return 0.42, (
                    (75, T.RETURN_REFUND, "wrong_size"),
                    (25, T.RETURN_REFUND, "no_reason"),
                )
            return 0.14, ((10, T.RETURN_REFUND, "wrong_size"), (90, T.RETURN_REFUND, "no_reason"))
        if primary.product.name == STORY_FRAGILE and order.carrier[0] == STORY_CARRIER:
            return 0.4, ((90, T.REFUND_SHIPPED, "damaged"), (10, T.RETURN_REFUND, "no_reason"))
        return None

    def packaging_of(self, plan: OrderPlan) -> str:
        """Clothes go in a poly bag, everything else in a carton — except the flask, which
        the 韵达 pick-up point bags."""
        names = {line.product.name for line in plan.lines}
        if STORY_FRAGILE in names and plan.carrier[0] == STORY_CARRIER:
            return Packaging.BAG
        if all(line.product.category == Category.APPAREL for line in plan.lines):
            return Packaging.BAG
        return Packaging.BOX

    def record_stories(self, shops: list[Shop]) -> None:
        """What the stories need besides the orders and cases: the skirt's new size chart."""
        skirt = Product.objects.filter(shop__in=shops, name=STORY_SKIRT).first()
        if skirt is None:
            return
        from aftersales.analytics.services import record_improvement

        record_improvement(
            product_id=skirt.pk,
            kind="size_chart",
            description="尺码表改为按腰围、臀围标注，并加上模特身高体重",
            changed_on=self.size_chart_day(),
            by=self.actors["admin"],
        )

    def new_case(
        self, order: OrderPlan, type_: str, reason: str, primary: LinePlan, opened: datetime
    ) -> CasePlan:
        rng = self.rng
        quantity = primary.quantity
        if quantity > 1 and type_ != T.REFUND_UNSHIPPED and rng.random() < 0.5:
            quantity = 1
        high_value = primary.paid_amount_fen >= 100000
        senior = order.buyer.vip_level > 0 or primary.product.is_high_risk or high_value
        handler = "supervisor" if senior or rng.random() < 0.05 else "agent"
        plan = CasePlan(
            order=order,
            type=type_,
            reason=reason,
            lines=[(primary, quantity)],
            handler=handler,
            category=primary.product.category,
        )
        order.case = plan
        plan.add(opened, "open")
        return plan

    def assign(self, plan: CasePlan, opened: datetime) -> None:
        """Automatic assignment a few minutes after the application (R9.2)."""
        plan.add(opened + timedelta(minutes=self.rng.uniform(0.5, 20)), "assign")

    def plan_unshipped(self, order: OrderPlan, reason: str, opened: datetime, cat: str) -> None:
        """未发货仅退款: agreed at once (mostly automatically, R3.1); the order is cancelled."""
        rng = self.rng
        primary = order.lines[0]
        plan = self.new_case(order, T.REFUND_UNSHIPPED, reason, primary, opened)
        plan.lines = [(line, line.quantity) for line in order.lines]
        if rng.random() < 0.05:
            withdrawn = plan.add(opened + timedelta(minutes=rng.uniform(5, 60)), "withdraw")
            assert order.ship_at is not None
            order.ship_at = max(order.ship_at, self.staffed(withdrawn + self.hours(2, 20)))
            self._reschedule_delivery(order)
            return
        if rng.random() < 0.7:
            plan.auto = True
            t = plan.add(opened + timedelta(minutes=rng.uniform(1, 15)), "approve")
        else:
            self.assign(plan, opened)
            t = plan.add(self.staffed(opened + self.hours(0.2, 3)), "approve")
        t = plan.add(t + timedelta(minutes=rng.uniform(0, 2)), "refund", shipping=True)
        executed = plan.add(t + timedelta(seconds=rng.uniform(5, 90)), "execute")
        order.ship_at = order.deliver_at = order.complete_at = None
        order.cancelled_at = executed

    def _reschedule_delivery(self, order: OrderPlan) -> None:
        assert order.ship_at is not None
        order.deliver_at = order.ship_at + self.hours(24, 96)
        order.complete_at = order.deliver_at + timedelta(days=self.rng.uniform(2, 10))

    def plan_not_received(self, plan: CasePlan, opened: datetime) -> None:
        """Shipped, not delivered: intercept the parcel first, refund when it is stopped."""
        rng = self.rng
        self.assign(plan, opened)
        t = plan.add(self.staffed(opened + self.hours(0.3, 4)), "approve")
        plan.add(t + timedelta(minutes=rng.uniform(2, 20)), "cost", kind="interception")
        t = plan.add(t + self.hours(20, 60), "refund", shipping=True)
        executed = plan.add(t + timedelta(seconds=rng.uniform(5, 90)), "execute")
        plan.order.cancelled_at = executed

    def plan_after_delivery(self, plan: CasePlan, opened: datetime, late: bool) -> None:
        self.assign(plan, opened)
        t = self.plan_stage_one(plan, opened, late)
        if t is None:
            return
        if plan.type == T.REFUND_SHIPPED:
            self.plan_refund(plan, t, partial_rate=PARTIAL_REFUND_RATE.get(plan.category, 0.0))
        elif plan.type == T.RESEND:
            self.plan_parcel_to_buyer(plan, t + self.hours(2, 24), "resend")
        else:
            self.plan_return(plan, t)

    def plan_stage_one(self, plan: CasePlan, opened: datetime, late: bool) -> datetime | None:
        """Evidence, technical support, and the first review. Returns when it was agreed,
        or None when the case ends here."""
        rng = self.rng
        t = opened
        vip = plan.order.buyer.vip_level > 0
        if REASONS[plan.reason].needs_evidence:
            if rng.random() < 0.65:
                t = plan.add(t + timedelta(minutes=rng.uniform(2, 15)), "buyer_evidence")
            else:
                t = plan.add(self.staffed(t + self.hours(0.3, 3)), "request_evidence")
                if rng.random() < 0.2:
                    plan.add(
                        t + self.hours(72, 73), "close", note="买家超过72小时未补充凭证,售后关闭"
                    )
                    return None
                t = plan.add(t + self.hours(1, 30), "buyer_evidence")
        if plan.category == Category.ELECTRONICS and plan.reason == "functional_fault":
            if rng.random() < 0.2:  # technical support first (R7.3)
                plan.add(self.staffed(t + self.hours(0.3, 4)), "withdraw")
                return None
        elif rng.random() < 0.03:
            plan.add(t + self.hours(0.5, 10), "withdraw")
            return None
        delay = self.review_delay(vip)
        if plan.handler == SLOW_AGENT:
            delay *= 3  # the slow agent's story
        first, last = self.dip_month()
        if first <= t.astimezone(BEIJING).date() <= last:
            delay *= 3  # the month of the dip
        t = self.staffed(t + delay)
        reject = self.stage_one_rejection(plan, late)
        if reject is not None:
            code, note = reject
            t = plan.add(t, "reject", code=code, note=note)
            if code in {"not_quality_issue", "agreed_other_solution"} and rng.random() < 0.3:
                t = plan.add(t + self.hours(4, 48), "reopen")
                t = self.staffed(t + self.hours(0.5, 4))
            else:
                plan.add(
                    t + timedelta(days=rng.uniform(3, 5)), "close", note="买家未修改申请,售后关闭"
                )
                return None
        note = rng.choice(data.APPROVE_NOTES) if plan.type in RETURNING_TYPES else ""
        return plan.add(t, "approve", note=note)

    def review_delay(self, vip: bool) -> timedelta:
        """How long a request waits for the first review: mostly within hours, longer on
        busy days; VIP requests go to the front of the queue (R2.8)."""
        if vip:
            return self.hours(0.1, 1.0)
        roll = self.rng.random()
        if roll < 0.5:
            return self.hours(0.2, 3.0)
        if roll < 0.85:
            return self.hours(3.0, 24.0)
        return self.hours(24.0, 48.0)

    def stage_one_rejection(self, plan: CasePlan, late: bool) -> tuple[str, str] | None:
        rng = self.rng
        if plan.reason == "no_reason" and late:
            return "beyond_window", "已超过签收后7天无理由退货期限,无法受理"
        if plan.reason == "no_reason" and plan.category in EXCLUDED_FROM_NO_REASON:
            if plan.category == Category.CUSTOM:
                return "excluded_goods", "定制商品下单时已确认不支持七天无理由退货"
            return "excluded_goods", "虚拟商品兑换码已发放,不支持七天无理由退货"
        if plan.reason == "functional_fault" and rng.random() < 0.1:
            return "not_quality_issue", "经远程检测设备功能正常,非质量问题(见检测视频)"
        if rng.random() < 0.03:
            return "agreed_other_solution", "已与买家协商一致,补发配件解决"
        return None

    def plan_refund(self, plan: CasePlan, agreed: datetime, *, partial_rate: float) -> None:
        rng = self.rng
        partial = None
        if plan.type == T.REFUND_SHIPPED and rng.random() < partial_rate:
            partial = rng.choice((0.3, 0.4, 0.5, 0.6))
        responsible = REASONS[plan.reason].responsible
        whole_order = all(
            any(line is covered and qty == line.quantity for covered, qty in plan.lines)
            for line in plan.order.lines
        )
        shipping = partial is None and whole_order and responsible != "buyer"
        t = plan.add(
            agreed + timedelta(minutes=rng.uniform(0.5, 20)),
            "refund",
            shipping=shipping,
            partial=partial,
        )
        plan.add(t + timedelta(seconds=rng.uniform(5, 90)), "execute")

    def plan_return(self, plan: CasePlan, agreed: datetime) -> None:
        """Return, exchange or repair: the goods come back, are inspected, second review."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            plan.add(agreed + self.hours(1, 48), "withdraw")
            return
        if roll < 0.09:
            plan.add(
                agreed + timedelta(days=7, hours=rng.uniform(0, 2)),
                "close",
                note="买家超时未寄回商品,售后关闭",
            )
            return
        t = plan.add(agreed + self.hours(2, 72), "ship_return")
        t = plan.add(self.staffed(t + self.hours(30, 96)), "receive")
        plan.add(t + timedelta(minutes=rng.uniform(1, 30)), "cost", kind="return_shipping")
        food = plan.category in {Category.FOOD, Category.FRESH}
        # Food is inspected as soon as it arrives (R2.5, R7.1); the rest within 48 hours.
        t = t + (self.hours(0.1, 1.5) if food else self.hours(1, 40))
        t = self.staffed(t)
        fail_code = None
        if plan.category == Category.BEAUTY and plan.reason == "no_reason" and rng.random() < 0.25:
            fail_code = "goods_used"  # opened cosmetics: no no-reason return (R7.2)
        elif rng.random() < 0.05:
            fail_code = rng.choices(("returned_damaged", "returned_wrong_item"), (80, 20))[0]
        t = plan.add(t + timedelta(minutes=rng.uniform(5, 40)), "inspect", fail=fail_code)
        if fail_code is not None:
            t = plan.add(
                t + self.hours(0.2, 2),
                "reject",
                code=fail_code,
                note=data.INSPECTION_FAIL_NOTES[fail_code],
                photo=True,
            )
            plan.add(t + timedelta(days=rng.uniform(3, 7)), "close", note="买家未申诉,售后关闭")
            return
        t = plan.add(self.staffed(t + self.hours(0.1, 3)), "approve_final")
        goods_lost = plan.reason in {"damaged", "quality_issue", "functional_fault", "expired"}
        if goods_lost and plan.type != T.REPAIR:
            plan.add(t + timedelta(minutes=rng.uniform(1, 10)), "cost", kind="write_off")
        if plan.type == T.RETURN_REFUND:
            self.plan_refund(plan, t, partial_rate=0.0)
        elif plan.type == T.EXCHANGE:
            if rng.random() < 0.06:  # the size is sold out: the exchange becomes a refund
                t = plan.add(self.staffed(t + self.hours(2, 24)), "convert")
                self.plan_refund(plan, t, partial_rate=0.0)
                return
            t = plan.add(self.staffed(t + self.hours(1, 20)), "quality_check", ok=True)
            if rng.random() < 0.05:
                plan.steps[-1].args["ok"] = False
                t = plan.add(t + self.hours(2, 6), "quality_check", ok=True)
            self.plan_parcel_to_buyer(plan, t + self.hours(0.5, 6), "ship_replacement")
        else:
            self.plan_parcel_to_buyer(plan, t + timedelta(days=rng.uniform(2, 6)), "repair")

    def plan_parcel_to_buyer(self, plan: CasePlan, at: datetime, action: str) -> None:
        t = plan.add(self.staffed(at), action)
        plan.add(t + timedelta(minutes=self.rng.uniform(1, 10)), "cost", kind="outbound")
        plan.add(t + self.hours(36, 96), "confirm_receipt")

    # Replaying the plans through the services ---------------------------------------------------

    def replay(self, plans: Sequence[CasePlan]) -> None:
        """Every step of every case in time order, about a second of them per transaction."""
        timeline = sorted(
            (step.at, plan_index, step_index)
            for plan_index, plan in enumerate(plans)
            for step_index, step in enumerate(plan.steps)
            if step.at <= self.now
        )
        total = len(timeline)
        tenth = max(1, total // 10)
        # Inside a caller's transaction (a test) there is no lock to let go of.
        pause = REPLAY_PAUSE_SECONDS.get(connection.vendor, 0.0)
        if connection.in_atomic_block:
            pause = 0.0
        done = 0
        while done < total:
            with transaction.atomic():
                began = time.monotonic()
                while True:  # at least one step a transaction
                    if done % tenth == 0:
                        self.progress(
                            f"  售后单按时间重放 {round(100 * done / total)}% ({done}/{total} 步)"
                        )
                    at, plan_index, step_index = timeline[done]
                    plan = plans[plan_index]
                    step = plan.steps[step_index]
                    self.clock.advance_to(at)
                    handler: Callable[[CasePlan, Step], None] = getattr(self, f"do_{step.action}")
                    handler(plan, step)
                    done += 1
                    if done == total or time.monotonic() - began >= REPLAY_CHUNK_SECONDS:
                        break
            if pause:
                time.sleep(pause)

    def staff(self, plan: CasePlan) -> Actor:
        return self.actors[plan.handler]

    def current(self, plan: CasePlan) -> Case:
        assert plan.case is not None
        return plan.case

    def do_open(self, plan: CasePlan, step: Step) -> None:
        order = plan.order.obj
        assert order is not None
        statements = data.STATEMENTS.get((plan.category, plan.reason)) or (
            data.STATEMENTS_BY_REASON.get(plan.reason, ("",))
        )
        plan.case = cs.open_case(
            order=order,
            type=plan.type,
            reason=plan.reason,
            items=[cs.RequestedItem(order_item=_item(line), quantity=q) for line, q in plan.lines],
            by=SEED_ACTOR,
            buyer_statement=self.rng.choice(statements),
            platform_case_id=self.new_id("72", 17),
            applied_at=step.at,
        )

    def do_assign(self, plan: CasePlan, step: Step) -> None:
        case = self.current(plan)
        cs.assign_case(case=case, assignee=self.users[plan.handler], by=SEED_ACTOR)

    def do_buyer_evidence(self, plan: CasePlan, step: Step) -> None:
        uploads = [self.upload(step.at) for _ in range(self.rng.choice((1, 1, 2, 3)))]
        cs.record_buyer_evidence(
            case=self.current(plan), uploads=uploads, by=SEED_ACTOR, note="买家上传的凭证"
        )

    def do_request_evidence(self, plan: CasePlan, step: Step) -> None:
        cs.request_evidence(
            case=self.current(plan),
            note="亲,麻烦提供商品问题部位的清晰照片或视频,以便我们尽快为您处理",
            by=self.staff(plan),
        )

    def do_withdraw(self, plan: CasePlan, step: Step) -> None:
        cs.withdraw_case(case=self.current(plan), by=SEED_ACTOR)

    def do_close(self, plan: CasePlan, step: Step) -> None:
        cs.close_case(case=self.current(plan), note=step.args["note"], by=SEED_ACTOR)

    def do_reopen(self, plan: CasePlan, step: Step) -> None:
        cs.reopen_case(case=self.current(plan), note="买家补充说明后重新申请", by=SEED_ACTOR)

    def do_approve(self, plan: CasePlan, step: Step) -> None:
        if plan.auto:
            by, note = SEED_ACTOR, "未发货订单,按店铺政策自动同意退款"
        else:
            by, note = self.staff(plan), step.args.get("note", "")
        cs.approve_case(case=self.current(plan), by=by, note=note)

    def do_reject(self, plan: CasePlan, step: Step) -> None:
        case = self.current(plan)
        by = self.staff(plan)
        evidence_ids: list[int] = []
        if step.args.get("photo") and plan.photo_id is not None:
            evidence_ids = [plan.photo_id]
        elif REJECT_REASONS[step.args["code"]].needs_evidence:
            evidence = cs.attach_evidence(
                case=case,
                upload=self.upload(step.at),
                source=EvidenceSource.MERCHANT,
                by=by,
                note=REJECT_EVIDENCE_NOTES.get(step.args["code"], "凭证照片"),
            )
            evidence_ids = [evidence.pk]
        cs.reject_case(
            case=case,
            reason_code=step.args["code"],
            note=step.args["note"],
            by=by,
            evidence_ids=evidence_ids,
        )

    def do_ship_return(self, plan: CasePlan, step: Step) -> None:
        carrier = self.rng.choice(data.CARRIERS)
        cs.record_return_shipment(
            case=self.current(plan),
            carrier=carrier[0],
            tracking_number=carrier[1] + _digits(self.rng, carrier[2]),
            by=SEED_ACTOR,
        )

    def do_receive(self, plan: CasePlan, step: Step) -> None:
        cs.receive_return(case=self.current(plan), by=self.actors["agent"])

    def do_inspect(self, plan: CasePlan, step: Step) -> None:
        case = self.current(plan)
        by = self.actors["agent"]
        fail = step.args.get("fail")
        photo = cs.attach_evidence(
            case=case,
            upload=self.upload(step.at),
            source=EvidenceSource.INSPECTION,
            by=by,
            note="验货照片",
        )
        plan.photo_id = photo.pk
        if fail is None:
            condition = "damaged" if plan.reason == "damaged" else "good"
            cs.inspect_return(
                case=case,
                result="pass",
                condition=condition,
                notes="验货通过,商品与发出一致" if condition == "good" else "确认运输破损",
                photo_ids=[photo.pk],
                by=by,
            )
        else:
            condition = "not_sent_item" if fail == "returned_wrong_item" else "damaged"
            cs.inspect_return(
                case=case,
                result="fail",
                condition=condition,
                notes=data.INSPECTION_FAIL_NOTES[fail],
                photo_ids=[photo.pk],
                by=by,
            )

    def do_approve_final(self, plan: CasePlan, step: Step) -> None:
        cs.approve_after_inspection(case=self.current(plan), by=self.staff(plan), note="验货通过")

    def do_refund(self, plan: CasePlan, step: Step) -> None:
        case = self.current(plan)
        order = Order.objects.get(pk=case.order_id)
        shipping = 0
        if step.args.get("shipping"):
            shipping = order.shipping_fee_paid_fen - order.shipping_refunded_fen
        goods, reason = None, ""
        ratio = step.args.get("partial")
        if ratio:
            caps = [item_cap(OrderItem.objects.get(pk=_item(line).pk), q) for line, q in plan.lines]
            cap = sum(c.cap_fen for c in caps)
            goods = max(1, min(cap - 1, int(round(cap * ratio, -2))))
            reason = data.PARTIAL_REFUND_REASONS.get(plan.reason, "与买家协商一致部分退款")
        by = SEED_ACTOR if plan.auto else self.staff(plan)
        cs.refund_case(
            case=case, by=by, goods_amount_fen=goods, shipping_amount_fen=shipping, reason=reason
        )

    def do_execute(self, plan: CasePlan, step: Step) -> None:
        execution = RefundExecution.objects.get(decision__case=self.current(plan))
        cs.execute_refund(execution=execution, by=SEED_ACTOR)

    def do_cost(self, plan: CasePlan, step: Step) -> None:
        rng = self.rng
        kind = step.args["kind"]
        responsible = REASONS[plan.reason].responsible
        remote_extra = 1000 if plan.order.remote else 0
        if kind == "return_shipping":
            amount = rng.randrange(800, 1500, 10) + remote_extra
            if responsible != "buyer":
                payer, note = CostPayer.MERCHANT, "商家责任,退货运费由商家承担"
            elif plan.order.insured:
                payer, note = CostPayer.INSURANCE, "运费险理赔"
            else:
                payer, note = CostPayer.BUYER, "买家原因,退货运费买家自理"
            cost_kind = CostKind.RETURN_SHIPPING
        elif kind == "outbound":
            amount = rng.randrange(600, 1200, 10) + remote_extra
            payer, note, cost_kind = CostPayer.MERCHANT, "重新发货运费", CostKind.OUTBOUND_SHIPPING
        elif kind == "interception":
            amount = rng.randrange(300, 600, 10)
            payer, note, cost_kind = CostPayer.MERCHANT, "物流拦截费", CostKind.INTERCEPTION_FEE
        else:
            line, quantity = plan.lines[0]
            share = line.paid_amount_fen * quantity // line.quantity
            amount = max(100, int(share * rng.uniform(0.3, 0.6)))
            payer, note, cost_kind = (
                CostPayer.MERCHANT,
                "退回商品无法二次销售",
                CostKind.GOODS_WRITTEN_OFF,
            )
        cs.add_cost(
            case=self.current(plan),
            kind=cost_kind,
            amount_fen=amount,
            payer=payer,
            note=note,
            by=self.actors["agent"],
        )

    def do_convert(self, plan: CasePlan, step: Step) -> None:
        cs.convert_to_refund(
            case=self.current(plan), note="该规格已断货,与买家协商改为退款", by=self.staff(plan)
        )

    def do_quality_check(self, plan: CasePlan, step: Step) -> None:
        ok = step.args["ok"]
        cs.record_quality_check(
            case=self.current(plan),
            quality_ok=ok,
            packaging_intact=True,
            notes="新品质检通过,包装完好" if ok else "新品有瑕疵,更换另一件",
            by=self.actors["agent"],
        )

    def _parcel(self) -> tuple[str, str]:
        carrier = self.rng.choice(data.CARRIERS)
        return carrier[0], carrier[1] + _digits(self.rng, carrier[2])

    def do_ship_replacement(self, plan: CasePlan, step: Step) -> None:
        carrier, tracking = self._parcel()
        cs.ship_replacement(
            case=self.current(plan), carrier=carrier, tracking_number=tracking, by=self.staff(plan)
        )

    def do_resend(self, plan: CasePlan, step: Step) -> None:
        carrier, tracking = self._parcel()
        cs.resend_items(
            case=self.current(plan), carrier=carrier, tracking_number=tracking, by=self.staff(plan)
        )

    def do_repair(self, plan: CasePlan, step: Step) -> None:
        carrier, tracking = self._parcel()
        cs.return_repaired(
            case=self.current(plan),
            carrier=carrier,
            tracking_number=tracking,
            repair_notes=self.rng.choice(data.REPAIR_NOTES),
            by=self.staff(plan),
        )

    def do_confirm_receipt(self, plan: CasePlan, step: Step) -> None:
        cs.confirm_buyer_receipt(case=self.current(plan), by=SEED_ACTOR)

    # Summary ------------------------------------------------------------------------------------

    def summary(self, shops: list[Shop], users: list[tuple[DemoUser, bool]]) -> SeedResult:
        result = SeedResult(created=True, shops=shops, users=users)
        result.counts = demo_counts(shops)
        result.cases_by_status = cases_by_status(shops)
        result.refunded_fen = sum(
            RefundExecution.objects.filter(
                shop__in=shops, status=ExecutionStatus.SUCCEEDED
            ).values_list("amount_fen", flat=True)
        )
        return result


def demo_counts(shops: Sequence[Shop]) -> dict[str, int]:
    return {
        "products": Product.objects.filter(shop__in=shops).count(),
        "skus": Sku.objects.filter(shop__in=shops).count(),
        "buyers": Buyer.objects.filter(shop__in=shops).count(),
        "orders": Order.objects.filter(shop__in=shops).count(),
        "order_items": OrderItem.objects.filter(shop__in=shops).count(),
        "cases": Case.objects.filter(shop__in=shops).count(),
        "audit_events": AuditEvent.objects.filter(shop__in=shops).count(),
    }


def cases_by_status(shops: Sequence[Shop]) -> dict[str, int]:
    rows = Case.objects.filter(shop__in=shops).values("status").annotate(n=Count("pk"))
    counts = Counter({row["status"]: row["n"] for row in rows})
    return {status: counts[status] for status in CaseStatus.values if counts[status]}


# --- Small pure helpers -------------------------------------------------------------------------


def _item(line: LinePlan) -> OrderItem:
    assert line.obj is not None, "order items are written before the replay"
    return line.obj


def _combinations(axes: Sequence[data.Axis]) -> list[tuple[list[str], str]]:
    """Every SKU of a product: its "axis:value" labels and its price step in yuan."""
    combos: list[tuple[list[str], int]] = [([], 0)]
    for axis_name, values in axes:
        expanded = []
        for labels, step in combos:
            for value in values:
                label, extra = (value, "0") if isinstance(value, str) else value
                expanded.append(([*labels, f"{axis_name}:{label}"], step + yuan_to_fen(extra)))
        combos = expanded
    if combos == [([], 0)]:
        return [(["默认"], "0")]
    return [(labels, f"{step / 100:.2f}") for labels, step in combos]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + _digits(rng, 9)


_IMAGE_COLOURS = (
    ((222, 214, 200), (160, 150, 140)),
    ((200, 220, 235), (90, 120, 150)),
    ((235, 225, 210), (120, 90, 70)),
    ((210, 210, 210), (60, 60, 60)),
    ((240, 230, 240), (170, 140, 170)),
    ((220, 235, 220), (100, 140, 100)),
)
