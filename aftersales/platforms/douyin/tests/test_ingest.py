"""From a push to a case: Detail is the truth, the order is upserted in fen, the policy triages,
decisions go back through the outbox, and the platform's own moves are followed, not echoed.

Real HTTP on loopback (the fake gateway with a scripted platform behind it); tasks run inline
(the test settings' immediate backend), so `transaction=True` lets on-commit work happen.
"""

import pytest
from django.test import Client

from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.models import Case, RefundDecision, RefundExecution
from aftersales.core.actors import Actor
from aftersales.orders.models import Order, Shipment
from aftersales.platforms.douyin.ingest import process_message, store_snapshot, sync_aftersale
from aftersales.platforms.douyin.models import DouyinAftersale, InboundMessage, OutboxOperation

from .mini_platform import MiniPlatform
from .support import body_of, message, post_push

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def push(link, tag, aftersale_id, **data):
    body = body_of(message(tag, aftersale_id, link.platform_shop_id, **data))
    response = post_push(Client(), body, app_key=link.app_key, secret=link.app_secret)
    assert response.status_code == 200, response.content
    return response


def operations(case):
    return list(
        OutboxOperation.objects.filter(case=case)
        .order_by("pk")
        .values_list("kind", "params__operate_type", "status")
    )


def test_unshipped_refund_only_is_opened_triaged_agreed_and_refunded(linked, platform):
    order = platform.add_order(status=2, pay_amount=8800, origin_amount=10000)
    aftersale_id = platform.add_aftersale(order, type=2, reason_code=2)

    push(linked, "200", aftersale_id, apply_time=1)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert (case.type, case.reason) == ("refund_unshipped", "changed_mind")
    assert (case.status, case.refund_status) == ("completed", "refunded")
    # The order came from orderDetail, in fen: what was paid, not the list price (R3.2).
    local_order = Order.objects.get(platform_order_id=order["order_id"])
    item = local_order.items.get()
    assert (item.paid_amount_fen, item.list_price_fen, item.quantity) == (8800, 10000, 1)
    assert item.sku.product.category == "apparel" and local_order.status == "unshipped"
    assert local_order.buyer.platform_buyer_id == order["buyer"]["open_id"]
    assert RefundDecision.objects.get(case=case).goods_amount_fen == 8800
    execution = RefundExecution.objects.get(decision__case=case)
    assert execution.status == "succeeded"
    assert execution.external_reference == f"douyin:{aftersale_id}"
    # Agreed once on the platform: the agreement is the refund instruction.
    assert platform.applied == [(aftersale_id, 401)]
    assert platform.info(aftersale_id)["after_sale_status"] == 12
    assert operations(case) == [
        ("notify_buyer", None, "synced"),
        ("notify_buyer", None, "synced"),
        ("agree", 401, "synced"),
        ("notify_buyer", None, "synced"),
        ("notify_buyer", None, "synced"),  # the satisfaction survey (R8.6)
    ]
    texts = [m["content"] for m in platform.messages]
    assert (
        "已收到" in texts[0] and "通过审核" in texts[1] and "98.00" in texts[2]
    )  # goods + shipping
    assert all(m["order_id"] == order["order_id"] for m in platform.messages)
    assert InboundMessage.objects.get().status == "processed"


def test_pushes_repeated_and_out_of_order_give_one_case_one_refund_one_operation(linked, platform):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2, reason_code=1)

    # The agreement's push overtakes the application's; each arrives more than once.
    push(linked, "201", aftersale_id, msg_id="late-201")
    push(linked, "200", aftersale_id, msg_id="first-200")
    push(linked, "200", aftersale_id, msg_id="first-200")
    push(linked, "206", aftersale_id, msg_id="success-206")
    push(linked, "201", aftersale_id, msg_id="late-201")

    assert Case.objects.filter(platform_case_id=aftersale_id).count() == 1
    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "completed"
    assert RefundDecision.objects.filter(case=case).count() == 1
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    assert len(platform.operate_calls(aftersale_id)) == 1
    assert InboundMessage.objects.count() == 3
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}


def test_an_older_detail_never_overwrites_a_newer_one(linked, platform):
    order = platform.add_order(status=3, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, status=6)
    older = platform.detail(aftersale_id)
    platform.set_status(aftersale_id, 7)
    newer = platform.detail(aftersale_id)

    store_snapshot(linked, newer)
    record = store_snapshot(linked, older)

    assert record.platform_status == 7
    assert DouyinAftersale.objects.get().platform_status == 7


def test_what_the_platform_did_itself_is_followed_and_not_echoed(linked, platform):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, status=7)  # agreed by timeout

    push(linked, "202", aftersale_id)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "awaiting_return" and case.return_status == "awaiting_shipment"
    assert case.order.status == "delivered"  # 已完成 + signed for
    approved = case.events.get(type="case_approved")
    assert approved.actor_kind == "platform"
    # No agreement sent back; the buyer is still told (R3.5).
    assert [k for k, _, _ in operations(case)] == ["notify_buyer", "notify_buyer"]
    assert platform.operate_calls() == []


def test_the_buyers_return_shipment_and_the_platform_closing_are_applied(linked, platform):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, status=7)
    push(linked, "202", aftersale_id)
    platform.aftersales[aftersale_id]["process_info"]["logistics_info"]["return"] = {
        "company_code": "shunfeng",
        "tracking_no": "SF100200300",
        "status": 1,
    }
    platform.set_status(aftersale_id, 7)

    push(linked, "203", aftersale_id, return_time=1)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.return_status == "in_transit"
    shipment = Shipment.objects.get(case=case)
    assert (shipment.kind, shipment.carrier, shipment.tracking_number) == (
        "return",
        "shunfeng",
        "SF100200300",
    )


def test_a_withdrawn_request_closes_the_case(linked, platform):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, status=6)
    push(linked, "200", aftersale_id)
    platform.set_status(aftersale_id, 28)

    push(linked, "207", aftersale_id, close_time=1)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "closed"
    assert case.events.get(type="case_withdrawn").actor_kind == "platform"


def test_platform_intervention_moves_the_dispute_axis(linked, platform):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, status=6)
    push(linked, "200", aftersale_id)
    platform.set_status(aftersale_id, 27)
    push(linked, "205", aftersale_id)
    platform.aftersales[aftersale_id]["process_info"]["arbitrate_info"] = {
        "arbitrate_status": 1,
        "arbitrate_id": "arb-1",
    }
    platform.set_status(aftersale_id, 27)

    push(linked, "212", aftersale_id, arbitrate_id="arb-1", arbitrate_status=1)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "rejected" and case.dispute_status == "platform_intervening"
    assert case.events.get(type="case_rejected").actor_kind == "platform"


def test_shipped_not_delivered_asks_for_interception_first(linked, platform):
    order = platform.add_order(status=3, shipped=True)
    aftersale_id = platform.add_aftersale(order, type=1, reason_code=2)

    push(linked, "200", aftersale_id)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "pending_review"  # the refund waits for the parcel (R3.1)
    assert case.policy_decisions.get().recommendation == "intercept_first"
    (intercept,) = [c for c in platform.gateway.calls if c.method.endswith("Intercept")]
    assert intercept.params == {
        "after_sale_id": aftersale_id,
        "op_from": 1,
        "intercept_targets": [
            {"company_code": "zhongtong", "tracking_no": order["logistics_info"][0]["tracking_no"]}
        ],
    }
    assert ("intercept", None, "synced") in operations(case)
    assert platform.operate_calls() == []


def test_return_agreed_received_inspected_and_refunded_by_agents(linked, platform, alice):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=1)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    agent = Actor(kind="user", label="alice", user=alice, shop_roles={case.shop_id: "agent"})

    services.approve_case(case=case, by=agent)
    (agree,) = platform.operate_calls(aftersale_id)
    assert agree.params["type"] == 101
    assert agree.params["items"][0]["logistics"] == {"receiver_address_id": "addr-1"}
    assert platform.info(aftersale_id)["after_sale_status"] == 7

    platform.aftersales[aftersale_id]["process_info"]["logistics_info"]["return"] = {
        "company_code": "yunda",
        "tracking_no": "YD778899",
        "status": 1,
    }
    platform.set_status(aftersale_id, 7)
    push(linked, "203", aftersale_id)
    case.refresh_from_db()
    assert case.return_status == "in_transit"

    services.receive_return(case=case, by=agent)
    receipt = [c for c in platform.gateway.calls if c.method.endswith("WareHouseSuccess")]
    assert receipt[0].params["tracking_no"] == "YD778899"
    assert receipt[0].params["logistics_company_code"] == "yunda"
    assert platform.info(aftersale_id)["after_sale_status"] == 11

    services.inspect_return(case=case, result="pass", condition="good", by=agent)
    services.approve_after_inspection(case=case, by=agent)
    services.refund_case(case=case, by=agent)

    case.refresh_from_db()
    assert (case.status, case.refund_status) == ("completed", "refunded")
    assert platform.applied == [(aftersale_id, 101), (aftersale_id, 0), (aftersale_id, 111)]
    kinds = [(k, t) for k, t, s in operations(case) if k != "notify_buyer"]
    assert kinds == [("agree", 101), ("confirm_receipt", None), ("second_review", 111)]
    assert {s for _, _, s in operations(case)} == {"synced"}


def test_an_agents_rejection_goes_out_with_the_platforms_reason_code(linked, platform, alice):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=2)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)

    services.reject_case(
        case=case, reason_code="beyond_window", note="签收已超过7天", by=Actor.system("alice")
    )

    (reject,) = platform.operate_calls(aftersale_id)
    item = reject.params["items"][0]
    assert reject.params["type"] == 102
    assert item["reject_reason_code"] == 3 and item["reason"] == "签收已超过7天"
    assert platform.info(aftersale_id)["after_sale_status"] == 27
    assert "超过七天无理由退货期限" in platform.messages[-1]["content"]


def test_a_failed_processing_is_kept_with_its_error_and_retried(linked, platform):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2)
    platform.faults["afterSale.Detail"] = [(503, {})] * 4  # the client's four tries

    push(linked, "200", aftersale_id)

    stored = InboundMessage.objects.get()
    assert stored.status == "failed" and "HTTP 503" in stored.error
    assert not Case.objects.exists()

    process_message(stored.pk)

    stored.refresh_from_db()
    assert stored.status == "processed" and stored.attempts == 2
    assert Case.objects.get().status == "completed"


def test_sync_aftersale_is_idempotent(linked, platform):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2)

    for _ in range(3):
        sync_aftersale(linked, aftersale_id)

    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(type="refund_decided").count() == 1
    assert len(platform.operate_calls()) == 1


def test_a_platform_amount_beyond_our_refund_rules_opens_the_case_with_the_refundable_one(
    linked, platform
):
    order = platform.add_order(status=2, pay_amount=8800, post_amount=1000)
    aftersale_id = platform.add_aftersale(order, type=2)
    info = platform.aftersales[aftersale_id]["process_info"]["after_sale_info"]
    info["refund_amount"] = 8800 + 1000 + 500  # more than the goods and the shipping paid

    sync_aftersale(linked, aftersale_id)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.requested_amount_fen == 8800


def test_a_decision_the_platform_refused_does_not_stop_the_case_following_the_platform(
    linked, platform
):
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    platform.set_status(aftersale_id, 28)  # the buyer withdrew a moment before

    services.approve_case(case=case, by=Actor.system("agent"))

    agree = OutboxOperation.objects.get(case=case, kind="agree")
    assert agree.status == "failed" and "20309541" in agree.last_error
    push(linked, "207", aftersale_id)
    case.refresh_from_db()
    assert case.status == "closed"  # followed the platform; the refusal stays on record
    assert case.events.filter(type="platform_operation_failed").count() == 1


def test_what_needs_a_person_is_assigned_on_arrival_and_what_the_policy_finished_is_not(
    linked, platform, alice, shop_a
):
    """R9.2: a case from the platform goes to the agent on duty when the policy cannot finish
    it alone; a refund the policy completed by itself is left unassigned."""
    from aftersales.team.services import set_on_duty

    set_on_duty(user=alice, shop=shop_a, on_duty=True, by=Actor.system("test"))
    delivered = platform.add_order(status=5, shipped=True, signed=True)
    needs_review = platform.add_aftersale(delivered, type=0, reason_code=1)
    unshipped = platform.add_order(status=2)
    refunded_at_once = platform.add_aftersale(unshipped, type=2, reason_code=2)

    push(linked, "200", needs_review)
    push(linked, "200", refunded_at_once)

    review = Case.objects.get(platform_case_id=needs_review)
    assert (review.status, review.assignee) == ("pending_review", alice)
    assert AuditEvent.objects.filter(case_id=review.pk, type="case_assigned").count() == 1
    done = Case.objects.get(platform_case_id=refunded_at_once)
    assert (done.status, done.assignee) == ("completed", None)
    # A redelivered push does not assign again.
    push(linked, "200", needs_review)
    assert AuditEvent.objects.filter(case_id=review.pk, type="case_assigned").count() == 1


def test_an_agents_reply_and_a_deadline_extension_reach_the_buyer_through_the_platform(
    linked, platform, alice
):
    """R3.5, R2.6: what a person writes to the buyer is sent on the platform, once each."""
    from aftersales.cases.services import message_buyer
    from aftersales.sla.models import SlaClock
    from aftersales.sla.services import extend_deadline

    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=1)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    agent = Actor(kind="user", label="alice", user=alice, shop_roles={case.shop_id: "agent"})
    before = len(platform.messages)

    message_buyer(case=case, text="您好，请提供商品破损处的照片。", by=agent)
    plan = SlaClock.objects.get(case=case, kind="plan")
    extend_deadline(
        clock=plan,
        hours=12,
        reason="等待仓库核实",
        message_to_buyer="抱歉，需多 12 小时核实。",
        by=agent,
    )

    sent = [m["content"] for m in platform.messages[before:]]
    assert sent == ["您好，请提供商品破损处的照片。", "抱歉，需多 12 小时核实。"]
    assert all(m["order_id"] == order["order_id"] for m in platform.messages[before:])
    statuses = OutboxOperation.objects.filter(
        case=case, cause__in=["buyer_message_sent", "deadline_extended"]
    )
    assert sorted(statuses.values_list("status", flat=True)) == ["synced", "synced"]


def test_a_rejection_answered_by_a_modified_application_reopens_the_case(linked, platform):
    """The buyer modified the application after our rejection reached the platform (27 → 6)
    before the product read a Detail showing 27: the case is reopened all the same, because
    our latest rejection was applied on the platform before this Detail was read. Found by
    bench/soak.py (issue 15): the case stayed rejected while the platform waited for the
    merchant, and reconciliation flagged drift."""
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=2)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    services.reject_case(
        case=case, reason_code="beyond_window", note="签收已超过7天", by=Actor.system("alice")
    )
    assert platform.info(aftersale_id)["after_sale_status"] == 27
    assert DouyinAftersale.objects.get(aftersale_id=aftersale_id).platform_status == 6
    platform.set_status(aftersale_id, 6)  # the buyer modified the application

    push(linked, "200", aftersale_id, aftersale_status=6)

    case.refresh_from_db()
    assert case.status == "pending_review"
    assert case.events.get(type="case_reopened").actor_kind == "platform"


def test_a_decision_refused_because_the_platform_closed_holds_nothing_up(linked, platform):
    """Approved while the buyer withdrew: the agreement is refused (50002, status 28). Once
    the platform's closing is applied, the refused agreement and the "approved" message behind
    it are superseded (the buyer is never told an approval the platform refused) and nothing
    waits for ever. Found by bench/soak.py (issue 15): 4 messages pending after the drain."""
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    platform.set_status(aftersale_id, 28)  # the buyer withdrew a moment before
    services.approve_case(case=case, by=Actor.system("agent"))
    agree = OutboxOperation.objects.get(case=case, kind="agree")
    approved_message = OutboxOperation.objects.get(
        case=case, cause="case_approved", kind="notify_buyer"
    )
    assert agree.status == "failed" and approved_message.status == "pending"

    push(linked, "207", aftersale_id)

    case.refresh_from_db()
    assert case.status == "closed"
    agree.refresh_from_db()
    approved_message.refresh_from_db()
    assert (agree.status, approved_message.status) == ("superseded", "superseded")
    assert not OutboxOperation.objects.filter(case=case, status__in=["pending", "sending"])
    assert not [m for m in platform.messages if "通过审核" in m["content"]]


def test_r5_2_r2_8_the_case_carries_the_platforms_deadline_and_the_buyers_vip_level_now(
    linked, platform
):
    """What the queue filters on is on the case row, kept by ingest in the same transaction
    as what it comes from: the after-sale's `status_deadline` (its Detail), and the buyer's
    VIP level (each orderDetail), for every case of the buyer when the level changes."""
    first = platform.add_order(status=2)
    first_id = platform.add_aftersale(first, type=2, reason_code=2)
    push(linked, "200", first_id, apply_time=1)
    case = Case.objects.get(platform_case_id=first_id)
    record = DouyinAftersale.objects.get(case=case)
    assert record.status_deadline is not None
    assert case.platform_deadline == record.status_deadline
    assert case.buyer_vip is False

    # The same buyer orders again, a VIP now: both their cases carry it.
    second = platform.add_order(status=2)
    second["buyer"] = {**first["buyer"], "vip_level": 2}
    second_id = platform.add_aftersale(second, type=2, reason_code=2)
    push(linked, "200", second_id, apply_time=1)
    flags = dict(Case.objects.values_list("platform_case_id", "buyer_vip"))
    assert flags == {first_id: True, second_id: True}
    assert Case.objects.get(platform_case_id=first_id).order.buyer.vip_level == 2
