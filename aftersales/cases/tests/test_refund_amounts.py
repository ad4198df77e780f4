"""What a refund is by default, and the parts a refund may have (R3.2, R3.3, R4.4).

- R3.2: without an amount, the goods refund is what the buyer asked for, capped by what the
  case's items may still refund — not the items' full paid price; a case with nothing asked
  (an exchange turned into a refund) refunds the goods in full; the buyer's request is the
  reason of a partial refund it makes.
- R3.3: an order whose shipping was free has no shipping to refund, and says so (not
  "already refunded").
- R4.4: when the policy has the merchant pay return shipping, the buyer's return postage is
  refunded as a line of its own, never above the policy's cap (a shop may set its own), and
  once: it is part of the case's one refund decision and its one execution. Otherwise none.
"""

from __future__ import annotations

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.models import Case, RefundDecision, RefundExecution
from aftersales.cases.money import default_goods_fen
from aftersales.cases.tests import steps
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.policy.services import decide_case, publish_policy_version

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM


def awaiting_refund(case: Case) -> Case:
    for step in steps.path_to(case.type, S.AWAITING_REFUND):
        step(Case.objects.get(pk=case.pk), SYSTEM)
    return Case.objects.get(pk=case.pk)


def return_case(shop, *, reason: str = "wrong_size", **kwargs) -> Case:
    order = testing.make_order(shop, **kwargs.pop("order", {}))
    return testing.make_case(order, type=T.RETURN_REFUND, reason=reason, **kwargs)


# --- R3.2: the default is what the buyer asked for -------------------------------------------


def test_r3_2_without_an_amount_the_goods_refund_is_what_the_buyer_asked_for(shop_a):
    case = awaiting_refund(return_case(shop_a, requested_amount_fen=5000))  # paid 88.00

    decision = services.refund_case(case=case, by=SYSTEM)

    assert (decision.goods_amount_fen, decision.is_partial) == (5000, True)
    assert "50.00" in decision.reason  # the buyer's request is the reason


def test_r3_2_a_request_above_what_the_goods_may_refund_is_capped(shop_a):
    # The request includes the 10.00 shipping, as the platform's does; the goods cap is 88.00.
    case = awaiting_refund(return_case(shop_a, requested_amount_fen=9800))

    decision = services.refund_case(case=case, by=SYSTEM)

    assert (decision.goods_amount_fen, decision.is_partial, decision.reason) == (8800, False, "")


def test_r3_2_a_case_with_nothing_asked_refunds_the_goods_in_full(shop_a):
    order = testing.make_order(shop_a)
    case = testing.make_case(order, type=T.EXCHANGE, reason="wrong_size")
    assert case.requested_amount_fen == 0
    case = awaiting_refund(case)  # approved, returned, inspected, converted to a refund

    assert services.refund_case(case=case, by=SYSTEM).goods_amount_fen == 8800


def test_r3_2_a_typed_partial_amount_other_than_the_request_still_needs_a_reason(shop_a):
    case = awaiting_refund(return_case(shop_a, requested_amount_fen=5000))
    with pytest.raises(InvalidInput) as refused:
        services.refund_case(case=case, by=SYSTEM, goods_amount_fen=4000)
    assert refused.value.field == "reason"
    assert not RefundDecision.objects.exists()


@given(requested=st.integers(0, 10**9), cap=st.integers(0, 10**9))
def test_r3_2_the_default_goods_never_exceed_the_cap_nor_the_request(requested, cap):
    goods = default_goods_fen(requested, cap)
    assert 0 <= goods <= cap
    assert goods == (cap if requested == 0 else min(requested, cap))


# --- R3.3: no shipping paid -------------------------------------------------------------------


def test_r3_3_free_shipping_is_refused_as_none_paid_not_as_already_refunded(shop_a):
    case = awaiting_refund(return_case(shop_a, order={"shipping_fee_fen": 0}))

    with pytest.raises(InvalidInput) as refused:
        services.refund_case(case=case, by=SYSTEM, shipping_amount_fen=100)

    assert refused.value.field == "shipping_amount_fen"
    assert "No shipping was paid" in refused.value.render("en")
    with translation.override("zh-hans"):
        assert "已退还" not in refused.value.render("zh-hans")
    assert not RefundDecision.objects.exists()


def test_r3_3_shipping_refunded_by_another_case_is_still_a_conflict(shop_a):
    order = testing.make_order(shop_a, lines=[testing.Line(), testing.Line()])
    first, second = (
        testing.make_case(order, quantities={item.pk: 1}) for item in order.items.order_by("pk")
    )
    services.refund_case(case=awaiting_refund(first), by=SYSTEM, shipping_amount_fen=1000)
    with pytest.raises(Conflict) as refused:
        services.refund_case(case=awaiting_refund(second), by=SYSTEM, shipping_amount_fen=1000)
    assert refused.value.field == "shipping_amount_fen"


# --- R4.4: the buyer's return postage ---------------------------------------------------------


def merchant_fault_return(shop, **kwargs) -> Case:
    """A wrong item sent: the merchant pays return shipping (R4.4)."""
    case = awaiting_refund(return_case(shop, reason="wrong_item", **kwargs))
    decision = decide_case(case=case, by=SYSTEM)
    assert decision.payload["return_shipping_payer"] == "merchant"
    return case


def test_r4_4_the_policy_allows_the_buyers_return_postage_up_to_its_cap(shop_a):
    case = merchant_fault_return(shop_a)

    defaults = services.refund_defaults(case)
    decision = services.refund_case(
        case=case, by=SYSTEM, goods_amount_fen=8800, return_postage_fen=1500
    )

    assert defaults.return_postage_cap_fen == 2000  # the default policy's cap, 20.00 yuan
    assert (decision.goods_amount_fen, decision.return_postage_fen) == (8800, 1500)
    assert decision.order_refund_fen == 8800 + decision.shipping_amount_fen
    assert decision.total_fen == decision.order_refund_fen + 1500
    # Paid once, with the rest of the refund: one decision, one execution for the total.
    execution = RefundExecution.objects.get(decision=decision)
    assert execution.amount_fen == decision.total_fen


def test_r4_4_return_postage_above_the_cap_is_refused_and_changes_nothing(shop_a):
    case = merchant_fault_return(shop_a)
    with pytest.raises(InvalidInput) as refused:
        services.refund_case(case=case, by=SYSTEM, goods_amount_fen=8800, return_postage_fen=2001)
    assert refused.value.field == "return_postage_fen"
    assert "20.00" in refused.value.render("en")
    assert not RefundDecision.objects.exists()
    assert Case.objects.get(pk=case.pk).refund_status == "none"


def test_r4_4_without_an_amount_the_return_postage_is_the_cap_once(shop_a):
    case = merchant_fault_return(shop_a)
    decision = services.refund_case(case=case, by=SYSTEM, return_postage_fen=None)
    assert decision.return_postage_fen == 2000
    with pytest.raises(Conflict):  # the case's one refund: the postage is not paid again
        services.refund_case(case=case, by=SYSTEM, return_postage_fen=None)
    assert RefundDecision.objects.filter(case=case).count() == 1


def test_r4_4_a_shop_sets_its_own_cap(shop_a):
    publish_policy_version(
        shop=shop_a,
        document="[shipping]\nmerchant_return_postage_cap_fen = 1000\n",
        effective_from=timezone.now(),
        by=SYSTEM,
    )
    case = merchant_fault_return(shop_a)
    with pytest.raises(InvalidInput):
        services.refund_case(case=case, by=SYSTEM, goods_amount_fen=8800, return_postage_fen=1200)
    assert (
        services.refund_case(
            case=case, by=SYSTEM, goods_amount_fen=8800, return_postage_fen=1000
        ).return_postage_fen
        == 1000
    )


@pytest.mark.parametrize(
    ("reason", "insured"),
    [("wrong_size", False), ("no_reason", True)],
    ids=["buyer-pays", "insurance-pays"],
)
def test_r4_4_no_return_postage_when_the_merchant_does_not_pay_return_shipping(
    shop_a, reason, insured
):
    case = awaiting_refund(return_case(shop_a, reason=reason, order={"insured": insured}))
    decide_case(case=case, by=SYSTEM)
    assert services.refund_defaults(case).return_postage_cap_fen == 0
    with pytest.raises(InvalidInput) as refused:
        services.refund_case(case=case, by=SYSTEM, goods_amount_fen=8800, return_postage_fen=1)
    assert refused.value.field == "return_postage_fen"
    assert not RefundDecision.objects.exists()


def test_r4_4_a_case_the_policy_never_decided_has_no_return_postage(shop_a):
    case = awaiting_refund(return_case(shop_a, reason="wrong_item"))
    assert services.refund_defaults(case).return_postage_cap_fen == 0
