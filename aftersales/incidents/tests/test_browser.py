"""R12.1 in a real browser: a supervisor declares an incident, sends its cases a templated
message and sees each case's result; the case page shows its abuse signals. Screenshots go to
docs/screenshots/incident.png and case-signals.png. Skipped when /usr/bin/chromium is missing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import testing
from aftersales.analytics.tests.support import order, product
from aftersales.cases import services as case_services
from aftersales.shops.choices import Role

SCREENSHOTS = testing.SCREENSHOTS


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser():
    with testing.chromium() as browser:
        yield browser


def test_r12_1_declare_an_incident_and_message_its_cases_in_the_browser(
    browser, live_server, shop_a
):
    testing.make_user("sue", shop_a, Role.SUPERVISOR)
    sku = product(shop_a, "法式碎花连衣裙")
    cases = [
        testing.make_case(
            order(shop_a, sku, timezone.now() - timedelta(days=2)), reason="quality_issue"
        )
        for _ in range(3)
    ]
    for case in cases[:2]:
        case_services.approve_case(case=case, by=testing.SYSTEM)
        case_services.record_return_shipment(
            case=case, carrier="yunda", tracking_number="4318902765512", by=testing.SYSTEM
        )
    context = browser.new_context(viewport={"width": 1300, "height": 1400}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "sue")
    page.fill("#id_password", "pw-sue")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.click("nav.nav >> text=应急事件")
    page.wait_for_url(re.compile(r"/incidents/$"))
    page.select_option("#id_kind", "batch_defect")
    page.fill("#id_title", "碎花连衣裙批次开线")
    page.select_option("#id_product", str(sku.product_id))
    page.click("form[data-form=declare] button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    assert page.locator("[data-table='incident-cases'] tbody tr[data-case]").count() == 3
    page.select_option("#id_action", "message")
    page.select_option("#id_template", "delay_notice")
    page.click("form[action$='/bulk/'] button[type=submit]")
    page.wait_for_selector("[data-table='bulk-results']")
    assert page.locator("[data-table='bulk-results'] tr[data-outcome='done']").count() == 3
    assert page.locator("[data-timeline] li[data-kind='incident_bulk_applied']").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "incident.png"), full_page=True)
    page.goto(live_server.url + f"/cases/{cases[1].pk}/")
    panel = page.locator("#signals-panel")
    assert "4318902765512" in panel.inner_text()
    panel.locator("button[value=confirm]").first.click()
    page.wait_for_selector("#signals-panel [data-status='confirmed']")
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "case-signals.png"), full_page=True)
    assert errors == []
    context.close()
