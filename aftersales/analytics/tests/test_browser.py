"""R8.1, R8.7 the overview in a real browser: Debian's Chromium (Playwright) against a live
server renders the charts from the vendored ECharts, offline, beside their tables; the
screenshot goes to docs/screenshots/analytics.png.

Skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import testing
from aftersales.cases import services as case_services
from aftersales.shops.choices import Role

from .support import at, open_case, order, product, refund_return

SCREENSHOTS = testing.SCREENSHOTS


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]

REASONS = ["wrong_size"] * 6 + ["quality_issue"] * 3 + ["not_as_described"] * 2 + ["damaged"] * 2


@pytest.fixture
def busy_month(shop_a, alice):
    """A month of orders and cases in shop A, the same every run."""
    rng = random.Random(10)
    a = testing.actor(alice)
    skus = [
        product(shop_a, "法式碎花连衣裙", "apparel"),
        product(shop_a, "降噪蓝牙耳机", "electronics"),
        product(shop_a, "陶瓷马克杯", "home"),
    ]
    now = timezone.now()
    for _ in range(120):
        paid = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(1, 20))
        placed = order(shop_a, rng.choice(skus), paid, carrier=rng.choice(["顺丰", "中通", "圆通"]))
        if rng.random() < 0.3:
            applied = min(paid + timedelta(hours=rng.randint(2, 30)), now - timedelta(hours=3))
            case = open_case(placed, applied, reason=rng.choice(REASONS))
            if rng.random() < 0.7:
                refund_return(
                    case,
                    approved=applied + timedelta(minutes=rng.randint(10, 200)),
                    refunded=min(applied + timedelta(hours=rng.randint(3, 40)), now),
                    by=a,
                )
            elif rng.random() < 0.5:
                with at(applied + timedelta(hours=rng.randint(1, 5))):
                    case_services.reject_case(
                        case=case, reason_code="no_evidence", note="无凭证", by=a
                    )
    return skus


@pytest.fixture(scope="module")
def browser():
    with testing.chromium() as browser:
        yield browser


def test_r8_1_r8_7_the_overview_renders_its_charts_offline(
    browser, live_server, busy_month, shop_a
):
    testing.make_user("sue", shop_a, Role.SUPERVISOR)
    context = browser.new_context(
        viewport={"width": 1400, "height": 1500}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "sue")
    page.fill("#id_password", "pw-sue")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.click("nav.nav >> text=数据分析")
    page.wait_for_url(re.compile(r"/analytics/"))
    page.select_option("#id_by", "product")
    page.click(".report-filters button[type=submit]")
    page.wait_for_selector("[data-chart='trend'][data-rendered='true'] svg")
    for name in ("trend", "reasons", "sla"):
        assert page.locator(f"[data-chart='{name}'] svg").count() == 1, name
    # The chart's words are Chinese and the tables carry the numbers.
    assert "售后率" in page.locator("[data-chart='trend']").inner_text()
    assert page.locator("[data-table='reasons'] tbody tr").count() >= 3
    assert page.locator("[data-table='breakdown'] tbody tr").count() == 3
    assert errors == [] and outside == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "analytics.png"), full_page=True)
    context.close()


def test_r8_7_the_platform_metrics_and_problem_products_render(
    browser, live_server, busy_month, shop_a
):
    testing.make_user("sue", shop_a, Role.SUPERVISOR)
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "sue")
    page.fill("#id_password", "pw-sue")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.goto(live_server.url + "/analytics/platform/")
    page.wait_for_selector("[data-chart='metric'][data-rendered='true'] svg")
    assert page.locator("[data-chart='metric'] svg").count() == 4
    page.screenshot(path=str(SCREENSHOTS / "analytics-platform.png"), full_page=True)
    page.goto(live_server.url + "/analytics/products/")
    assert page.locator("tr[data-product]").count() == 3
    assert errors == []
    context.close()
