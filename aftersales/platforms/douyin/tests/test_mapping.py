"""All platform ↔ product translation lives in mapping.py; these pin it to the contract."""

import pytest

from aftersales.cases.choices import CaseType
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.catalog.choices import Category
from aftersales.platforms.douyin import mapping as m
from aftersales.platforms.douyin.outbox import match_reject_reason


def test_every_platform_type_maps_to_a_case_type_and_back():
    assert m.PLATFORM_TYPE_TO_CASE_TYPE == {
        0: "return_refund",
        1: "refund_shipped",
        2: "refund_unshipped",
        3: "exchange",
        7: "resend",
        8: "repair",
    }
    assert set(m.CASE_TYPE_TO_PLATFORM_TYPE) == set(CaseType.values)


def test_every_contract_reason_code_maps_to_a_known_reason_with_the_same_wording():
    contract = {
        1: "七天无理由",
        2: "不想要了",
        3: "尺码不合适",
        4: "质量问题",
        5: "功能故障",
        6: "商品破损",
        7: "发错货",
        8: "少件/漏发",
        10: "临期/过期",
        11: "未收到货",
        12: "未按约定时间发货",
        99: "其他",
    }
    for code, words in contract.items():
        assert REASONS[m.reason_for(code)].platform_label == words
    assert m.reason_for(9) == "not_as_described"
    assert m.reason_for(1234) == m.reason_for(None) == m.reason_for("x") == "other"


def test_every_reject_reason_has_platform_wording():
    assert set(m.REJECT_REASON_WORDING) == set(REJECT_REASONS)


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("no_evidence", 1),
        ("beyond_window", 3),
        ("agreed_other_solution", 9),
        ("goods_used", 99),  # not offered for this after-sale: “其他”
        ("other", 99),
    ],
)
def test_reject_reasons_are_matched_by_the_platforms_wording(reason, code):
    from .mini_platform import REJECT_REASONS as listing

    assert match_reject_reason(reason, listing)["reject_reason_code"] == code


@pytest.mark.parametrize("reason", sorted(REJECT_REASONS))
def test_r13_1_the_product_knows_which_reject_reasons_the_platform_needs_evidence_for(reason):
    """The reject form refuses what the platform would refuse (issue 14): for every review a
    reason is offered at, the simulator's rejectReasonCodeList (the contract's rules) matches
    it to its own wording — not the “其他” fallback — with the same evidence rule."""
    rules = pytest.importorskip("douyin_sim.rules")
    ours = REJECT_REASONS[reason]
    for stage in sorted(ours.stages):
        status = rules.AWAITING_SECOND_REVIEW if stage == 2 else rules.AWAITING_MERCHANT
        listing = [
            {
                "reject_reason_code": r.code,
                "reason": r.reason,
                "evidence_need": "Y" if r.evidence_need else "N",
            }
            for r in rules.reject_reasons_for(status)
        ]
        entry = match_reject_reason(reason, listing)
        assert entry is not None, (reason, stage)
        assert (entry["reject_reason_code"] == 99) == (reason == "other"), (reason, stage, entry)
        assert (entry["evidence_need"] == "Y") == ours.needs_evidence, (reason, stage, entry)


def test_categories_are_ours_and_unknown_ones_fall_back_to_general():
    assert all(m.category_for(c) == c for c in Category.values)
    assert m.category_for("spaceships") == m.category_for(None) == "general"


@pytest.mark.parametrize(
    ("status", "signed", "expected"),
    [
        (2, False, "unshipped"),
        (3, False, "shipped"),
        (3, True, "delivered"),
        (5, True, "delivered"),
        (5, False, "completed"),
        (4, False, "cancelled"),
    ],
)
def test_order_statuses(status, signed, expected):
    assert m.order_status_for(status, signed) == expected


@pytest.mark.parametrize(
    ("arbitrate", "conclusion", "expected"),
    [
        (None, None, "none"),
        (0, None, "none"),
        (1, None, "platform_intervening"),
        (4, None, "platform_intervening"),
        (5, None, "negotiating"),
        (2, None, "ruled_for_buyer"),
        (3, None, "ruled_for_merchant"),
        (255, 1, "ruled_for_buyer"),
        (255, 2, "ruled_for_merchant"),
        (255, 3, "ruled_for_buyer"),
        (255, 0, "cancelled"),
    ],
)
def test_arbitration_maps_to_the_dispute_axis(arbitrate, conclusion, expected):
    assert m.dispute_status_for(arbitrate, conclusion) == expected


# The contract's type × status table: code → (statuses it is allowed in, status it leads to).
CONTRACT_OPERATE = {
    101: ({6, 27}, 7),
    102: ({6}, 27),
    111: ({7, 11, 29}, 12),
    112: ({11}, 29),
    201: ({6, 27}, 12),
    202: ({6}, 27),
    301: ({6, 27}, 7),
    302: ({6}, 27),
    311: ({7, 11, 29}, 13),
    312: ({11}, 29),
    321: ({6, 27}, 12),
    401: ({6}, 12),
    501: ({6}, 8),
    502: ({6}, 27),
    601: ({6}, 7),
    603: ({6}, 27),
}


@pytest.mark.parametrize("code", sorted(CONTRACT_OPERATE))
def test_an_operations_target_counts_as_reached_and_its_starting_points_do_not(code):
    """After an ambiguous failure, Detail decides whether to send again: the target status
    must say "done" (else it is sent twice) and the statuses it may be sent from must not
    (else it is never sent)."""
    allowed, target = CONTRACT_OPERATE[code]
    reached = m.OPERATE_TYPES[code].reached
    assert target in reached
    assert not allowed & reached


def test_agree_and_reject_types_follow_the_case_type():
    assert m.AGREE_TYPE == {
        "return_refund": 101,
        "refund_shipped": 201,
        "refund_unshipped": 401,
        "exchange": 301,
        "resend": 501,
        "repair": 601,
    }
    assert "refund_unshipped" not in m.REJECT_TYPE  # refused by shipping, not by the API
    assert m.SECOND_REJECT_TYPE["return_refund"] == 112
    assert m.SECOND_REVIEW_SHIP_TYPE == {"exchange": 311, "repair": 611}


def test_every_local_status_agrees_with_some_platform_status():
    from aftersales.cases.choices import CaseStatus

    covered = set().union(*m.COMPATIBLE_STATUSES.values())
    assert covered == set(CaseStatus.values)


def test_push_times_and_detail_times():
    assert m.from_rfc3339("2022-09-02T10:27:50+08:00").isoformat() == "2022-09-02T10:27:50+08:00"
    assert m.from_unix(1662085670).isoformat() == "2022-09-02T10:27:50+08:00"
    assert m.from_unix(0) is None and m.from_unix(None) is None
