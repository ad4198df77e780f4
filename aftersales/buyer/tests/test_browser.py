"""The buyer's page on a phone (375 px) in Chromium (R10.2, R10.1): find the order with the
code, apply with a photo, ask the bot where the refund is, be handed over when angry.
Screenshots go to docs/screenshots/. Skipped without /usr/bin/chromium."""

from __future__ import annotations

import pytest

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.knowledge.models import Handover

SCREENSHOTS = testing.SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def phone(live_server, settings):
    settings.AFTERSALES_BUYER_CODE_CHANNEL = "aftersales.buyer.channels.ShownCodeChannel"
    with testing.chromium() as browser:
        context = browser.new_context(
            viewport={"width": 375, "height": 812},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.base_url = live_server.url  # type: ignore[attr-defined]
        yield page


def test_r10_2_a_buyer_finds_the_order_applies_with_a_photo_and_asks_the_bot(phone, tmp_path):
    shop = testing.make_shop("A店·服饰旗舰店")
    order = testing.make_order(shop)
    photo = tmp_path / "broken.png"
    photo.write_bytes(testing.png_bytes(40, 40, top=(220, 40, 40), bottom=(40, 40, 220)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    phone.goto(phone.base_url + "/buyer/")
    phone.fill("#id_order_number", order.platform_order_id)
    phone.fill("#id_phone_last4", "5678")
    phone.screenshot(path=str(SCREENSHOTS / "buyer-find-order.png"), full_page=True)
    phone.click("button[type=submit].primary")
    code = phone.inner_text("[data-code]")
    phone.fill("#id_code", code)
    phone.click("button[type=submit].primary")
    phone.wait_for_url("**/buyer/order/")

    phone.click("text=申请售后")
    phone.select_option("#id_type", "return_refund")
    phone.select_option("#id_reason", "no_reason")
    item = order.items.get()
    phone.fill(f"#id_qty_{item.pk}", "1")
    phone.set_input_files("#id_photos", str(photo))
    phone.click("button[type=submit].primary")
    phone.wait_for_url("**/buyer/order/")
    assert "七天无理由退货：退货运费由您承担，除非您购买了运费险" in phone.content()
    phone.screenshot(path=str(SCREENSHOTS / "buyer-applied.png"), full_page=True)
    case = Case.objects.get(order=order)
    assert case.evidence.count() == 1

    phone.fill("#chat-text", "我的退款到哪了")
    phone.click(".chat-form button")
    phone.wait_for_selector(".turn-buyer")
    assert "暂未确定退款" in phone.inner_text("#chat")
    phone.fill("#chat-text", "什么破店！！再不退款我就投诉")
    phone.click(".chat-form button")
    phone.wait_for_selector(".turn.handed")
    assert "已为您转接人工客服" in phone.inner_text("#chat")
    phone.locator("#chat").screenshot(path=str(SCREENSHOTS / "buyer-bot-handover.png"))
    assert Handover.objects.filter(case=case, taken_at__isnull=True).exists()
    # Nothing wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
