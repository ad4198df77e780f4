"""afterSale/operate: the type × status table, batches, all-or-nothing, versions, rejections."""

from __future__ import annotations

import pytest

from douyin_sim.errors import ApiError
from douyin_sim.platform import Platform

from .helpers import SHOP_ID, detail, new_case, operate

# The table of docs/douyin-contract.md, copied by hand (not derived from the simulator's code):
# code: (after-sale types, statuses it is allowed in, status after).
CONTRACT_TABLE = {
    101: ({0}, {6, 27}, 7),
    102: ({0}, {6}, 27),
    111: ({0}, {7, 11, 29}, 12),
    112: ({0}, {11}, 29),
    201: ({1}, {6, 27}, 12),
    202: ({1}, {6}, 27),
    301: ({3}, {6, 27}, 7),
    302: ({3}, {6}, 27),
    311: ({3}, {7, 11, 29}, 13),
    312: ({3}, {11}, 29),
    321: ({3}, {6, 27}, 12),
    401: ({2}, {6}, 12),
    501: ({7}, {6}, 8),
    502: ({7}, {6}, 27),
    601: ({8}, {6}, 7),
    603: ({8}, {6}, 27),
    # [ours] repair second review, added to the contract with the simulator
    611: ({8}, {7, 11, 29}, 13),
    612: ({8}, {11}, 29),
}
TYPES = (0, 1, 2, 3, 7, 8)
STATUSES = (6, 7, 8, 11, 12, 13, 14, 27, 28, 29)
REJECTS = {102, 112, 202, 302, 312, 502, 603, 612}
EVIDENCE = [{"type": 1, "url": "https://img.example/1.jpg", "desc": "实物"}]


def _item(code: int, aftersale_id: str) -> dict:
    item: dict = {"aftersale_id": aftersale_id}
    if code == 101:
        item["logistics"] = {"receiver_address_id": "1"}
    if code in (311, 611):
        item["logistics"] = {"company_code": "shunfeng", "logistics_code": "SF100"}
    if code in REJECTS:
        item |= {"reject_reason_code": 99, "evidence": EVIDENCE}  # 99 is offered at both stages
    return item


@pytest.fixture(scope="module")
def platform():
    p = Platform(seed=1, config={"refund_delay": 0})
    p.create_shop({"shop_id": SHOP_ID, "app_key": "k", "app_secret": "s"})
    return p


def _case_at(platform: Platform, kind: int, status: int) -> dict:
    item = {"product_name": "蓝牙耳机", "category": "electronics", "origin_amount": 29900}
    order = platform.create_order(
        {"shop_id": SHOP_ID, "items": [item], "delivered": kind != 2, "shipped": kind != 2}
    )
    case = platform.apply({"order_id": order["order_id"], "type": kind, "reason_code": 4})
    stored = platform.state["aftersales"][case["aftersale_id"]]
    stored["status"] = status  # white-box: put the after-sale in the status under test
    return stored


@pytest.mark.parametrize("code", sorted(CONTRACT_TABLE))
def test_operate_type_by_status_table(platform, code):
    types, statuses, to = CONTRACT_TABLE[code]
    for kind in TYPES:
        for status in STATUSES:
            case = _case_at(platform, kind, status)
            before = case["update_time"]
            params = {"type": code, "items": [_item(code, case["id"])]}
            if kind in types and status in statuses:
                result = platform.api_operate(SHOP_ID, params)
                assert result["items"][0]["status_code"] == 0
                assert case["status"] == to, (code, kind, status)
                assert case["update_time"] > before
            else:
                with pytest.raises(ApiError) as refused:
                    platform.api_operate(SHOP_ID, params)
                assert (refused.value.code, refused.value.sub_code) == (
                    50002,
                    "isv.business-failed:20309541",
                ), (code, kind, status)
                assert case["status"] == status and case["update_time"] == before


def test_unknown_operate_type_is_a_parameter_error(api, ctl):
    case = new_case(ctl)
    envelope = operate(api, 999, {"aftersale_id": case["aftersale_id"]})
    assert (envelope["code"], envelope["sub_code"]) == (40004, "isv.parameter-invalid")


def _cases(ctl, count: int) -> list[str]:
    """`count` shipped-refund-only after-sales awaiting the merchant (status 6)."""
    return [new_case(ctl, 1, 11, stage="shipped")["aftersale_id"] for _ in range(count)]


def test_at_most_20_items_and_21_are_refused_whole(ctl, api):
    ids = _cases(ctl, 21)
    refused = operate(api, 201, *({"aftersale_id": i} for i in ids))
    assert (refused["code"], refused["sub_code"]) == (40004, "isv.parameter-invalid")
    assert "20" in refused["sub_msg"]
    assert {detail(api, i)["after_sale_status"] for i in ids} == {6}

    agreed = operate(api, 201, *({"aftersale_id": i} for i in ids[:20]))
    assert agreed["code"] == 10000
    assert [r["status_code"] for r in agreed["data"]["items"]] == [0] * 20
    assert {detail(api, i)["after_sale_status"] for i in ids[:20]} == {12}
    assert detail(api, ids[20])["after_sale_status"] == 6


def test_one_bad_item_fails_the_whole_batch(ctl, api, receiver):
    ids = _cases(ctl, 3)
    # The third is already agreed: a 201 on it is a wrong status, and so nothing is applied.
    assert operate(api, 201, {"aftersale_id": ids[2]})["code"] == 10000
    envelope = operate(api, 201, *({"aftersale_id": i} for i in ids))
    assert (envelope["code"], envelope["sub_code"]) == (50002, "isv.business-failed:20309541")
    assert envelope["data"]["items"][0]["aftersale_id"] == int(ids[2])
    assert [detail(api, i)["after_sale_status"] for i in ids] == [6, 6, 12]
    assert not ctl.get("pushes", aftersale_id=ids[0], tag="201")

    invalid = operate(api, 201, {"aftersale_id": ids[0]}, {"aftersale_id": "7399999999999999999"})
    assert (invalid["code"], invalid["sub_code"]) == (20000, "isp.service-error:10000")
    assert "无效的售后单" in invalid["sub_msg"]
    assert detail(api, ids[0])["after_sale_status"] == 6

    duplicated = operate(api, 201, {"aftersale_id": ids[0]}, {"aftersale_id": ids[0]})
    assert duplicated["code"] == 40004


def test_update_time_must_match_the_current_version(ctl, api):
    case = new_case(ctl, 1, 11, stage="shipped")
    aftersale_id = case["aftersale_id"]
    seen = detail(api, aftersale_id)["update_time"]
    ctl.post(f"aftersales/{aftersale_id}/modify", {"statement": "改一下说明"})  # the buyer edits
    now = detail(api, aftersale_id)["update_time"]
    assert now > seen

    stale = operate(api, 201, {"aftersale_id": aftersale_id, "update_time": seen})
    assert (stale["code"], stale["sub_code"]) == (50002, "isv.business-failed:20309541")
    assert detail(api, aftersale_id)["after_sale_status"] == 6

    fresh = operate(api, 201, {"aftersale_id": aftersale_id, "update_time": now})
    assert fresh["code"] == 10000
    assert detail(api, aftersale_id)["after_sale_status"] == 12


def test_reject_needs_a_reason_code_and_evidence_where_the_code_says_so(ctl, api):
    case = new_case(ctl, 0, 1)
    aftersale_id = case["aftersale_id"]
    reasons = api.call("afterSale/rejectReasonCodeList", {"aftersale_id": aftersale_id})["items"]
    by_need = {r["evidence_need"]: r for r in reasons}
    assert set(by_need) == {"Y", "N"}
    assert all(isinstance(r["reject_reason_code"], int) and r["reason"] for r in reasons)
    needs, free = by_need["Y"], by_need["N"]
    assert needs["evidence_description"]

    missing = operate(api, 102, {"aftersale_id": aftersale_id})
    assert missing["code"] == 40004 and "reject_reason_code" in missing["sub_msg"]
    no_evidence = operate(
        api, 102, {"aftersale_id": aftersale_id, "reject_reason_code": needs["reject_reason_code"]}
    )
    assert no_evidence["code"] == 40004 and "evidence" in no_evidence["sub_msg"]
    unknown = operate(api, 102, {"aftersale_id": aftersale_id, "reject_reason_code": 12345})
    assert unknown["code"] == 40004
    assert detail(api, aftersale_id)["after_sale_status"] == 6

    with_evidence = operate(
        api,
        102,
        {
            "aftersale_id": aftersale_id,
            "reject_reason_code": needs["reject_reason_code"],
            "evidence": EVIDENCE,
        },
    )
    assert with_evidence["code"] == 10000
    assert detail(api, aftersale_id)["after_sale_status"] == 27

    other = new_case(ctl, 0, 1)["aftersale_id"]
    plain = operate(
        api, 102, {"aftersale_id": other, "reject_reason_code": free["reject_reason_code"]}
    )
    assert plain["code"] == 10000


def test_second_stage_offers_its_own_reasons(ctl, api):
    case = new_case(ctl, 0, 4)
    aftersale_id = case["aftersale_id"]
    first = {
        r["reject_reason_code"]
        for r in api.call("afterSale/rejectReasonCodeList", {"aftersale_id": aftersale_id})["items"]
    }
    assert operate(api, 101, _item(101, aftersale_id))["code"] == 10000
    ctl.post(
        f"aftersales/{aftersale_id}/ship_return", {"company_code": "yunda", "tracking_no": "YD1"}
    )
    api.call(
        "afterSale/returnGoodsToWareHouseSuccess",
        {"aftersale_id": aftersale_id, "tracking_no": "YD1", "logistics_company_code": "yunda"},
    )
    second = {
        r["reject_reason_code"]
        for r in api.call("afterSale/rejectReasonCodeList", {"aftersale_id": aftersale_id})["items"]
    }
    assert first != second
    only_first = min(first - second)
    refused = operate(
        api,
        112,
        {"aftersale_id": aftersale_id, "reject_reason_code": only_first, "evidence": EVIDENCE},
    )
    assert refused["code"] == 40004
    only_second = min(second - first)
    assert (
        operate(
            api,
            112,
            {"aftersale_id": aftersale_id, "reject_reason_code": only_second, "evidence": EVIDENCE},
        )["code"]
        == 10000
    )
    assert detail(api, aftersale_id)["after_sale_status"] == 29


def test_agree_return_needs_the_receiver_address(ctl, api):
    case = new_case(ctl, 0, 1)
    envelope = operate(api, 101, {"aftersale_id": case["aftersale_id"]})
    assert envelope["code"] == 40004 and "receiver_address_id" in envelope["sub_msg"]
    exchange = new_case(ctl, 3, 3)
    reship = operate(api, 311, {"aftersale_id": exchange["aftersale_id"]})
    assert reship["code"] == 40004 and "logistics" in reship["sub_msg"]


def test_nothing_is_operable_while_the_platform_arbitrates(ctl, api):
    case = new_case(ctl, 1, 6, stage="delivered")
    aftersale_id = case["aftersale_id"]
    assert (
        operate(api, 202, {"aftersale_id": aftersale_id, "reject_reason_code": 1})["code"] == 10000
    )
    ctl.post(f"aftersales/{aftersale_id}/arbitrate", {"statement": "商家拒绝不合理"})
    envelope = operate(api, 201, {"aftersale_id": aftersale_id})
    assert (envelope["code"], envelope["sub_code"]) == (50002, "isv.business-failed:11001")
    assert detail(api, aftersale_id)["after_sale_status"] == 27
