"""R5.1 on the buyer's page (R10.2): the buyer reads the shop's offer and answers it
themselves; an accepted refund is carried out once; R10.2 amounts are shown in yuan."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales import testing
from aftersales.buyer.session import SESSION_KEY
from aftersales.cases.models import Case, RefundDecision
from aftersales.cases.tests import steps
from aftersales.disputes import services as disputes
from aftersales.disputes.models import Offer

pytestmark = pytest.mark.django_db


def buyer_client(order) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = order.pk
    session.save()
    return client


def shipped_refund(shop) -> Case:
    """A shipped refund-only case for 88.00 paid (the buyer asks for all of it)."""
    return steps.new_case(shop, "refund_shipped", reason="quality_issue")


def answer_url(case: Case, offer: Offer) -> str:
    return f"/buyer/cases/{case.pk}/offers/{offer.pk}/answer/"


def test_r5_1_the_buyer_sees_the_shops_offer_and_accepts_it_refunded_once(
    shop_a, django_capture_on_commit_callbacks
):
    case = shipped_refund(shop_a)
    offer = disputes.make_offer(
        case=case, kind="partial_refund", amount_fen=3000, note="商品有轻微瑕疵", by=testing.SYSTEM
    )
    client = buyer_client(case.order)
    page = client.get("/buyer/order/").content.decode()
    assert "部分退款 30.00 元" in page and "商品有轻微瑕疵" in page
    assert answer_url(case, offer) in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url(case, offer), {"accepted": "yes"}, follow=True)
    html = response.content.decode()
    assert "您已接受商家的方案" in html
    decision = RefundDecision.objects.get(case=case)
    assert (decision.goods_amount_fen, decision.is_partial) == (3000, True)
    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.answered_by.startswith("buyer:")
    # The refund shows in yuan, not in fen; the offer is no longer offered.
    assert "¥30.00" in html and answer_url(case, offer) not in html

    # A second answer (a double tap, a replayed form) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(answer_url(case, offer), {"accepted": "yes"}, follow=True)
    assert "该方案已不在等待答复" in again.content.decode()
    assert RefundDecision.objects.filter(case=case).count() == 1


def test_r5_1_the_buyer_declines_and_the_case_stays_as_it_was(shop_a):
    case = shipped_refund(shop_a)
    status = case.status
    offer = disputes.make_offer(case=case, kind="compensation", amount_fen=500, by=testing.SYSTEM)
    response = buyer_client(case.order).post(
        answer_url(case, offer), {"accepted": "no"}, follow=True
    )
    assert "您已拒绝商家的方案" in response.content.decode()
    offer.refresh_from_db()
    case.refresh_from_db()
    assert offer.status == "declined" and case.status == status
    assert not case.costs.exists() and not RefundDecision.objects.filter(case=case).exists()


def test_r5_1_the_buyer_cannot_answer_their_own_counter_offer(shop_a):
    case = shipped_refund(shop_a)
    shops = disputes.make_offer(
        case=case, kind="partial_refund", amount_fen=2000, by=testing.SYSTEM
    )
    counter = disputes.make_offer(
        case=case,
        kind="partial_refund",
        amount_fen=5000,
        side="buyer",
        counter_to=shops,
        by=testing.SYSTEM,
    )
    client = buyer_client(case.order)
    assert answer_url(case, counter) not in client.get("/buyer/order/").content.decode()
    client.post(answer_url(case, counter), {"accepted": "yes"})
    counter.refresh_from_db()
    assert counter.status == "open"
    assert not RefundDecision.objects.filter(case=case).exists()


def test_r10_2_another_orders_buyer_cannot_answer_the_offer(shop_a, shop_b):
    case = shipped_refund(shop_a)
    offer = disputes.make_offer(
        case=case, kind="partial_refund", amount_fen=3000, by=testing.SYSTEM
    )
    for stranger in (testing.make_order(shop_a), testing.make_order(shop_b)):
        response = buyer_client(stranger).post(answer_url(case, offer), {"accepted": "yes"})
        assert response.status_code == 404
    # Nor through another case of the buyer's own order: the offer belongs to its case.
    offer.refresh_from_db()
    assert offer.status == "open"
    assert not RefundDecision.objects.filter(case=case).exists()


def test_r10_2_without_a_session_the_answer_goes_to_the_start_page(shop_a):
    case = shipped_refund(shop_a)
    offer = disputes.make_offer(
        case=case, kind="partial_refund", amount_fen=3000, by=testing.SYSTEM
    )
    response = Client().post(answer_url(case, offer), {"accepted": "yes"})
    assert response.status_code == 302 and response["Location"].endswith("/buyer/")
    offer.refresh_from_db()
    assert offer.status == "open"
