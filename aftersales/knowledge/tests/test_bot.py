"""R10.1 the bot: answers from the buyer's own case and the shop's articles, hands over when
upset, complaining, asking for a person, not confident, and always for a VIP (R2.8); every
conversation kept with the case (R6.2); the API a chat channel calls; R8.3 articles."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases.events import CaseEvent
from aftersales.cases.services import approve_case, close_case
from aftersales.core.errors import InvalidInput
from aftersales.knowledge import bot
from aftersales.knowledge.models import Article, Handover, Turn
from aftersales.knowledge.services import (
    BOT,
    answer_buyer,
    article_from_case,
    order_facts,
    reply_to,
)
from aftersales.orders.choices import OrderStatus
from aftersales.shops.choices import Role
from aftersales.shops.services import create_api_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    """The bot answers in the active language; an earlier request may have left English."""
    with translation.override("zh-hans"):
        yield


def ask(order, text):
    return answer_buyer(order=order, text=text, channel="page", by=BOT)


@pytest.mark.parametrize(
    "text,intents",
    [
        ("我的退款到哪了", [bot.REFUND_STATUS]),
        ("退货运费谁出呀", [bot.SHIPPING_PAYER]),
        ("退款到账了吗？还有运费谁出", [bot.REFUND_STATUS, bot.SHIPPING_PAYER]),
        ("快递单号填哪", [bot.RETURN_HOW]),
        ("我要投诉你们", [bot.COMPLAINT]),
        ("转人工", [bot.HUMAN]),
    ],
)
def test_r10_1_understands_common_questions(text, intents):
    assert bot.understand(text).intents == intents


def test_r10_1_where_is_my_refund_from_the_case(shop_a):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    from aftersales.cases.services import RequestedItem
    from aftersales.intake.services import receive_case

    receive_case(
        order=order,
        type="refund_unshipped",
        reason="changed_mind",
        items=[RequestedItem(order_item=order.items.get(), quantity=1)],
        by=BOT,
    )
    reply = ask(order, "我的退款到哪了")
    assert "98.00" in reply.text  # 88 paid + 10 shipping, refunded automatically
    assert not reply.handed_over


def test_r10_1_never_promises_free_return_shipping_the_policy_did_not_grant(shop_a):
    order = testing.make_order(shop_a)
    case = testing.make_case(order, reason="no_reason")
    from aftersales.policy.services import decide_case

    decide_case(case=case, by=BOT)
    reply = ask(order, "退货运费你们出吗")
    assert "由您承担" in reply.text and "由商家承担" not in reply.text


@pytest.mark.parametrize(
    "text,reason",
    [
        ("再不退款我就投诉到12315", "complaint"),
        ("你们就是骗子", "complaint"),
        ("给差评了", "complaint"),
        ("什么破店！！退款一周了还没到", "upset"),
        ("我要找人工客服", "asked_for_person"),
        ("今天天气怎么样", "not_confident"),
    ],
)
def test_r10_1_hands_over_and_flags_the_case(shop_a, text, reason):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    reply = ask(order, text)
    assert reply.handed_over and reason in reply.reasons
    handover = Handover.objects.get(case=case)
    assert handover.taken_at is None and handover.message == text
    assert AuditEvent.objects.filter(case=case, type=CaseEvent.BUYER_HANDOVER_REQUESTED).exists()


def test_r2_8_a_vip_buyer_is_always_handed_over(shop_a):
    order = testing.make_order(shop_a, vip_level=2)
    testing.make_case(order)
    reply = ask(order, "我的退款到哪了")
    assert reply.handed_over and reply.reasons == ["vip"]
    assert reply.text  # still answered


def test_r6_2_the_conversation_is_kept_with_the_case(shop_a):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    ask(order, "你好")
    ask(order, "怎么退货")
    turns = Turn.objects.filter(conversation__case=case)
    assert [t.speaker for t in turns] == ["buyer", "bot", "buyer", "bot"]
    assert Handover.objects.count() == 0


def test_r8_3_the_shops_article_answers_and_another_shops_does_not(shop_a, shop_b):
    Article.objects.create(
        shop=shop_b, question="退货地址是哪里", answer="B店地址：深圳", tags="退货,地址"
    )
    Article.objects.create(
        shop=shop_a,
        question="退货地址是哪里",
        answer="A店退货地址：杭州市余杭区仓库",
        tags="退货,地址,寄回",
    )
    order = testing.make_order(shop_a)
    reply = reply_to("退货寄到哪个地址", order_facts(order), shop_id=shop_a.pk)[2]
    assert "杭州市余杭区仓库" in reply and "深圳" not in reply


def test_r8_3_an_agent_turns_a_resolved_case_into_an_article(shop_a, alice):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    agent = testing.actor(alice)
    with pytest.raises(InvalidInput):
        article_from_case(case=case, question="q", answer="a", tags="", by=agent)
    close_case(case=case, note="done", by=agent)
    article = article_from_case(
        case=case, question="尺码偏小怎么办", answer="可换大一码", tags="尺码", by=agent
    )
    assert article.source_case == case and article.categories == "apparel"


def test_r10_1_the_chat_channel_api_answers_in_the_keys_shop_only(shop_a, shop_b):
    order = testing.make_order(shop_a)
    testing.make_case(order)
    _, key_a = create_api_key(shop=shop_a, name="im", role=Role.AGENT, by=BOT)
    _, key_b = create_api_key(shop=shop_b, name="im", role=Role.AGENT, by=BOT)
    url = "/api/v1/bot/messages"
    body = {"order_id": order.platform_order_id, "text": "我要投诉"}
    ok = Client().post(url, body, content_type="application/json", HTTP_X_API_KEY=key_a)
    assert ok.status_code == 200 and ok.json()["handed_over"] is True
    foreign = Client().post(url, body, content_type="application/json", HTTP_X_API_KEY=key_b)
    assert foreign.status_code == 404
    assert Client().post(url, body, content_type="application/json").status_code == 401


def test_r10_1_the_buyer_page_chat(shop_a):
    from aftersales.buyer.session import SESSION_KEY

    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    approve_case(case=case, by=BOT)
    client = Client()
    session = client.session
    session[SESSION_KEY] = order.pk
    session.save()
    html = client.post(
        "/buyer/order/chat/", {"text": "怎么寄回去"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "商家已同意，请寄回商品" in html
