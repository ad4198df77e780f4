"""R5.1, R5.2 in a real browser: the agent sees the platform's intervention with its deadline
on the case page, puts a counter-offer on record and builds the evidence package. Screenshots
go to docs/screenshots/. Skipped without Debian's Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import testing
from aftersales.cases import services as cs
from aftersales.cases.tests import steps
from aftersales.disputes import services
from aftersales.disputes.models import EvidencePackage, Offer
from aftersales.platforms.douyin.ingest import record_platform_dispute
from aftersales.platforms.douyin.tests.live import ProductServer
from aftersales.shops.choices import Role

SCREENSHOTS = testing.SCREENSHOTS


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def product(transactional_db):
    server = ProductServer(serve_static=True).start()
    yield server
    server.stop()


@pytest.fixture
def page(product):
    with testing.chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1280, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()


def test_r5_1_r5_2_the_dispute_panel_in_the_browser(page, product, shop_a):
    with product.db():
        testing.make_user("lin", shop_a, Role.AGENT)
        case = steps.new_case(shop_a, "refund_shipped", reason="quality_issue")
        cs.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=testing.SYSTEM)
        record_platform_dispute(
            case=case,
            dispute_status="platform_intervening",
            details={
                "arbitrate_id": "ARB-7001",
                "evidence_deadline": (timezone.now() + timedelta(hours=30)).isoformat(),
            },
        )
        steps.attach_photo(case, source="buyer")
        services.make_offer(
            case=case, kind="partial_refund", amount_fen=2000, note="领口瑕疵", by=testing.SYSTEM
        )
    page.goto(product.url + "/login/")
    page.fill("#id_username", "lin")
    page.fill("#id_password", "pw-lin")
    page.click("button[type=submit]")
    page.goto(product.url + f"/cases/{case.pk}/#disputes")
    panel = page.locator("#disputes")
    assert "ARB-7001" in panel.inner_text() and "举证截止" in panel.inner_text()

    page.click("#disputes details summary")
    page.select_option("#disputes [data-action=offer] select[name=kind]", "compensation")
    page.fill("#disputes [data-action=offer] input[name=amount]", "15.00")
    page.select_option("#disputes [data-action=offer] select[name=side]", "buyer")
    page.click("#disputes [data-action=offer] button[type=submit]")
    page.wait_for_selector("#disputes [data-offer-status=countered]")
    page.click("#disputes [data-action=build-package] button")
    page.wait_for_selector("#disputes [data-package]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel = page.locator("#disputes")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SCREENSHOTS / "disputes-case-panel.png"))
    with product.db():
        assert Offer.objects.filter(case=case, side="buyer", amount_fen=1500).exists()
        assert EvidencePackage.objects.filter(case=case).count() == 1
