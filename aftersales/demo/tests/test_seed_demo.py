"""`seed_demo`: two demo shops with staff, orders and cases built through the services, and an
empty third one for `make demo` to connect to the simulator; once."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F, Sum

from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditChainHead, AuditEvent
from aftersales.cases.choices import CaseStatus, RefundStatus
from aftersales.cases.models import Case, RefundDecision, RefundExecution, RefundLine
from aftersales.catalog.models import Product, Sku
from aftersales.demo import seed as demo_seed
from aftersales.demo.data import LIVE_SHOP_ID
from aftersales.demo.seed import DEMO_PASSWORD, demo_shops
from aftersales.orders.models import Buyer, Order, OrderItem, Shipment
from aftersales.shops.models import Membership, Shop
from aftersales.team.models import Duty

pytestmark = pytest.mark.django_db

ORDERS_PER_SHOP = 200
# A fixed "now" makes the data fully reproducible, so the mix of statuses is known.
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", orders_per_shop=ORDERS_PER_SHOP, stdout=out, **options)
    return out.getvalue()


def test_it_builds_the_shops_with_one_login_per_role_in_each():
    output = seed(now=NOW)

    shops = demo_shops()
    assert [s.name for s in shops] == ["潮流服饰旗舰店", "数码生活专营店", "潮流服饰抖音直播店"]
    users = get_user_model().objects
    for username in ("agent", "supervisor", "admin", "auditor"):
        user = users.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        roles = set(Membership.objects.filter(user=user).values_list("shop_id", "role"))
        assert roles == {(shop.pk, username) for shop in shops}
        assert username in output
    admin = users.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not users.get(username="auditor").is_staff
    assert DEMO_PASSWORD in output and "http://127.0.0.1:8000/" in output


def test_the_shop_make_demo_connects_starts_empty_with_its_agent_and_supervisor_on_duty():
    """Its cases come from the simulator; the seeded history is not there to act on."""
    seed(now=NOW)

    live = demo_shops()[-1]
    assert live.platform_shop_id == LIVE_SHOP_ID
    assert not Order.objects.filter(shop=live).exists()
    assert not Case.objects.filter(shop=live).exists()
    on_duty = Duty.objects.filter(shop=live, on_duty=True).values_list("user__username", flat=True)
    assert sorted(on_duty) == ["agent", "supervisor"]
    assert verify_chain(live.pk) is None


def test_a_demo_seeded_before_the_live_shop_existed_gets_it_on_the_next_run(monkeypatch):
    """Otherwise `make demo` on an older var/ database would fail to connect the shop."""
    with monkeypatch.context() as patched:
        patched.setattr(demo_seed, "create_live_shop", lambda users: Shop.objects.first())
        seed(now=NOW)
    assert not Shop.objects.filter(platform_shop_id=LIVE_SHOP_ID).exists()
    cases = Case.objects.count()

    seed()

    live = Shop.objects.get(platform_shop_id=LIVE_SHOP_ID)
    assert demo_shops()[-1] == live
    on_duty = Duty.objects.filter(shop=live, on_duty=True).values_list("user__username", flat=True)
    assert sorted(on_duty) == ["agent", "supervisor"]
    assert Case.objects.count() == cases  # nothing else written


def test_the_catalog_and_orders_look_like_a_real_shop():
    seed(now=NOW)

    shops = demo_shops()[:-1]  # the seeded two
    for shop in shops:
        assert 25 <= Product.objects.filter(shop=shop).count() <= 40
        assert Order.objects.filter(shop=shop).count() == ORDERS_PER_SHOP
    categories = set(Product.objects.values_list("category", flat=True))
    assert {"apparel", "beauty", "electronics", "food", "fresh", "custom", "digital"} <= categories
    assert Product.objects.filter(category="electronics", is_high_risk=True).exists()
    assert not Product.objects.filter(category="food", shelf_life_days__isnull=True).exists()
    assert Sku.objects.filter(spec__contains="尺码:").exists()
    assert Buyer.objects.filter(vip_level__gt=0).exists()
    assert not Buyer.objects.filter(phone="").exists()
    # What was paid is after discounts, below the list price, and never zero.
    assert not OrderItem.objects.filter(
        paid_amount_fen__gte=F("list_price_fen") * F("quantity")
    ).exists()
    assert not OrderItem.objects.filter(paid_amount_fen=0).exists()
    assert Order.objects.filter(has_shipping_insurance=True).exists()
    assert Order.objects.filter(shipping_fee_paid_fen__gt=0).exists()
    # Orders are spread over the 90 days before "now", and shipped ones have a parcel.
    first = Order.objects.order_by("paid_at").first().paid_at
    last = Order.objects.order_by("-paid_at").first().paid_at
    assert NOW - timedelta(days=91) <= first < NOW - timedelta(days=80)
    assert NOW - timedelta(days=2) < last <= NOW
    shipped = Order.objects.filter(shipped_at__isnull=False)
    assert Shipment.objects.filter(kind="outbound").count() == shipped.count()


def test_cases_went_through_their_lifecycle_and_the_money_adds_up():
    seed(now=NOW)

    cases = Case.objects.all()
    statuses = set(cases.values_list("status", flat=True))
    assert {CaseStatus.COMPLETED, CaseStatus.CLOSED} <= statuses
    assert len(statuses - {CaseStatus.COMPLETED, CaseStatus.CLOSED}) >= 2, statuses
    assert len(set(cases.values_list("type", flat=True))) >= 4
    # Old cases are finished; only recent ones are still open.
    stale = cases.filter(applied_at__lt=NOW - timedelta(days=30)).exclude(
        status__in=[CaseStatus.COMPLETED, CaseStatus.CLOSED]
    )
    assert not stale.exists()
    assert cases.filter(applied_at__gte=NOW - timedelta(days=90), applied_at__lte=NOW).count() == (
        cases.count()
    )

    # Every item refunded at most what was paid, and exactly the sum of its refund lines.
    assert not OrderItem.objects.filter(refunded_amount_fen__gt=F("paid_amount_fen")).exists()
    lines = dict(
        RefundLine.objects.values("order_item")
        .annotate(total=Sum("amount_fen"))
        .values_list("order_item", "total")
    )
    refunded = dict(
        OrderItem.objects.filter(refunded_amount_fen__gt=0).values_list("pk", "refunded_amount_fen")
    )
    assert refunded == lines
    assert not Order.objects.filter(shipping_refunded_fen__gt=F("shipping_fee_paid_fen")).exists()
    # Each refund was decided once and executed once.
    refunded_cases = cases.filter(refund_status=RefundStatus.REFUNDED)
    assert refunded_cases.exists()
    assert RefundDecision.objects.count() == RefundExecution.objects.count()
    assert RefundExecution.objects.filter(status="succeeded", attempts=1).count() == (
        refunded_cases.count()
    )

    # Every case was opened through the service (its first event), and the chains verify.
    opened = AuditEvent.objects.filter(type="case_opened").values_list("case_id", flat=True)
    assert set(opened) == set(cases.values_list("pk", flat=True))
    for shop in demo_shops():
        assert verify_chain(shop.pk) is None
        times = list(
            AuditEvent.objects.filter(shop=shop)
            .order_by("seq")
            .values_list("created_at", flat=True)
        )
        assert times == sorted(times)
        assert NOW - timedelta(days=96) <= times[0] and times[-1] <= NOW + timedelta(minutes=5)


def snapshot() -> dict[str, object]:
    models = [Product, Sku, Buyer, Order, OrderItem, Shipment, Case, RefundExecution, AuditEvent]
    counts = {model.__name__: model.objects.count() for model in models}
    counts["users"] = get_user_model().objects.count()
    counts["heads"] = sorted(AuditChainHead.objects.values_list("shop_id", "last_seq", "last_hash"))
    counts["cases"] = sorted(Case.objects.values_list("pk", "status", "updated_at"))
    return counts


def test_running_it_again_changes_nothing():
    seed()
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "未做任何更改" in output
    assert "agent" in output and DEMO_PASSWORD in output


# --- Two parts: the staff at once, the history while the server answers (issue 14) ------------


def test_the_staff_part_gives_logins_and_empty_shops_and_the_history_follows():
    output = seed(staff_only=True, now=NOW)

    shops = demo_shops()
    assert [s.name for s in shops] == ["潮流服饰旗舰店", "数码生活专营店", "潮流服饰抖音直播店"]
    assert not Order.objects.exists() and not Case.objects.exists()
    assert demo_seed.history_state(shops[:-1]) == demo_seed.ABSENT
    assert "agent" in output and DEMO_PASSWORD in output
    assert "用户已存在" not in output  # the staff part set the demo password

    output = seed(now=NOW)

    assert [s.pk for s in demo_shops()] == [s.pk for s in shops]
    assert "演示数据已创建" in output and "用户已存在" not in output
    assert demo_seed.history_state(shops[:-1]) == demo_seed.COMPLETE
    for shop in shops:
        assert verify_chain(shop.pk) is None
        times = list(
            AuditEvent.objects.filter(shop=shop)
            .order_by("seq")
            .values_list("created_at", flat=True)
        )
        assert times == sorted(times)
    for shop in shops[:-1]:
        types = list(
            AuditEvent.objects.filter(shop=shop).order_by("seq").values_list("type", flat=True)
        )
        assert types.count("demo_seed_started") == 1 and types[-1] == "demo_seeded"
        assert Order.objects.filter(shop=shop).count() == ORDERS_PER_SHOP
    assert "未做任何更改" in seed()


def test_a_history_that_was_stopped_half_way_is_reported_and_not_continued():
    seed(staff_only=True, now=NOW)
    shop = demo_shops()[0]
    from django.db import transaction

    with transaction.atomic():
        demo_seed.record_event(shop_id=shop.pk, type="demo_seed_started", by=demo_seed.SEED_ACTOR)
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError, match="var/"):
        seed(now=NOW)

    assert AuditEvent.objects.count() == events and not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_history_commits_step_by_step_and_queues_no_timer_tasks(
    monkeypatch,
):
    """Outside a test's transaction, as `make demo` runs it: every step is its own
    transaction here (chunks of no time), the chains hold, and the clocks still running at
    the end queue no task rows: the sweep fires them from the clock table (issue 16)."""
    from django.test import override_settings
    from django_tasks_db.models import DBTaskResult

    from aftersales.sla.models import ClockState, SlaClock

    monkeypatch.setattr(demo_seed, "REPLAY_CHUNK_SECONDS", 0.0)
    monkeypatch.setattr(demo_seed, "REPLAY_PAUSE_SECONDS", {})
    commits: list[int] = []
    from django.db import connection

    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        original_commit = connection.commit

        def counting_commit():
            commits.append(1)
            return original_commit()

        monkeypatch.setattr(connection, "commit", counting_commit)
        call_command("seed_demo", orders_per_shop=120, now=NOW, stdout=StringIO())

    shops = demo_shops()
    assert demo_seed.history_state(shops[:-1]) == demo_seed.COMPLETE
    for shop in shops:
        assert verify_chain(shop.pk) is None
    steps = AuditEvent.objects.filter(case__isnull=False).count()
    assert len(commits) > steps // 3  # far more than the one transaction it used to be
    timers = DBTaskResult.objects.filter(task_path__endswith="check_clock").count()
    running = SlaClock.objects.filter(state=ClockState.RUNNING).count()
    assert running > 0 and timers == 0
