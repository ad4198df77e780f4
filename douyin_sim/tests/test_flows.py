"""Whole after-sales flows over HTTP: control API + signed operations, pushes to a receiver."""

from __future__ import annotations

from datetime import datetime

import pytest

from douyin_sim.client import ControlError

from .helpers import SHOP_ID, detail, new_case, new_order, operate


def _with_receiver(ctl, receiver) -> None:
    ctl.post(f"shops/{SHOP_ID}", {"push_url": receiver.url})


def test_full_return_flow_with_signed_pushes(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    case = ctl.post(
        "aftersales",
        {
            "order_id": new_order(ctl)["order_id"],
            "type": 0,
            "reason_code": 4,
            "statement": "开线了",
            "evidence": ["https://img.example/a.jpg"],
        },
    )
    aftersale_id = case["aftersale_id"]
    receiver.wait_tags(["200"], aftersale_id)

    assert (
        operate(api, 101, {"aftersale_id": aftersale_id, "logistics": {"receiver_address_id": 7}})[
            "code"
        ]
        == 10000
    )
    receiver.wait_tags(["202"], aftersale_id)
    ctl.post(
        f"aftersales/{aftersale_id}/ship_return", {"company_code": "shunfeng", "tracking_no": "SF9"}
    )
    receiver.wait_tags(["203"], aftersale_id)
    info = detail(api, aftersale_id)
    assert info["after_sale_status"] == 7
    api.call(
        "afterSale/returnGoodsToWareHouseSuccess",
        {
            "aftersale_id": aftersale_id,
            "op_time": 1,
            "tracking_no": "SF9",
            "logistics_company_code": "shunfeng",
        },
    )
    assert detail(api, aftersale_id)["after_sale_status"] == 11
    assert operate(api, 111, {"aftersale_id": aftersale_id})["code"] == 10000
    messages = receiver.wait_tags(["209", "201", "206"], aftersale_id)

    assert [m["tag"] for m in messages] == ["200", "202", "203", "209", "201", "206"]
    assert all(r["sign_ok"] and r["app_id"] == "app-test-1" for r in receiver.requests)
    assert all(r["content_type"] == "application/json" for r in receiver.requests)
    assert len({m["msg_id"] for m in messages}) == 6
    by_tag = {m["tag"]: m["data"] for m in messages}
    created = by_tag["200"]
    assert created["aftersale_id"] == int(aftersale_id) and created["shop_id"] == int(SHOP_ID)
    assert created["p_id"] == int(case["order_id"]) and created["aftersale_type"] == 0
    assert created["refund_amount"] == 9800 and created["refund_post_amount"] == 0
    assert created["reason_code"] == 4 and created["apply_time"] > 0
    assert datetime.fromisoformat(created["update_time"]).utcoffset().total_seconds() == 8 * 3600
    assert by_tag["202"]["aftersale_status"] == 7 and '"address_id":"7"' in by_tag["202"]["addr"]
    assert by_tag["203"]["return_time"] > 0
    assert by_tag["209"]["status_deadline"] > by_tag["203"]["return_time"]
    assert by_tag["206"]["success_time"] > 0 and by_tag["206"]["aftersale_status"] == 12

    final = api.call("afterSale/Detail", {"after_sale_id": aftersale_id})
    info = final["process_info"]["after_sale_info"]
    assert (info["after_sale_status"], info["refund_status"], info["refund_amount"]) == (
        12,
        3,
        9800,
    )
    assert info["status_deadline"] == 0
    assert final["process_info"]["logistics_info"]["return"] == {
        "company_code": "shunfeng",
        "tracking_no": "SF9",
        "status": 2,
    }
    sku = final["order_info"]["sku_order_infos"][0]
    assert (sku["item_num"], sku["aftersale_item_num"], sku["pay_amount"]) == (2, 2, 9800)
    methods = [op["method"] for op in ctl.get("operations", aftersale_id=aftersale_id)]
    assert methods == [
        "afterSale.operate",
        "afterSale.returnGoodsToWareHouseSuccess",
        "afterSale.operate",
    ]


def test_merchant_timeout_auto_agrees_and_buyer_timeout_closes(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    refund = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ret = new_case(ctl, 0, 1)["aftersale_id"]
    deadline = detail(api, refund)["status_deadline"]
    assert deadline > 0

    fired = ctl.post("clock/advance", {"hours": 47})["fired"]
    assert fired == []
    fired = ctl.post("clock/advance", {"hours": 2})["fired"]
    assert {(f["aftersale_id"], f["to"]) for f in fired if "timeout" in f["event"]} == {
        (refund, 12),
        (ret, 7),
    }
    assert detail(api, refund)["refund_status"] == 3
    receiver.wait_tags(["201", "206"], refund)
    receiver.wait_tags(["202"], ret)

    # The buyer never ships the return: after 7 days it closes.
    ctl.post("clock/advance", {"days": 7, "seconds": 1})
    info = detail(api, ret)
    assert info["after_sale_status"] == 28 and info["refund_status"] == 0
    receiver.wait_tags(["207"], ret)


def test_timeouts_chain_within_one_advance(ctl, api):
    ctl.post("config", {"deadline_hours": {"7": 24}})
    aftersale_id = new_case(ctl, 0, 1)["aftersale_id"]
    fired = ctl.post("clock/advance", {"days": 4})["fired"]
    # 6 → (48 h) auto-agreed → 7 → (24 h more) closed, each at its own simulated time.
    assert [(f["from"], f["to"]) for f in fired] == [(6, 7), (7, 28)]
    assert detail(api, aftersale_id)["after_sale_status"] == 28


def test_a_timeout_action_of_none_leaves_the_after_sale_where_it_is(ctl, api):
    ctl.post("config", {"timeout_actions": {"6": "none"}})
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ctl.post("clock/advance", {"days": 3})
    assert detail(api, aftersale_id)["after_sale_status"] == 6
    ctl.post("config", {"timeout_actions": {"6": "agree"}})
    ctl.post("clock/advance", {"days": 3})  # that deadline has passed once: it does not re-fire
    assert detail(api, aftersale_id)["after_sale_status"] == 6
    assert operate(api, 201, {"aftersale_id": aftersale_id})["code"] == 10000


def test_refund_goes_through_refunding_after_a_delay(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    ctl.post("config", {"refund_delay": 120})
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    operate(api, 201, {"aftersale_id": aftersale_id})
    info = detail(api, aftersale_id)
    assert (info["after_sale_status"], info["refund_status"]) == (12, 2)
    receiver.wait_tags(["201"], aftersale_id)
    assert "206" not in receiver.tags()
    ctl.post("clock/advance", {"seconds": 121})
    assert detail(api, aftersale_id)["refund_status"] == 3
    receiver.wait_tags(["206"], aftersale_id)


def test_unshipped_refund_cancels_the_order_and_returns_shipping(ctl, api):
    case = new_case(ctl, 2, 2)
    assert case["refund_amount"] == 9800 + 600
    assert operate(api, 401, {"aftersale_id": case["aftersale_id"]})["code"] == 10000
    order = api.call("order/orderDetail", {"shop_order_id": case["order_id"]})["shop_order_detail"]
    assert order["order_status"] == 4
    with pytest.raises(ControlError):  # a cancelled order takes no second refund
        ctl.post("aftersales", {"order_id": case["order_id"], "type": 2, "reason_code": 2})


def test_shipping_refuses_an_unshipped_refund(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    case = new_case(ctl, 2, 12)
    ctl.post(f"orders/{case['order_id']}/ship", {})
    assert detail(api, case["aftersale_id"])["after_sale_status"] == 28
    receiver.wait_tags(["207"], case["aftersale_id"])


def test_a_refund_never_exceeds_what_is_left_to_refund(ctl, api):
    order = new_order(ctl)
    sku = order["sku_order_list"][0]["sku_order_id"]
    first = ctl.post(
        "aftersales",
        {"order_id": order["order_id"], "type": 1, "reason_code": 6, "amount": 3000},
    )
    with pytest.raises(ControlError):  # one open after-sale per item
        ctl.post("aftersales", {"order_id": order["order_id"], "type": 0, "reason_code": 1})
    operate(api, 201, {"aftersale_id": first["aftersale_id"]})
    with pytest.raises(ControlError) as too_much:
        ctl.post(
            "aftersales",
            {"order_id": order["order_id"], "type": 0, "reason_code": 1, "amount": 6801},
        )
    assert "6800" in too_much.value.message
    second = ctl.post(
        "aftersales",
        {
            "order_id": order["order_id"],
            "type": 0,
            "reason_code": 1,
            "items": [{"sku_order_id": sku}],
        },
    )
    assert (
        second["refund_amount"] == 6800
        and second["detail"]["process_info"]["after_sale_info"]["part_type"] == 0
    )


def test_arbitration_evidence_and_ruling_for_the_buyer(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    aftersale_id = new_case(ctl, 0, 9)["aftersale_id"]
    operate(api, 102, {"aftersale_id": aftersale_id, "reject_reason_code": 1})
    ctl.post(f"aftersales/{aftersale_id}/arbitrate", {"statement": "实物和描述不符"})
    ctl.post(f"aftersales/{aftersale_id}/arbitrate/evidence_request", {})
    arb = api.call("afterSale/Detail", {"after_sale_id": aftersale_id})["process_info"][
        "arbitrate_info"
    ]
    assert arb["arbitrate_status"] == 4 and arb["arbitrate_id"]
    api.call(
        "afterSale/submitEvidence",
        {
            "aftersale_id": aftersale_id,
            "comment": "发货前质检照片",
            "evidence": ["https://e/1.jpg"],
        },
    )
    ctl.post(f"aftersales/{aftersale_id}/arbitrate/rule", {"conclusion": 1})
    messages = receiver.wait_tags(["205", "212", "213", "214", "216", "202"], aftersale_id)
    tags = [m["tag"] for m in messages]
    assert tags == ["200", "205", "212", "213", "214", "216", "202"]
    ruling = next(m["data"] for m in messages if m["tag"] == "216")
    assert ruling["arbitrate_conclusion"] == 1 and ruling["arbitrate_id"] == arb["arbitrate_id"]
    assert detail(api, aftersale_id)["after_sale_status"] == 7  # the return goes ahead


def test_ruling_for_the_merchant_closes_and_refund_now_refunds(ctl, api):
    closed = new_case(ctl, 1, 6)["aftersale_id"]
    refunded = new_case(ctl, 1, 6)["aftersale_id"]
    for aftersale_id in (closed, refunded):
        operate(api, 202, {"aftersale_id": aftersale_id, "reject_reason_code": 1})
        ctl.post(f"aftersales/{aftersale_id}/arbitrate", {})
    ctl.post(f"aftersales/{closed}/arbitrate/rule", {"conclusion": 2})
    ctl.post(f"aftersales/{refunded}/arbitrate/rule", {"conclusion": 3})
    assert detail(api, closed)["after_sale_status"] == 28
    info = detail(api, refunded)
    assert (info["after_sale_status"], info["refund_status"]) == (12, 3)


def test_exchange_flow_ends_when_the_buyer_confirms_receipt(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    aftersale_id = new_case(ctl, 3, 3, items=None)["aftersale_id"]
    assert detail(api, aftersale_id)["refund_status"] == 0
    operate(api, 301, {"aftersale_id": aftersale_id})
    ctl.post(
        f"aftersales/{aftersale_id}/ship_return", {"company_code": "yunda", "tracking_no": "Y1"}
    )
    refused = api.request(
        "afterSale/buyerExchangeConfirm", {"aftersale_id": aftersale_id, "is_reject": False}
    )
    assert refused["code"] == 40004
    api.call(
        "afterSale/buyerExchangeConfirm",
        {
            "aftersale_id": aftersale_id,
            "is_reject": False,
            "action": 1,
            "comment": "",
            "evidence": [],
            "logistics_code": "SF2",
            "company_code": "shunfeng",
        },
    )
    full = api.call("afterSale/Detail", {"after_sale_id": aftersale_id})["process_info"]
    assert full["after_sale_info"]["after_sale_status"] == 13
    assert full["logistics_info"]["exchange"]["tracking_no"] == "SF2"
    ctl.post(f"aftersales/{aftersale_id}/confirm_receipt", {})
    assert detail(api, aftersale_id)["after_sale_status"] == 14
    receiver.wait_tags(["211"], aftersale_id)


def test_intercept_a_parcel_in_transit(ctl, api):
    case = new_case(ctl, 1, 11, stage="shipped")
    order = api.call("order/orderDetail", {"shop_order_id": case["order_id"]})["shop_order_detail"]
    tracking = order["logistics_info"][0]["tracking_no"]
    result = api.call(
        "afterSale/applyLogisticsIntercept",
        {
            "after_sale_id": case["aftersale_id"],
            "op_from": 1,
            "intercept_targets": [
                {"company_code": "zhongtong", "tracking_no": tracking},
                {"company_code": "zhongtong", "tracking_no": "NOPE"},
            ],
        },
    )
    assert (result["success_count"], result["failed_count"]) == (1, 1)
    assert result["intercept_results"][0] == {
        "tracking_no": tracking,
        "success": True,
        "reason": "",
    }
    with pytest.raises(ControlError):  # an intercepted parcel is not signed for
        ctl.post(f"orders/{case['order_id']}/deliver", {})


def test_time_extend_once_per_step(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    aftersale_id = new_case(ctl, 0, 1)["aftersale_id"]
    before = detail(api, aftersale_id)["status_deadline"]
    api.call("afterSale/timeExtend", {"aftersale_id": aftersale_id})
    after = detail(api, aftersale_id)["status_deadline"]
    assert after - before == 48 * 3600
    again = api.request("afterSale/timeExtend", {"aftersale_id": aftersale_id})
    assert again["code"] == 50002
    messages = receiver.wait_tags(["209"], aftersale_id)
    assert next(m for m in messages if m["tag"] == "209")["data"]["status_deadline"] == after
    ctl.post("clock/advance", {"hours": 49})
    assert detail(api, aftersale_id)["after_sale_status"] == 6  # extended: not timed out yet
    ctl.post("clock/advance", {"hours": 48})
    assert detail(api, aftersale_id)["after_sale_status"] == 7


def test_buyer_modifies_after_rejection_and_withdraws(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    aftersale_id = new_case(ctl, 1, 8, stage="delivered", amount=1000)["aftersale_id"]
    operate(api, 202, {"aftersale_id": aftersale_id, "reject_reason_code": 1})
    ctl.post(
        f"aftersales/{aftersale_id}/modify",
        {"amount": 1500, "statement": "补充照片", "evidence": ["https://e/2.jpg"]},
    )
    info = detail(api, aftersale_id)
    assert (info["after_sale_status"], info["refund_amount"]) == (6, 1500)
    assert info["evidence"] == ["https://e/2.jpg"] and info["part_type"] == 1
    ctl.post(f"aftersales/{aftersale_id}/withdraw", {})
    assert detail(api, aftersale_id)["after_sale_status"] == 28
    messages = receiver.wait_tags(["204", "208", "207"], aftersale_id)
    assert next(m for m in messages if m["tag"] == "208")["data"]["modify_time"] > 0


def test_remarks_are_kept(ctl, api):
    case = new_case(ctl)
    api.call(
        "afterSale/addOrderRemark", {"aftersale_id": case["aftersale_id"], "remark": "已电话联系"}
    )
    api.call("afterSale/addOrderRemark", {"order_id": case["order_id"], "remark": "老客户"})
    remarks = api.call("afterSale/Detail", {"after_sale_id": case["aftersale_id"]})["process_info"][
        "after_sale_shop_remarks"
    ]
    assert [r["remark"] for r in remarks] == ["已电话联系"]
    assert [r["remark"] for r in ctl.get(f"orders/{case['order_id']}")["remarks"]] == ["老客户"]
    assert api.request("afterSale/addOrderRemark", {"remark": "x"})["code"] == 40004


def test_resend_flow_pushes_resend_shipped_then_confirmed(ctl, api, receiver):
    _with_receiver(ctl, receiver)
    aftersale_id = new_case(ctl, 7, 8)["aftersale_id"]
    assert operate(api, 501, {"aftersale_id": aftersale_id})["code"] == 10000
    assert detail(api, aftersale_id)["after_sale_status"] == 8
    ctl.post(f"aftersales/{aftersale_id}/resend_ship", {"tracking_no": "ZT77"})
    ctl.post(f"aftersales/{aftersale_id}/confirm_receipt", {})
    messages = receiver.wait_tags(["201", "226", "211"], aftersale_id)
    shipped = next(m["data"] for m in messages if m["tag"] == "226")
    assert (shipped["aftersale_status"], shipped["tracking_no"]) == (13, "ZT77")
    info = detail(api, aftersale_id)
    assert (info["after_sale_status"], info["refund_status"], info["refund_amount"]) == (14, 0, 0)


def test_a_refund_still_in_progress_counts_against_what_is_left(ctl, api):
    ctl.post("config", {"refund_delay": 600})
    order = new_order(ctl)
    first = ctl.post(
        "aftersales", {"order_id": order["order_id"], "type": 1, "reason_code": 6, "amount": 5000}
    )
    operate(api, 201, {"aftersale_id": first["aftersale_id"]})
    assert detail(api, first["aftersale_id"])["refund_status"] == 2  # 退款中, not yet done
    with pytest.raises(ControlError) as too_much:
        ctl.post(
            "aftersales",
            {"order_id": order["order_id"], "type": 0, "reason_code": 1, "amount": 4801},
        )
    assert "4800" in too_much.value.message
    second = ctl.post("aftersales", {"order_id": order["order_id"], "type": 0, "reason_code": 1})
    assert second["refund_amount"] == 4800
