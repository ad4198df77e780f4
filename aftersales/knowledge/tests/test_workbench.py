"""R8.3 the knowledge base in the workbench: articles per shop listed, searched, created,
edited and retired by the roles that may, another shop's article a 404; a resolved case
becomes a standard solution; agents search it from the case page; the hit rate is shown.
R10.1: the bot's handovers are a bucket of the queue and leave it when an agent answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases.services import close_case, message_buyer
from aftersales.knowledge.models import Article, Handover
from aftersales.knowledge.services import (
    BOT,
    ArticleDraft,
    answer_buyer,
    create_article,
    hit_rate,
    search_articles,
)
from aftersales.shops.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def article(shop, question="退货地址是哪里", tags="退货,地址,寄回", answer="寄到杭州仓。"):
    return create_article(
        shop_id=shop.pk,
        draft=ArticleDraft(question=question, answer=answer, tags=tags),
        by=testing.SYSTEM,
    )


@pytest.fixture
def sam(shop_a):
    """A supervisor of shop A."""
    return testing.make_user("sam", shop_a, Role.SUPERVISOR)


def test_r8_3_an_agent_creates_searches_and_edits_articles_in_the_workbench(shop_a, alice):
    client = login(alice)
    assert client.get("/knowledge/").status_code == 200
    response = client.post(
        "/knowledge/new/",
        {
            "shop": shop_a.pk,
            "question": "衣服尺码偏大吗",
            "answer": "本店尺码标准，建议按平时尺码购买。",
            "tags": "尺码,偏大,偏小",
            "categories": ["apparel"],
        },
    )
    assert response.status_code == 302
    created = Article.objects.get(shop=shop_a)
    assert created.category_list == ["apparel"] and created.updated_by == alice.username
    page = client.get("/knowledge/", {"q": "尺码偏大不", "shop": shop_a.pk}).content.decode()
    assert f'data-article="{created.pk}"' in page
    client.post(
        f"/knowledge/{created.pk}/",
        {"shop": shop_a.pk, "question": "尺码偏大吗", "answer": "尺码标准。", "tags": "尺码"},
    )
    created.refresh_from_db()
    assert created.answer == "尺码标准。"
    types = list(
        AuditEvent.objects.filter(shop=shop_a, type__startswith="knowledge_article").values_list(
            "type", flat=True
        )
    )
    assert types == ["knowledge_article_created", "knowledge_article_updated"]


def test_r8_3_bad_input_changes_nothing(shop_a, alice):
    existing = article(shop_a)
    client = login(alice)
    response = client.post(f"/knowledge/{existing.pk}/", {"question": "", "answer": "x" * 3000})
    assert response.status_code == 400
    existing.refresh_from_db()
    assert existing.question == "退货地址是哪里"


def test_r8_3_only_a_lead_retires_and_the_bot_stops_using_a_retired_article(shop_a, alice, sam):
    existing = article(shop_a)
    assert search_articles(shop_id=shop_a.pk, text="退货地址")
    assert login(alice).post(f"/knowledge/{existing.pk}/retire/").status_code == 403
    existing.refresh_from_db()
    assert existing.is_published
    lead = login(sam)
    assert lead.post(f"/knowledge/{existing.pk}/retire/").status_code == 302
    existing.refresh_from_db()
    assert not existing.is_published
    assert search_articles(shop_id=shop_a.pk, text="退货地址") == []
    retired_page = lead.get("/knowledge/", {"retired": "on"}).content.decode()
    assert f'data-article="{existing.pk}"' in retired_page
    lead.post(f"/knowledge/{existing.pk}/restore/")
    existing.refresh_from_db()
    assert existing.is_published


def test_r8_3_an_auditor_reads_but_does_not_write(shop_a, audrey):
    existing = article(shop_a)
    client = login(audrey)
    page = client.get("/knowledge/").content.decode()
    assert f'data-article="{existing.pk}"' in page and 'data-action="new-article"' not in page
    assert client.get("/knowledge/new/").status_code == 403
    assert (
        client.post(f"/knowledge/{existing.pk}/", {"question": "q", "answer": "a"}).status_code
        == 403
    )
    assert client.post(f"/knowledge/{existing.pk}/retire/").status_code == 403


def test_r8_3_another_shops_article_is_a_404(shop_a, shop_b, carol):
    existing = article(shop_a)
    client = login(carol)
    assert f'data-article="{existing.pk}"' not in client.get("/knowledge/").content.decode()
    assert client.get("/knowledge/", {"shop": shop_a.pk}).status_code == 404
    assert client.get(f"/knowledge/{existing.pk}/").status_code == 404
    assert (
        client.post(f"/knowledge/{existing.pk}/", {"question": "q", "answer": "a"}).status_code
        == 404
    )
    assert client.post(f"/knowledge/{existing.pk}/retire/").status_code == 404
    assert (
        client.post(
            "/knowledge/new/", {"shop": shop_a.pk, "question": "q", "answer": "a"}
        ).status_code
        == 404
    )
    existing.refresh_from_db()
    assert existing.question == "退货地址是哪里" and existing.is_published
    assert not Article.objects.filter(shop=shop_b).exists()


def test_r8_3_the_pages_need_a_login(shop_a):
    existing = article(shop_a)
    assert Client().get("/knowledge/").status_code == 302
    assert Client().post(f"/knowledge/{existing.pk}/retire/").status_code == 302
    existing.refresh_from_db()
    assert existing.is_published


def test_r8_3_a_resolved_case_becomes_a_standard_solution_from_the_case_page(shop_a, alice, carol):
    order = testing.make_order(shop_a)
    case = testing.make_case(order, reason="quality_issue", buyer_statement="衣服起球了怎么办")
    agent = testing.actor(alice)
    message_buyer(case=case, text="起球属于质量问题，可以退货退款，运费我们承担。", by=agent)
    client = login(alice)
    assert (
        'data-action="article-from-case"' not in client.get(f"/cases/{case.pk}/").content.decode()
    )
    client.post("/knowledge/new/", {"case": case.pk, "question": "q", "answer": "a"})
    assert not Article.objects.exists()  # an open case is not a solution yet
    close_case(case=case, note="已退款", by=agent)
    assert 'data-action="article-from-case"' in client.get(f"/cases/{case.pk}/").content.decode()
    form = client.get("/knowledge/new/", {"case": case.pk}).content.decode()
    assert "衣服起球了怎么办" in form and "运费我们承担" in form  # drawn from the case
    product = order.items.get().sku.product
    assert re.search(rf'value="{product.pk}"[^>]*selected', form)  # its product, chosen
    response = client.post(
        "/knowledge/new/",
        {
            "case": case.pk,
            "question": "衣服起球怎么办",
            "answer": "起球属于质量问题，可以退货退款。",
            "products": [product.pk],
        },
    )
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    made = Article.objects.get()
    assert made.source_case_id == case.pk and made.shop_id == shop_a.pk
    assert list(made.products.all()) == [product]
    assert login(carol).get("/knowledge/new/", {"case": case.pk}).status_code == 404


def test_r8_3_agents_search_the_knowledge_base_from_the_case_page(shop_a, shop_b, alice, carol):
    own = article(shop_a, question="衣服起球怎么办", tags="起球,质量问题", answer="起球可退。")
    foreign = article(shop_b, question="衣服起球怎么办", tags="起球", answer="B店的答案")
    case = testing.make_case(testing.make_order(shop_a), buyer_statement="刚穿一次就起球")
    client = login(alice)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "data-kb-panel" in page and f"/knowledge/cases/{case.pk}/search/" in page
    first = client.get(f"/knowledge/cases/{case.pk}/search/").content.decode()
    assert f'data-article="{own.pk}"' in first  # what the buyer said, before anything typed
    found = client.get(f"/knowledge/cases/{case.pk}/search/", {"q": "起球"}).content.decode()
    assert f'data-article="{own.pk}"' in found and f'data-article="{foreign.pk}"' not in found
    assert 'data-insert-answer="起球可退。"' in found
    assert login(carol).get(f"/knowledge/cases/{case.pk}/search/").status_code == 404


def test_r8_3_the_hit_rate_is_measured_and_shown_to_the_shop(shop_a, shop_b, alice):
    article(shop_a)
    order = testing.make_order(shop_a)
    testing.make_case(order)
    answered = answer_buyer(order=order, text="退货地址是哪里", channel="page", by=BOT)
    assert answered.article is not None and not answered.handed_over
    answer_buyer(order=order, text="我要投诉你们", channel="page", by=BOT)
    answer_buyer(order=order, text="退款到哪了", channel="page", by=BOT)
    rate = hit_rate(shop_ids=[shop_a.pk])
    assert (rate.questions, rate.from_articles, rate.handed_over) == (3, 1, 1)
    assert rate.percent == "33.3%"
    assert hit_rate(shop_ids=[shop_b.pk]).questions == 0
    page = login(alice).get("/knowledge/").content.decode()
    assert 'data-hit-rate="33.3%"' in page


def queue_counts(client, query="") -> dict[str, int]:
    html = client.get(f"/{query}").content.decode()
    return {k: int(v) for k, v in re.findall(r'data-bucket="(\w+)">(\d+)<', html)}


def test_r10_1_handovers_are_a_bucket_of_the_queue_until_an_agent_answers(shop_a, alice, carol):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    calm = testing.make_case(testing.make_order(shop_a))
    answer_buyer(order=order, text="你们是骗子，我要投诉到12315", channel="page", by=BOT)
    client = login(alice)
    assert queue_counts(client)["handover"] == 1
    bucket = client.get("/?handover=on").content.decode()
    assert f'data-case="{case.pk}"' in bucket and f'data-case="{calm.pk}"' not in bucket
    assert "data-handover" in bucket
    everyone = client.get("/").content.decode()
    assert f'data-case="{calm.pk}"' in everyone
    assert queue_counts(login(carol))["handover"] == 0  # another shop's handover is not counted
    response = client.post(
        f"/cases/{case.pk}/do/message/", {"text": "您好，我是客服小艾，马上为您处理。"}
    )
    assert response.status_code in (200, 302)
    handover = Handover.objects.get()
    assert handover.taken_at is not None and handover.taken_by == alice.username
    assert queue_counts(client)["handover"] == 0
    assert f'data-case="{case.pk}"' not in client.get("/?handover=on").content.decode()


def test_r10_1_a_message_by_the_system_does_not_take_the_handover(shop_a):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    answer_buyer(order=order, text="转人工", channel="page", by=BOT)
    message_buyer(case=case, text="自动回复：已收到", by=testing.SYSTEM)
    assert Handover.objects.get().taken_at is None
