"""End to end against the simulator (douyin_sim, started in this process on an ephemeral
port), with the product served over real HTTP for its pushes.

Only the tests import the simulator; the product never does (R13.2). Tasks run inline (the
test settings' immediate backend): a push is processed, and the resulting operations sent,
before the push is answered — in production a worker does that after the answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import pytest

from aftersales.cases import services
from aftersales.cases.models import Case, RefundDecision, RefundExecution
from aftersales.platforms.douyin.models import ApiCallLog, InboundMessage, OutboxOperation

from .e2e_support import (
    AGENT,
    APP_KEY,
    APP_SECRET,
    apply,
    case_of,
    completed_and_refunded,
    new_order,
    platform_case,
    settled,
    successful_operations,
)
from .support import body_of, sign

pytestmark = pytest.mark.django_db(transaction=True)


def test_unshipped_refund_only_is_agreed_and_refunded_automatically(product, control, sim_link):
    """R3.1, R3.4, R13.1, R13.2: unshipped refund-only → agreed and refunded by the policy."""
    order = new_order(control, sim_link)

    aftersale_id = apply(control, order, type=2)

    product.wait_for(lambda: completed_and_refunded(control, aftersale_id), what="the refund")
    settled(product, control)
    with product.db():
        case = case_of(aftersale_id)
        assert case.type == "refund_unshipped"
        decision = RefundDecision.objects.get(case=case)
        assert (decision.goods_amount_fen, decision.shipping_amount_fen) == (8800, 1000)
        assert RefundExecution.objects.get(decision=decision).status == "succeeded"
        assert set(OutboxOperation.objects.filter(case=case).values_list("status", flat=True)) == {
            "synced"
        }
    remote = platform_case(control, aftersale_id)
    assert remote["status"] == 12 and remote["refund_amount"] == decision.total_fen
    (agreed,) = successful_operations(control, aftersale_id)
    assert agreed["params"]["type"] == 401
    messages = [m["content"] for m in control.get("messages", aftersale_id=aftersale_id)]
    # The three step messages, then the satisfaction survey of the ended case (R8.6).
    assert len(messages) == 4
    assert "已收到" in messages[0] and "通过审核" in messages[1] and "98.00" in messages[2]
    assert "打分" in messages[3]


def test_shipped_not_delivered_requests_interception(product, control, sim_link):
    """R3.1, R13.1, R13.2: shipped, not delivered → interception requested first."""
    order = new_order(control, sim_link, shipped=True)

    aftersale_id = apply(control, order, type=1)

    product.wait_for(
        lambda: successful_operations(control, aftersale_id, "afterSale.applyLogisticsIntercept"),
        what="the interception",
    )
    settled(product, control)
    (intercept,) = successful_operations(control, aftersale_id, "afterSale.applyLogisticsIntercept")
    assert intercept["data"]["success_count"] == 1
    assert (
        intercept["params"]["intercept_targets"][0]["tracking_no"]
        == (order["logistics_info"][0]["tracking_no"])
    )
    with product.db():
        case = case_of(aftersale_id)
        assert case.status == "pending_review" and case.refund_status == "none"
        assert case.policy_decisions.get().recommendation == "intercept_first"
    assert successful_operations(control, aftersale_id) == []  # no refund before it is stopped


def test_delivered_return_agree_ship_receive_inspect_second_review_refund(
    product, control, sim_link
):
    """R1.3, R3.4, R13.1, R13.2: the delivered return, end to end through the simulator."""
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=1)
    case = product.wait_for(lambda: case_of(aftersale_id), what="the case")
    assert case.type == "return_refund" and case.status == "pending_review"

    with product.db():
        services.approve_case(case=case, by=AGENT)
    product.wait_for(lambda: platform_case(control, aftersale_id)["status"] == 7, what="7")

    control.post(
        f"aftersales/{aftersale_id}/ship_return",
        {"company_code": "shunfeng", "tracking_no": "SF7788990011"},
    )
    product.wait_for(lambda: case_of(aftersale_id).return_status == "in_transit", what="return")

    with product.db():
        services.receive_return(case=case, by=AGENT)
    assert platform_case(control, aftersale_id)["status"] == 11
    with product.db():
        services.inspect_return(case=case, result="pass", condition="good", by=AGENT)
        services.approve_after_inspection(case=case, by=AGENT)
        services.refund_case(case=case, by=AGENT)

    product.wait_for(lambda: completed_and_refunded(control, aftersale_id), what="the refund")
    settled(product, control)
    operations = control.get("operations", aftersale_id=aftersale_id)
    done = [(op["method"], op["params"].get("type")) for op in operations if op["code"] == 10000]
    assert [d for d in done if d[0] != "im.sendMessage"] == [
        ("afterSale.operate", 101),
        ("afterSale.returnGoodsToWareHouseSuccess", None),
        ("afterSale.operate", 111),
    ]
    receipt = [op for op in operations if op["method"].endswith("WareHouseSuccess")][0]
    assert receipt["params"]["tracking_no"] == "SF7788990011"
    with product.db():
        shipment = case.shipments.get()
        assert (shipment.carrier, shipment.status) == ("shunfeng", "delivered")


def test_pushes_delivered_three_times_and_out_of_order(product, control, sim_link):
    """R3.4, R13.1: every push three times, out of order → one case, one refund, one operation."""
    control.post(
        "faults", {"push_duplicate": 3, "push_reorder_window": 3, "push_reorder_hold": 0.3}
    )
    order = new_order(control, sim_link)

    aftersale_id = apply(control, order, type=2)

    product.wait_for(lambda: completed_and_refunded(control, aftersale_id), what="the refund")
    settled(product, control)
    with product.db():
        assert Case.objects.filter(platform_case_id=aftersale_id).count() == 1
        case = case_of(aftersale_id)
        assert RefundDecision.objects.filter(case=case).count() == 1
        assert RefundExecution.objects.filter(decision__case=case).count() == 1
        deliveries = dict(InboundMessage.objects.values_list("msg_id", "deliveries"))
    assert len(successful_operations(control, aftersale_id)) == 1
    pushed = Counter(p["msg_id"] for p in control.get("pushes", aftersale_id=aftersale_id))
    assert pushed and all(n == 3 for n in pushed.values())
    assert set(deliveries) == set(pushed)
    assert all(n == 3 for n in deliveries.values())


def test_a_failing_platform_and_an_expiring_token_change_nothing_in_the_end(
    product, control, sim_link
):
    """R13.1: 20% of the gateway's calls fail (half 5xx, half no answer; some after the change was
    applied), and the access token expires in the middle: same final state, every
    operation applied exactly once."""
    control.post(
        "faults",
        {
            "api_fail_rate": 0.1,
            "api_hang_rate": 0.1,
            "api_hang_seconds": 1.5,
            "api_fault_when": "random",
        },
    )
    refunds = [apply(control, new_order(control, sim_link), type=2) for _ in range(3)]
    product.wait_for(lambda: completed_and_refunded(control, refunds[0]), what="a first refund")
    expired = control.post("tokens/expire", {"shop_id": sim_link.platform_shop_id})["expired"]
    assert expired >= 1  # the token in use stops working mid-run
    refunds += [apply(control, new_order(control, sim_link), type=2) for _ in range(3)]
    returned = apply(control, new_order(control, sim_link, delivered=True), type=0, reason_code=1)
    case = product.wait_for(lambda: case_of(returned), what="the return case")
    with product.db():
        services.approve_case(case=case, by=AGENT)
    product.wait_for(lambda: platform_case(control, returned)["status"] == 7, what="agreed")

    for aftersale_id in refunds:
        product.wait_for(
            lambda a=aftersale_id: completed_and_refunded(control, a), what=f"refund {aftersale_id}"
        )
    control.post("faults", {"api_fail_rate": 0, "api_hang_rate": 0})
    settled(product, control)

    for aftersale_id in refunds:
        assert len(successful_operations(control, aftersale_id)) == 1, aftersale_id
        with product.db():
            assert RefundExecution.objects.filter(decision__case=case_of(aftersale_id)).count() == 1
    assert len(successful_operations(control, returned)) == 1
    with product.db():
        assert case_of(returned).status == "awaiting_return"
        failed = ApiCallLog.objects.exclude(code=10000).count()
        refreshed = ApiCallLog.objects.filter(method="token.refresh", code=10000).count()
        expired_calls = ApiCallLog.objects.filter(sub_code="isv.access-token-expired").count()
        assert not OutboxOperation.objects.filter(status="failed").exists()
    assert failed > 0, "the faults never hit: the test proved nothing"
    assert expired_calls >= 1 and refreshed >= 1


def test_a_tampered_push_is_refused_and_nothing_is_applied(product, control, sim_link):
    """R13.1: a tampered push → 401, nothing applied."""
    order = new_order(control, sim_link)
    control.post("faults", {"push_paused": True})  # keep the simulator's own pushes back
    aftersale_id = apply(control, order, type=2)
    message = {
        "tag": "200",
        "msg_id": "forged-1",
        "data": json.dumps(
            {"aftersale_id": int(aftersale_id), "shop_id": sim_link.platform_shop_id}
        ),
    }
    body = body_of(message)
    signature = sign(APP_KEY, body, APP_SECRET)
    tampered = body.replace(b"forged-1", b"forged-2")

    request = urllib.request.Request(
        product.push_url,
        data=tampered,
        method="POST",
        headers={"Content-Type": "application/json", "app-id": APP_KEY, "event-sign": signature},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=10)

    assert refused.value.code == 401
    with product.db():
        assert not Case.objects.exists()
        kept = InboundMessage.objects.get()
        assert kept.status == "bad_signature" and kept.body == tampered.decode()
    assert successful_operations(control, aftersale_id) == []
    assert platform_case(control, aftersale_id)["status"] == 6


def test_r3_5_the_buyer_is_asked_for_the_evidence_the_case_waits_for(product, control, sim_link):
    """Issue 14: "要求买家举证" paused the clocks and told the buyer nothing."""
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=4)  # 质量问题
    case = product.wait_for(lambda: case_of(aftersale_id), what="the case")
    settled(product, control)
    with product.db():
        services.request_evidence(case=case, note="商品瑕疵处的近照和整体照片", by=AGENT)
    settled(product, control)
    (asked,) = [
        m["content"]
        for m in control.get("messages", aftersale_id=aftersale_id)
        if "上传以下凭证" in m["content"]
    ]
    assert "商品瑕疵处的近照和整体照片" in asked


def test_the_interceptions_result_is_on_the_case_and_the_parcel(product, control, sim_link):
    """Issue 14, item 11: the case never showed whether the parcel was stopped."""
    from aftersales.platforms.adapter import adapter_for_case

    order = new_order(control, sim_link, shipped=True)
    aftersale_id = apply(control, order, type=1)
    product.wait_for(
        lambda: successful_operations(control, aftersale_id, "afterSale.applyLogisticsIntercept"),
        what="the interception",
    )
    settled(product, control)
    with product.db():
        case = case_of(aftersale_id)
        parcel = case.order.shipments.get(kind="outbound")
        assert parcel.status == "intercepted"
        assert [step.status for step in parcel.history.all()] == ["in_transit", "intercepted"]
        (interception,) = [
            op for op in adapter_for_case(case).sync_state(case).operations if op.is_interception
        ]
        assert interception.status == "synced" and interception.answer
    messages = [m["content"] for m in control.get("messages", aftersale_id=aftersale_id)]
    assert any("请直接拒收" in m for m in messages)
