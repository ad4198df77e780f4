"""The refund form on the case page (R3.2–R3.4, R4.4).

- A refused refund comes back open with what the agent typed and the error beside its field:
  after a partial attempt the form never refills the full amount.
- The confirmation states the amount: goods + shipping (+ the buyer's return postage).
- It offers what the buyer asked for, capped by what was paid, and says how the amount typed
  differs from the request.
- An order whose shipping was free offers no shipping refund and says none was paid.
- The buyer's return postage is offered where the policy has the merchant pay it, up to the
  policy's cap, and nowhere else.
"""

from __future__ import annotations

import re

import pytest

from aftersales import testing
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.models import Case, RefundDecision
from aftersales.cases.tests import steps
from aftersales.policy.services import decide_case

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"


def awaiting_refund(case: Case) -> Case:
    for step in steps.path_to(case.type, S.AWAITING_REFUND):
        step(Case.objects.get(pk=case.pk), SYSTEM)
    return Case.objects.get(pk=case.pk)


def refund_box(html: str) -> str:
    start = html.index('data-action="refund"')
    return html[html.rindex("<details", 0, start) : html.index("</details>", start)]


def field_html(box: str, name: str) -> str:
    """The `.field` block of one input of the refund form."""
    at = box.index(f'id="refund-{name}"')
    start = box.rindex('<div class="field', 0, at)
    end = box.find('<div class="field', at)
    return box[start : end if end != -1 else len(box)]


def test_r3_2_a_refused_partial_refund_keeps_what_was_typed_open_with_the_error_beside_it(
    client, alice, shop_a
):
    client.force_login(alice)
    case = awaiting_refund(testing.make_case(testing.make_order(shop_a)))  # paid 88.00

    response = client.post(
        f"/cases/{case.pk}/do/refund/", {"goods_amount": "50.00", "shipping_amount": "0"}
    )

    assert response.status_code == 400
    box = refund_box(response.content.decode())
    assert re.search(r'<details[^>]*data-action="refund"[^>]* open', box)
    assert 'value="50.00"' in field_html(box, "goods_amount")  # not refilled with 88.00
    reason = field_html(box, "reason")
    assert "has-error" in reason and "A partial refund needs a reason." in reason
    assert "¥50.00" in box  # the confirmation states what was typed
    assert not RefundDecision.objects.filter(case=case).exists()


def test_r3_2_an_amount_above_what_was_paid_is_refused_beside_the_goods_field(
    client, alice, shop_a
):
    client.force_login(alice)
    case = awaiting_refund(testing.make_case(testing.make_order(shop_a)))

    response = client.post(f"/cases/{case.pk}/do/refund/", {"goods_amount": "88.01"})

    assert response.status_code == 409
    goods = field_html(refund_box(response.content.decode()), "goods_amount")
    assert 'value="88.01"' in goods
    assert "has-error" in goods and "88.00 yuan still refundable" in goods
    assert not RefundDecision.objects.filter(case=case).exists()


def test_r3_4_the_confirmation_states_the_amount_in_chinese(client, alice, shop_a):
    """Goods 49.00 + shipping 6.00 of an unshipped order: "确认退款 ¥55.00 给买家？"."""
    client.cookies["django_language"] = "zh-hans"
    client.force_login(alice)
    order = testing.make_order(
        shop_a,
        status="unshipped",
        lines=[testing.Line(paid_amount_fen=4900)],
        shipping_fee_fen=600,
    )
    case = testing.make_case(order, type=T.REFUND_UNSHIPPED, reason="changed_mind")
    case = awaiting_refund(case)
    decide_case(case=case, by=SYSTEM)  # refund the shipping too: not shipped (R3.3)

    box = refund_box(client.get(f"/cases/{case.pk}/").content.decode())

    assert 'data-confirm="确认退款 ¥55.00 给买家？' in box
    assert 'value="49.00"' in field_html(box, "goods_amount")
    assert 'value="6.00"' in field_html(box, "shipping_amount")


def test_r3_2_the_form_offers_what_the_buyer_asked_for_and_shows_the_difference(
    client, alice, shop_a
):
    client.force_login(alice)
    case = awaiting_refund(testing.make_case(testing.make_order(shop_a), requested_amount_fen=5000))

    box = refund_box(client.get(f"/cases/{case.pk}/").content.decode())

    assert 'value="50.00"' in field_html(box, "goods_amount")
    assert "The buyer asked for 50.00 yuan." in box
    assert "Exactly what the buyer asked for." in box
    assert 'data-more="{amount} yuan more than the buyer asked for."' in box

    # The agent's own amount: refused for its missing reason, the difference stays in view.
    response = client.post(f"/cases/{case.pk}/do/refund/", {"goods_amount": "60.00"})
    assert "10.00 yuan more than the buyer asked for." in refund_box(response.content.decode())


def test_r3_3_free_shipping_offers_no_shipping_refund_and_says_none_was_paid(client, alice, shop_a):
    client.force_login(alice)
    case = awaiting_refund(testing.make_case(testing.make_order(shop_a, shipping_fee_fen=0)))

    html = client.get(f"/cases/{case.pk}/").content.decode()
    box = refund_box(html)

    assert 'id="refund-shipping_amount"' not in box
    assert "No shipping was paid for this order." in box
    assert "already been refunded" not in html


def test_r4_4_the_buyers_return_postage_is_offered_up_to_the_cap_where_the_merchant_pays(
    client, alice, shop_a, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    merchant_pays = awaiting_refund(
        testing.make_case(testing.make_order(shop_a), reason="wrong_item")
    )
    decide_case(case=merchant_pays, by=SYSTEM)
    buyer_pays = awaiting_refund(testing.make_case(testing.make_order(shop_a), reason="wrong_size"))
    decide_case(case=buyer_pays, by=SYSTEM)

    offered = refund_box(client.get(f"/cases/{merchant_pays.pk}/").content.decode())
    assert 'value="20.00"' in field_html(offered, "return_postage")
    assert "up to 20.00 yuan" in offered
    assert 'id="refund-return_postage"' not in refund_box(
        client.get(f"/cases/{buyer_pays.pk}/").content.decode()
    )

    too_much = client.post(
        f"/cases/{merchant_pays.pk}/do/refund/",
        {"goods_amount": "88.00", "shipping_amount": "10.00", "return_postage": "20.01"},
    )
    postage = field_html(refund_box(too_much.content.decode()), "return_postage")
    assert "has-error" in postage and 'value="20.01"' in postage
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/cases/{merchant_pays.pk}/do/refund/",
            {"goods_amount": "88.00", "shipping_amount": "10.00", "return_postage": "12.00"},
        )
    assert done.status_code == 302
    decision = RefundDecision.objects.get(case=merchant_pays)
    assert (decision.order_refund_fen, decision.return_postage_fen) == (9800, 1200)
    assert decision.execution.amount_fen == 11000
