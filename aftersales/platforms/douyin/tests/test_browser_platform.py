"""Issue 14, item 1 in a real browser: a live Douyin case against the simulator, worked by an
agent in the workbench in Chromium, the product served over real HTTP (so the simulator can
push to it). The Playwright setup is that of workbench/tests/test_browser.py.

1. A rejection the platform refuses without evidence ("已与买家协商其他解决方案", no photo) is
   refused by the form before it is sent: the reason says so, the upload becomes required.
2. A rejection the platform refuses after all (its rule changed: it now wants evidence for
   "超过七天无理由退货期限") leaves the case out of sync: flagged in the queue and on the case;
   the agent attaches the evidence and retries, and the platform takes the rejection.

Screenshots go to docs/screenshots/. Skipped without Debian's Chromium.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from aftersales import testing
from aftersales.platforms.douyin.models import OutboxOperation
from aftersales.shops.choices import Role
from aftersales.testing import make_user, png_bytes

from .e2e_support import apply, case_of, new_order, platform_case, settled
from .live import ProductServer

SCREENSHOTS = testing.SCREENSHOTS


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def product(transactional_db):
    """The product with its static files (the reject form's script), for the browser; it
    replaces the conftest's `product` here, so the simulator pushes to this one."""
    server = ProductServer(serve_static=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with testing.chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, product):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = product.url  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm before a rejection
    yield page
    context.close()


@pytest.fixture
def stricter_platform(sim, monkeypatch):
    """The platform now wants evidence for 超过七天无理由退货期限 (code 3)."""
    rules = pytest.importorskip("douyin_sim.rules")
    stricter = tuple(
        dataclasses.replace(r, evidence_need=True) if r.code == 3 else r
        for r in rules.REJECT_REASONS
    )
    monkeypatch.setattr(rules, "REJECT_REASONS", stricter)
    monkeypatch.setattr(rules, "REJECT_REASON_BY_CODE", {r.code: r for r in stricter})


def go(page, path: str) -> None:
    page.goto(page.base_url + path)


def log_in(page, username: str) -> None:
    go(page, "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def open_action(page, name: str):
    box = page.locator(f"details[data-action='{name}']")
    if not box.evaluate("el => el.open"):
        box.locator("summary").click()
    return box


def test_r13_1_a_refused_rejection_is_stopped_on_the_form_and_a_refused_one_fixed_and_retried(
    page, product, control, sim_link, shop_a, stricter_platform, tmp_path
):
    with product.db():
        make_user("alice", shop_a, Role.AGENT)
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=1)  # 七天无理由 return
    case = product.wait_for(lambda: case_of(aftersale_id), what="the case")
    settled(product, control)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    log_in(page, "alice")
    go(page, f"/cases/{case.pk}/")

    # 1. "已与买家协商其他解决方案" without a photo: the form says so and does not send.
    box = open_action(page, "reject")
    page.select_option("#reject-reason_code", "agreed_other_solution")
    hint = box.locator(".evidence-hint")
    assert hint.is_visible() and "凭证" in hint.inner_text()
    page.fill("#reject-note", "已与买家协商换货")
    box.locator("button[type=submit]").click()
    assert page.evaluate("document.getElementById('reject-uploads').validity.valueMissing")
    assert page.url.endswith(f"/cases/{case.pk}/")
    page.screenshot(path=str(SCREENSHOTS / "reject-needs-evidence.png"))
    with product.db():
        assert case_of(aftersale_id).status == "pending_review"
        assert not OutboxOperation.objects.filter(case=case, kind="reject").exists()

    # 2. A reason the product may send without evidence, which the platform now refuses.
    page.select_option("#reject-reason_code", "beyond_window")
    assert not hint.is_visible()
    page.fill("#reject-note", "签收已超过七天")
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    product.wait_for(
        lambda: OutboxOperation.objects.filter(case=case, kind="reject", status="failed").exists(),
        what="the platform's refusal",
    )
    go(page, "/")
    row = page.locator(f"#queue-rows tr[data-case='{case.pk}']")
    assert row.locator("[data-out-of-sync]").inner_text() == "与平台不同步"
    page.screenshot(path=str(SCREENSHOTS / "queue-out-of-sync.png"))

    go(page, f"/cases/{case.pk}/")
    sync = page.locator("#platform-sync")
    assert sync.locator("[data-sync-state]").get_attribute("data-sync-state") == "failed"
    assert "待商家同意" in sync.inner_text()  # the platform still waits for the merchant
    assert page.locator("h1 [data-out-of-sync]").is_visible()
    sync.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "case-out-of-sync.png"), full_page=True)

    # 3. The agent attaches the screenshot and retries: the rejection goes out with it.
    photo = tmp_path / "signed-for.png"
    photo.write_bytes(png_bytes(width=64, height=48, top=(200, 80, 30)))
    box = open_action(page, "evidence")
    page.set_input_files("#evidence-uploads", str(photo))
    page.fill("#evidence-note", "签收记录截图")
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("form[data-action='platform-sync-retry'] button").click()
    page.wait_for_load_state()
    product.wait_for(lambda: platform_case(control, aftersale_id)["status"] == 27, what="27")
    settled(product, control)

    go(page, f"/cases/{case.pk}/")
    sync = page.locator("#platform-sync")
    assert sync.locator("[data-sync-state]").get_attribute("data-sync-state") == "synced"
    assert page.locator("h1 [data-out-of-sync]").count() == 0
    assert "未能通过" in sync.inner_text()  # the buyer's message, in its words
    sync.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "case-sync-fixed.png"), full_page=True)
    go(page, "/?out_of_sync=on")
    assert page.locator(f"#queue-rows tr[data-case='{case.pk}']").count() == 0
