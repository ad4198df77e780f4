"""R10.2 the buyer's page; R10.2/R3.1 applying through the same services and policy and being
told at once what will happen; evidence, tracking, withdrawal; R8.6 the rating."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aftersales import testing
from aftersales.analytics.models import FollowUp, Survey
from aftersales.audit.models import AuditEvent
from aftersales.buyer.session import SESSION_KEY
from aftersales.cases.choices import CaseStatus, RefundStatus
from aftersales.cases.models import Case
from aftersales.cases.services import approve_case, close_case, request_evidence
from aftersales.orders.choices import OrderStatus
from aftersales.shops.choices import Role

pytestmark = pytest.mark.django_db


def buyer_client(order) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = order.pk
    session.save()
    return client


def test_r10_2_unshipped_refund_is_applied_and_refunded_automatically(shop_a):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    item = order.items.get()
    client = buyer_client(order)
    response = client.post(
        "/buyer/order/apply/",
        {"type": "refund_unshipped", "reason": "changed_mind", f"qty_{item.pk}": 1},
        follow=True,
    )
    case = Case.objects.get(order=order)
    assert case.refund_status in {RefundStatus.PENDING, RefundStatus.REFUNDED}
    assert "未发货：将自动退款" in response.content.decode()


def test_r10_2_no_reason_return_says_who_pays_shipping(shop_a):
    order = testing.make_order(shop_a)
    item = order.items.get()
    response = buyer_client(order).post(
        "/buyer/order/apply/",
        {
            "type": "return_refund",
            "reason": "no_reason",
            f"qty_{item.pk}": 1,
            "photos": SimpleUploadedFile("a.png", testing.png_bytes(), "image/png"),
        },
        follow=True,
    )
    html = response.content.decode()
    assert "七天无理由退货：退货运费由您承担，除非您购买了运费险" in html
    case = Case.objects.get(order=order)
    assert case.evidence.count() == 1


def test_r10_2_custom_goods_are_told_no_no_reason_return(shop_a):
    order = testing.make_order(shop_a, lines=[testing.Line(category="custom", name="定制刻字杯")])
    item = order.items.get()
    response = buyer_client(order).post(
        "/buyer/order/apply/",
        {"type": "return_refund", "reason": "no_reason", f"qty_{item.pk}": 1},
        follow=True,
    )
    assert "定制" in response.content.decode() and "不支持七天无理由" in response.content.decode()


def test_r10_2_a_bad_file_opens_no_case(shop_a):
    order = testing.make_order(shop_a)
    item = order.items.get()
    response = buyer_client(order).post(
        "/buyer/order/apply/",
        {
            "type": "return_refund",
            "reason": "quality_issue",
            f"qty_{item.pk}": 1,
            "photos": SimpleUploadedFile("a.png", b"not an image", "image/png"),
        },
    )
    assert response.status_code == 200
    assert not Case.objects.filter(order=order).exists()


def test_r10_2_apply_needs_an_item(shop_a):
    order = testing.make_order(shop_a)
    response = buyer_client(order).post(
        "/buyer/order/apply/", {"type": "return_refund", "reason": "no_reason"}
    )
    assert response.status_code == 400 and not Case.objects.exists()


def test_r10_2_evidence_when_asked_then_tracking_then_rating(shop_a, alice):
    order = testing.make_order(shop_a)
    case = testing.make_case(order, reason="quality_issue")
    agent = testing.actor(alice)
    request_evidence(case=case, note="请拍摄破损处", by=agent)
    client = buyer_client(order)
    page = client.get("/buyer/order/").content.decode()
    assert "请拍摄破损处" in page and "商家需要您提供照片或视频" in page
    client.post(
        f"/buyer/cases/{case.pk}/evidence/",
        {"photos": SimpleUploadedFile("b.png", testing.png_bytes(), "image/png")},
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW
    approve_case(case=case, by=agent)
    client.post(
        f"/buyer/cases/{case.pk}/tracking/", {"carrier": "顺丰", "tracking_number": "SF123"}
    )
    case.refresh_from_db()
    assert case.return_status == "in_transit"
    timeline = client.get("/buyer/order/").content.decode()
    assert "您已寄回商品" in timeline
    close_case(case=case, note="test", by=agent)
    client.post(f"/buyer/cases/{case.pk}/rating/", {"score": 2, "comment": "太慢了"})
    survey = Survey.objects.get(case=case)
    assert survey.score == 2 and survey.comment == "太慢了"
    assert FollowUp.objects.filter(survey=survey).exists()  # ≤ 3: a supervisor calls back


def test_r10_2_the_timeline_shows_no_internal_notes(shop_a, alice):
    from aftersales.workbench.services import add_note

    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    add_note(case=case, text="内部备注：买家可疑", by=testing.actor(alice))
    page = buyer_client(order).get("/buyer/order/").content.decode()
    assert "内部备注" not in page and "买家可疑" not in page


def test_r10_2_withdraw(shop_a):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    buyer_client(order).post(f"/buyer/cases/{case.pk}/withdraw/")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def test_r8_6_rating_only_when_finished_and_once(shop_a, alice):
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    client = buyer_client(order)
    client.post(f"/buyer/cases/{case.pk}/rating/", {"score": 5})
    assert not Survey.objects.filter(answered_at__isnull=False).exists()
    close_case(case=case, note="done", by=testing.actor(alice))
    # The case's end offered the one survey (analytics.services.offer_survey); the page
    # answers it (answer_survey), once.
    assert Survey.objects.filter(case=case, answered_at__isnull=True).count() == 1
    client.post(f"/buyer/cases/{case.pk}/rating/", {"score": 5})
    client.post(f"/buyer/cases/{case.pk}/rating/", {"score": 1})
    assert list(Survey.objects.values_list("score", flat=True)) == [5]
    assert AuditEvent.objects.filter(case_id=case.pk, type="survey_answered").count() == 1


def test_r8_6_low_ratings_are_shown_to_a_supervisor_of_that_shop_only(shop_a, shop_b, alice, carol):
    boss = testing.make_user("sam", shop_a, Role.SUPERVISOR)
    order = testing.make_order(shop_a)
    case = testing.make_case(order)
    close_case(case=case, note="done", by=testing.actor(alice))
    buyer_client(order).post(f"/buyer/cases/{case.pk}/rating/", {"score": 3, "comment": "一般"})
    rating = Survey.objects.get()
    lead = Client()
    lead.force_login(boss)
    assert f'data-rating="{rating.pk}"' in lead.get("/buyer/staff/").content.decode()
    agent = Client()
    agent.force_login(alice)
    assert f'data-rating="{rating.pk}"' not in agent.get("/buyer/staff/").content.decode()
    other = Client()
    other.force_login(carol)
    assert "一般" not in other.get("/buyer/staff/").content.decode()


def test_r10_2_english_is_available(shop_a):
    order = testing.make_order(shop_a)
    testing.make_case(order)
    client = buyer_client(order)
    client.cookies["django_language"] = "en"
    html = client.get("/buyer/order/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The shop is reviewing your request." in html
