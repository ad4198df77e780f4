"""The workbench in a real browser: Debian's Chromium driven by Playwright against a live server.

Log in; the queue's order and a filter; a delivered return case worked from review through
inspection to the refund; a refused refund keeps the typed amount and its confirmation names
it; another shop's case URL is a 404; keyboard use and labels; every link in each role's bars
opens, and another shop's case is the product's 404 page (issue 14 item 4); the reminders
inbox, one row per case (item 10). Screenshots of the queue, a case page, the refused refund,
the bars, the 404 page and the inbox are written to docs/screenshots/.

Skipped when /usr/bin/chromium is missing. The browser is `testing.chromium()` (Playwright's
sync API runs an event loop in this thread; it relaxes Django's async-safety check).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus, RefundStatus
from aftersales.cases.models import Case
from aftersales.catalog.choices import Category
from aftersales.policy.services import decide_case
from aftersales.shops.choices import Role
from aftersales.sla.deadlines import refresh_case_deadline
from aftersales.sla.models import SlaClock
from aftersales.testing import png_bytes

SCREENSHOTS = testing.SCREENSHOTS


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def browser():
    with testing.chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()


def go(page, path: str) -> None:
    page.goto(page.base_url + path)


def log_in(page, username: str) -> None:
    go(page, "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def queue_case_ids(page) -> list[int]:
    return [
        int(x)
        for x in page.locator("#queue-rows tr[data-case]").evaluate_all(
            "rows => rows.map(r => r.dataset.case)"
        )
    ]


def set_due(case: Case, *, hours: float) -> None:
    """Move a case's running clocks so its nearest deadline is `hours` away (setup only)."""
    due = timezone.now() + timedelta(hours=hours)
    SlaClock.objects.filter(case=case, state="running").update(
        due_at=due, at_risk_at=due - timedelta(hours=1)
    )
    refresh_case_deadline(case)  # as the SLA services do with every change of the clocks


def test_log_in_see_the_queue_most_urgent_first_and_filter_it(page):
    shop = testing.make_shop("A店·服饰旗舰店")
    testing.make_user("alice", shop, Role.AGENT)
    later = testing.make_case(testing.make_order(shop), reason="wrong_size")
    urgent = testing.make_case(
        testing.make_order(
            shop, lines=[testing.Line(category=Category.ELECTRONICS, name="蓝牙耳机")]
        ),
        type="exchange",
        reason="quality_issue",
    )
    middle = testing.make_case(testing.make_order(shop, vip_level=2), reason="no_reason")
    set_due(later, hours=20)
    set_due(urgent, hours=-0.5)  # already late
    set_due(middle, hours=0.5)  # at risk

    log_in(page, "alice")
    assert queue_case_ids(page) == [urgent.pk, middle.pk, later.pk]
    assert page.locator("[data-bucket=breached]").inner_text() == "1"
    assert page.locator("[data-bucket=at_risk]").inner_text() == "1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"))

    page.select_option("#id_type", "exchange")
    page.click(".filters button[type=submit]")
    page.wait_for_url(re.compile(r"type=exchange"))
    assert queue_case_ids(page) == [urgent.pk]


def test_work_a_delivered_return_from_review_through_inspection_to_refund(page, tmp_path):
    shop = testing.make_shop("A店·服饰旗舰店")
    testing.make_user("alice", shop, Role.AGENT)
    order = testing.make_order(
        shop,
        lines=[
            testing.Line(quantity=2, list_price_fen=15900, paid_amount_fen=25800, name="纯棉卫衣")
        ],
    )
    case = testing.make_case(order, reason="wrong_size", buyer_statement="尺码偏小,想退货")
    decide_case(case=case, by=testing.SYSTEM)  # the policy's advice, as the API's triage does
    photo = tmp_path / "inspection.png"
    photo.write_bytes(png_bytes(width=64, height=48, top=(30, 120, 200)))
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm before the refund

    log_in(page, "alice")
    go(page, f"/cases/{case.pk}/")

    def act(name: str, fill: dict[str, str] | None = None) -> None:
        box = page.locator(f"[data-action='{name}']")
        if box.evaluate("el => el.tagName === 'DETAILS' && !el.open"):
            box.locator("summary").click()
        for selector, value in (fill or {}).items():
            page.fill(selector, value)
        box.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(".message-error").count() == 0, page.locator(".messages").inner_text()

    act("approve", {"#approve-note": "同意退货"})
    page.locator("[data-action='return-shipment'] summary").click()
    page.select_option("#return-shipment-carrier", "shunfeng")  # shown as 顺丰速运
    act("return-shipment", {"#return-shipment-tracking_number": "SF1234567890"})
    act("receive-return")
    box = page.locator("[data-action='inspect']")
    box.locator("summary").click()
    page.check("#inspect-result_0")  # pass
    page.select_option("#inspect-condition", "good")
    page.select_option("#inspect-package_intact", "yes")
    page.fill("#inspect-notes", "吊牌完好,未穿着")
    page.set_input_files("#inspect-photos", str(photo))
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".gallery img").count() == 1

    go(page, f"/cases/{case.pk}/")
    # Chinese by default, the status and the clocks included (model labels, not only templates).
    assert page.locator("h1 .status").inner_text() == "待二次审核"
    assert "退货验货" in page.locator(".clocks").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "case.png"))

    act("approve-final")
    refund_box = page.locator("[data-action='refund']")
    refund_box.locator("summary").click()
    assert page.input_value("#refund-goods_amount") == "258.00"
    act("refund")

    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.refund_status == RefundStatus.REFUNDED
    assert case.refund_decision.goods_amount_fen == 25800
    assert page.locator(".status-completed").count() >= 1


def test_r3_2_a_refused_refund_keeps_the_typed_amount_and_the_confirmation_states_it(page):
    """Issue 14 item 5: the form offers what the buyer asked for and says how a typed amount
    differs; the confirmation names the amount typed; a refusal comes back with the form
    open, the typed amount kept (never refilled with the full one) and the error beside
    its field; then the refund goes through for exactly that amount."""
    shop = testing.make_shop("A店·服饰旗舰店")
    testing.make_user("alice", shop, Role.AGENT)
    order = testing.make_order(shop, lines=[testing.Line(paid_amount_fen=8800, name="纯棉卫衣")])
    case = testing.make_case(order, reason="wrong_size", requested_amount_fen=5000)
    for step in (services.approve_case, services.receive_return):
        step(case=case, by=testing.SYSTEM)
    services.inspect_return(case=case, result="pass", condition="good", by=testing.SYSTEM)
    services.approve_after_inspection(case=case, by=testing.SYSTEM)
    decide_case(case=case, by=testing.SYSTEM)  # the buyer's reason: no shipping back
    questions: list[str] = []

    def answer(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    log_in(page, "alice")
    go(page, f"/cases/{case.pk}/")
    box = page.locator("[data-action='refund']")
    box.locator("summary").click()
    assert page.input_value("#refund-goods_amount") == "50.00"  # what the buyer asked for
    assert box.locator(".refund-difference").inner_text() == "与买家申请金额一致。"

    page.fill("#refund-goods_amount", "40.00")
    assert box.locator(".refund-difference").inner_text() == "比买家申请金额少 10.00 元。"
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert questions[-1].startswith("确认退款 ¥40.00 给买家？")
    box = page.locator("[data-action='refund']")
    assert box.evaluate("el => el.open")
    assert page.input_value("#refund-goods_amount") == "40.00"  # not refilled with 88.00
    reason = box.locator(".field.has-error")
    assert "部分退款需要填写原因" in reason.inner_text()
    assert page.evaluate("document.activeElement.id") == "refund-reason"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "refund-refused.png"))

    page.fill("#refund-reason", "买家同意少退 10 元")
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert questions[-1].startswith("确认退款 ¥40.00 给买家？")
    case.refresh_from_db()
    assert case.refund_decision.goods_amount_fen == 4000
    assert case.refund_decision.reason == "买家同意少退 10 元"


def test_a_shop_b_user_opening_a_shop_a_case_gets_404(page):
    shop_a = testing.make_shop("A店")
    shop_b = testing.make_shop("B店")
    testing.make_user("carol", shop_b, Role.AGENT)
    case = testing.make_case(testing.make_order(shop_a))

    log_in(page, "carol")
    response = page.goto(page.base_url + f"/cases/{case.pk}/")
    assert response.status == 404
    assert "A店" not in page.content()


def test_keyboard_reaches_the_search_box_and_the_first_action_and_every_input_has_a_label(page):
    shop = testing.make_shop("A店")
    testing.make_user("alice", shop, Role.AGENT)
    case = testing.make_case(testing.make_order(shop))
    log_in(page, "alice")

    def tab_until(predicate: str, limit: int = 40) -> bool:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return True
        return False

    page.locator("body").focus()
    assert tab_until("document.activeElement.id === 'id_q'")
    page.keyboard.type(str(case.pk))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q="))
    assert queue_case_ids(page) == [case.pk]

    go(page, f"/cases/{case.pk}/")
    page.locator("body").focus()
    first_action = "document.activeElement.closest('#actions') !== null"
    assert tab_until(first_action, limit=60)
    page.keyboard.press("Enter")  # opens the first action's form
    assert page.locator("#actions details[open]").count() == 1

    for path in ("/", f"/cases/{case.pk}/"):
        go(page, path)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(el => el.type !== 'hidden' && el.type !== 'submit')
                .filter(el => !(el.id && document.querySelector(`label[for="${el.id}"]`))
                              && !el.closest('label') && !el.getAttribute('aria-label'))
                .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (path, unlabelled)


def test_bulk_approve_from_the_queue_approves_what_the_policy_allows_and_skips_the_rest(page):
    """R9.2, R12.1: select cases on the queue, approve them in one go; a case whose policy
    decision wants the buyer's photos first is skipped, with the reason shown."""
    shop = testing.make_shop("A店·服饰旗舰店")
    testing.make_user("alice", shop, Role.AGENT)
    reviews = [testing.make_case(testing.make_order(shop), reason="wrong_size") for _ in range(2)]
    needs_photos = testing.make_case(testing.make_order(shop), reason="quality_issue")
    for case in [*reviews, needs_photos]:
        decide_case(case=case, by=testing.SYSTEM)
    page.on("dialog", lambda dialog: dialog.accept())  # "apply to every selected case?"

    log_in(page, "alice")
    assert page.locator("#bulk-submit").is_disabled()  # nothing selected yet
    page.check("#bulk-all")
    assert page.locator("#bulk-count").inner_text() == "3"
    page.uncheck(f"input[name=case_ids][value='{reviews[1].pk}']")
    page.check(f"input[name=case_ids][value='{reviews[1].pk}']")
    assert page.locator("#bulk-count").inner_text() == "3"
    page.screenshot(path=str(SCREENSHOTS / "queue-bulk.png"))
    page.click("#bulk-submit")
    page.wait_for_url(re.compile(r"/team/bulk/"))
    summary = page.locator(".team-bulk-summary").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "bulk-result.png"))

    assert "2" in summary
    assert statuses(*reviews, needs_photos) == {
        reviews[0].pk: CaseStatus.AWAITING_RETURN,
        reviews[1].pk: CaseStatus.AWAITING_RETURN,
        needs_photos.pk: CaseStatus.PENDING_REVIEW,
    }


def statuses(*cases):
    return {c.pk: Case.objects.get(pk=c.pk).status for c in cases}


# --- Issue 14 item 4: every link of every role's bars opens; errors are the product's pages ----


def nav_hrefs(page) -> list[str]:
    """The links of the top bar and the team pages' bar, as the browser resolved them."""
    return page.locator("nav a[href^='/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


def test_every_link_in_each_roles_bars_opens_a_product_page_and_a_foreign_case_is_its_404(
    browser, live_server, settings
):
    """As `make demo` runs it, with DEBUG on: no 403 behind a link the bar shows, no debug
    page; another shop's case is the product's own 404 page, in Chinese, with a way back."""
    settings.DEBUG = True
    shop_a = testing.make_shop("A店·服饰旗舰店")
    shop_b = testing.make_shop("B店·数码专营店")
    for username, role in (
        ("alice", Role.AGENT),
        ("sam", Role.SUPERVISOR),
        ("adam", Role.ADMIN),
        ("audrey", Role.AUDITOR),
    ):
        testing.make_user(username, shop_a, role)
    testing.make_user("carol", shop_b, Role.AGENT)
    case = testing.make_case(testing.make_order(shop_a), reason="wrong_size")
    bars: dict[str, str] = {}
    for username in ("alice", "sam", "adam", "audrey"):
        context = browser.new_context(
            viewport={"width": 1280, "height": 720}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        page = context.new_page()
        page.base_url = live_server.url  # type: ignore[attr-defined]
        log_in(page, username)
        seen: set[str] = set()
        todo = ["/"]
        while todo:
            path = todo.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = page.goto(live_server.url + path)
            assert response.status == 200, (username, path, response.status)
            html = page.content()
            assert page.locator("header.topbar").count() == 1, (username, path)
            assert "Traceback" not in html and "403 Forbidden" not in html, (username, path)
            todo.extend(h for h in nav_hrefs(page) if h not in seen)
        bars[username] = page.locator("header.topbar nav").inner_text()
        if username == "alice":
            go(page, "/team/duty/")
            page.screenshot(path=str(SCREENSHOTS / "nav-agent-duty.png"))
        if username == "adam":
            go(page, f"/team/?shop={shop_a.pk}")
            page.screenshot(path=str(SCREENSHOTS / "nav-admin-team.png"))
        context.close()
    assert "我的值班" in bars["alice"] and "团队" not in bars["alice"]
    assert "团队" in bars["sam"] and "团队" in bars["adam"]
    assert "团队" not in bars["audrey"] and "我的值班" not in bars["audrey"]

    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    log_in(page, "carol")
    response = page.goto(live_server.url + f"/cases/{case.pk}/")
    assert response.status == 404
    assert page.locator("header.topbar").count() == 1
    assert page.locator(".error-page h1").inner_text() == "找不到该内容"
    assert "A店" not in page.content() and "Traceback" not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "error-404.png"))
    page.click("text=返回售后队列")
    page.wait_for_url(re.compile(r"/$"))
    context.close()


def test_the_reminders_inbox_groups_a_busy_morning_by_case_with_the_shop(page):
    """Issue 14 item 10: a supervisor of two shops, three breaches a case: one row a case."""
    from aftersales.shops.services import add_member
    from aftersales.sla.services import sweep

    shop_a = testing.make_shop("A店·服饰旗舰店")
    shop_b = testing.make_shop("B店·数码专营店")
    sam = testing.make_user("sam", shop_a, Role.SUPERVISOR)
    add_member(shop=shop_b, user=sam, role=Role.SUPERVISOR, by=testing.SYSTEM)
    cases = [
        testing.make_case(testing.make_order(shop), reason="quality_issue")
        for shop in (shop_a, shop_b, shop_a)
    ]
    sweep(timezone.now() + timedelta(hours=49))

    log_in(page, "sam")
    go(page, "/reminders/")
    rows = page.locator("table.inbox tbody tr[data-case]")
    assert rows.count() == len(cases)
    assert "×3" in rows.first.inner_text()
    assert page.locator("table.inbox-summary tbody tr").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "reminders.png"), full_page=True)
