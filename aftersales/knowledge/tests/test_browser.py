"""The knowledge base in Chromium (R8.3, R10.1, R10.2): an agent searches it from the case
page and inserts an answer into the message; the shop's page with its hit rate; the queue's
handover bucket; a buyer on a phone (375 px) opens the shop's signed link and the bot answers
from an article. Screenshots go to docs/screenshots/. Skipped without /usr/bin/chromium."""

from __future__ import annotations

import re

import pytest

from aftersales import testing
from aftersales.knowledge.services import BOT, ArticleDraft, answer_buyer, create_article
from aftersales.shops.choices import Role

SCREENSHOTS = testing.SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def chromium():
    with testing.chromium() as browser:
        yield browser


def article(shop, question, tags, answer):
    return create_article(
        shop_id=shop.pk,
        draft=ArticleDraft(question=question, answer=answer, tags=tags),
        by=testing.SYSTEM,
    )


def test_r8_3_an_agent_inserts_an_article_from_the_case_page_and_sees_the_handover_bucket(
    chromium, live_server
):
    shop = testing.make_shop("A店·服饰旗舰店")
    testing.make_user("alice", shop, Role.AGENT)
    article(
        shop, "衣服起球怎么办", "起球,质量问题", "起球属于质量问题，可以退货退款，运费由我们承担。"
    )
    article(shop, "退货地址是哪里", "退货,地址,寄回", "退货请寄到杭州余杭区仓前街道 1 号售后仓。")
    order = testing.make_order(shop)
    case = testing.make_case(order, reason="quality_issue", buyer_statement="刚穿一次就起球了")
    answer_buyer(order=order, text="什么破衣服，我要投诉", channel="page", by=BOT)
    answer_buyer(order=order, text="退货地址是哪里", channel="page", by=BOT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))

    assert page.inner_text('[data-bucket="handover"]') == "1"
    page.click(".bucket-handover")
    page.wait_for_url(re.compile(r"handover=on"))
    assert page.locator(f'#queue-rows tr[data-case="{case.pk}"] [data-handover]').count() == 1
    page.screenshot(path=str(SCREENSHOTS / "queue-handover-bucket.png"))

    page.goto(live_server.url + f"/cases/{case.pk}/")
    # On load the panel shows what matches the buyer's words.
    page.wait_for_selector("#kb-results [data-article]")
    assert "衣服起球怎么办" in page.inner_text("#kb-results")
    page.fill("#kb-q", "退货地址")
    page.wait_for_selector("#kb-results >> text=最匹配的文章")
    assert "退货地址是哪里" in page.inner_text("#kb-results")
    page.fill("#message-text", "您好！")
    page.click("#kb-results li:has-text('退货地址是哪里') [data-insert-answer]")
    assert page.input_value("#message-text") == "您好！\n退货请寄到杭州余杭区仓前街道 1 号售后仓。"
    page.locator("[data-kb-panel]").screenshot(path=str(SCREENSHOTS / "case-knowledge-panel.png"))
    page.click("form[data-action=message] button[type=submit]")
    page.wait_for_selector(".message-success")
    page.goto(live_server.url + "/")
    assert page.inner_text('[data-bucket="handover"]') == "0"  # answered: out of the bucket

    page.goto(live_server.url + "/knowledge/")
    assert page.get_attribute("[data-hit-rate]", "data-hit-rate") == "50.0%"
    page.screenshot(path=str(SCREENSHOTS / "knowledge-base.png"), full_page=True)
    context.close()


def test_r10_2_a_buyer_opens_the_shops_link_on_a_phone_and_the_bot_answers_from_an_article(
    chromium, live_server, client
):
    shop = testing.make_shop("A店·服饰旗舰店")
    alice = testing.make_user("alice", shop, Role.AGENT)
    article(shop, "退货地址是哪里", "退货,地址,寄回", "退货请寄到杭州余杭区仓前街道 1 号售后仓。")
    order = testing.make_order(shop)
    case = testing.make_case(order)
    client.force_login(alice)
    response = client.post(f"/buyer/staff/cases/{case.pk}/link/", follow=True)
    path = re.search(r"http://testserver(/buyer/link/[^/\s<]+/)", response.content.decode())
    assert path
    context = chromium.new_context(
        viewport={"width": 375, "height": 812},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    phone = context.new_page()
    phone.goto(live_server.url + path.group(1))
    phone.wait_for_url("**/buyer/order/")
    phone.fill("#chat-text", "退货寄到哪里呀")
    phone.click(".chat-form button")
    phone.wait_for_selector(".turn-buyer")
    assert "仓前街道 1 号售后仓" in phone.inner_text("#chat")
    phone.locator("#chat").screenshot(path=str(SCREENSHOTS / "buyer-bot-article.png"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
