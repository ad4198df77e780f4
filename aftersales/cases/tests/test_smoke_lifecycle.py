"""R1.3, R3.2: a delivered return goes through both review stages and refunds what was paid."""

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus, RefundStatus


def test_it_refunds_a_returned_item_after_inspection_r1_3(shop_a, alice, django_capture_on_commit_callbacks):
    by = testing.actor(alice)
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=15000)])
    case = testing.make_case(order)
    services.approve_case(case=case, by=by)
    services.record_return_shipment(case=case, carrier="SF", tracking_number="SF123", by=by)
    services.receive_return(case=case, by=by)
    services.inspect_return(case=case, result="pass", condition="good", by=by)
    services.approve_after_inspection(case=case, by=by)
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.refund_case(case=case, by=by)
    case.refresh_from_db()
    assert decision.goods_amount_fen == 15000
    assert case.status == CaseStatus.COMPLETED
    assert case.refund_status == RefundStatus.REFUNDED
    assert order.items.get().refunded_amount_fen == 15000
