"""Every translation between the Douyin open platform and the product, in one place (R13.4).

The rest of the adapter speaks the product's words (case types, reasons, statuses) and asks
this module what the platform calls them; nothing outside `platforms/douyin/` knows these
numbers. Values marked [ours] in docs/douyin-contract.md are choices of the contract, not of
the real platform, and are kept here so that switching is an edit of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aftersales.cases.choices import CaseStatus, CaseType, DisputeStatus, RefundStatus
from aftersales.catalog.choices import Category
from aftersales.orders.choices import OrderStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")

# --- After-sale types (aftersale_type) ------------------------------------------------------

PLATFORM_TYPE_TO_CASE_TYPE: dict[int, str] = {
    0: CaseType.RETURN_REFUND,  # 退货退款
    1: CaseType.REFUND_SHIPPED,  # 已发货仅退款
    2: CaseType.REFUND_UNSHIPPED,  # 未发货仅退款
    3: CaseType.EXCHANGE,  # 换货
    7: CaseType.RESEND,  # 补寄
    8: CaseType.REPAIR,  # 维修
}
CASE_TYPE_TO_PLATFORM_TYPE = {v: k for k, v in PLATFORM_TYPE_TO_CASE_TYPE.items()}

# --- Statuses (standard_aftersale_status) ---------------------------------------------------


class PlatformStatus:
    AWAITING_MERCHANT = 6  # 待商家同意
    AWAITING_BUYER_RETURN = 7  # 待买家退货
    AWAITING_MERCHANT_SHIPMENT = 8  # 待商家发货
    AWAITING_SECOND_REVIEW = 11  # 待商家二次同意
    SUCCEEDED = 12  # 售后成功
    AWAITING_BUYER_RECEIPT = 13  # 换货/补寄/维修待买家收货
    GOODS_SUCCEEDED = 14  # 换货/补寄/维修成功
    FIRST_REJECTED = 27  # 商家一次拒绝
    CLOSED = 28  # 售后失败/关闭
    SECOND_REJECTED = 29  # 商家二次拒绝


STATUS_LABELS: dict[int, str] = {
    6: "待商家同意",
    7: "待买家退货",
    8: "待商家发货",
    11: "待商家二次同意",
    12: "售后成功",
    13: "待买家收货",
    14: "换货/补寄/维修成功",
    27: "商家一次拒绝",
    28: "售后关闭",
    29: "商家二次拒绝",
}

# The local case statuses that agree with each platform status. A local status outside the
# set is drift, unless an operation toward the platform is still on its way (the product is
# ahead) — reconciliation tells the two apart.
COMPATIBLE_STATUSES: dict[int, frozenset[str]] = {
    6: frozenset({CaseStatus.PENDING_REVIEW, CaseStatus.AWAITING_EVIDENCE}),
    7: frozenset({CaseStatus.AWAITING_RETURN}),
    8: frozenset({CaseStatus.AWAITING_SHIPMENT}),
    11: frozenset(
        {
            CaseStatus.AWAITING_INSPECTION,
            CaseStatus.PENDING_FINAL_REVIEW,
            CaseStatus.AWAITING_REFUND,
            CaseStatus.AWAITING_SHIPMENT,
        }
    ),
    12: frozenset({CaseStatus.AWAITING_REFUND, CaseStatus.COMPLETED}),
    13: frozenset({CaseStatus.AWAITING_BUYER_RECEIPT}),
    14: frozenset({CaseStatus.COMPLETED}),
    27: frozenset({CaseStatus.REJECTED}),
    28: frozenset({CaseStatus.CLOSED, CaseStatus.REJECTED}),
    29: frozenset({CaseStatus.REJECTED}),
}

# refund_status
PLATFORM_REFUND_PENDING = 1  # 待退款
PLATFORM_REFUNDING = 2  # 退款中
PLATFORM_REFUNDED = 3  # 成功
PLATFORM_REFUND_FAILED = 4  # 失败

LOCAL_REFUND_FOR_PLATFORM: dict[int, frozenset[str]] = {
    PLATFORM_REFUND_PENDING: frozenset({RefundStatus.NONE, RefundStatus.PENDING}),
    PLATFORM_REFUNDING: frozenset({RefundStatus.PENDING, RefundStatus.REFUNDED}),
    PLATFORM_REFUNDED: frozenset({RefundStatus.REFUNDED}),
    PLATFORM_REFUND_FAILED: frozenset({RefundStatus.FAILED, RefundStatus.PENDING}),
}

# --- Disputes (arbitrate_status, arbitrate_conclusion) --------------------------------------

ARBITRATE_TO_DISPUTE: dict[int, str] = {
    0: DisputeStatus.NONE,
    1: DisputeStatus.PLATFORM_INTERVENING,  # 客服处理中
    2: DisputeStatus.RULED_FOR_BUYER,  # 客服同意
    3: DisputeStatus.RULED_FOR_MERCHANT,  # 客服拒绝
    4: DisputeStatus.PLATFORM_INTERVENING,  # 待商家举证
    5: DisputeStatus.NEGOTIATING,  # 协商期
}
ARBITRATE_ENDED = 255
CONCLUSION_TO_DISPUTE: dict[int, str] = {
    1: DisputeStatus.RULED_FOR_BUYER,
    2: DisputeStatus.RULED_FOR_MERCHANT,
    3: DisputeStatus.RULED_FOR_BUYER,  # for the buyer, refunded at once
}


def dispute_status_for(arbitrate_status: int | None, conclusion: int | None) -> str:
    """The local dispute axis for the platform's arbitration state."""
    if arbitrate_status is None:
        return DisputeStatus.NONE
    if arbitrate_status == ARBITRATE_ENDED:
        return CONCLUSION_TO_DISPUTE.get(conclusion or 0, DisputeStatus.CANCELLED)
    return ARBITRATE_TO_DISPUTE.get(arbitrate_status, DisputeStatus.PLATFORM_INTERVENING)


# --- The buyer's reasons (reason_code) [ours] -----------------------------------------------

PLATFORM_REASON_TO_REASON: dict[int, str] = {
    1: "no_reason",  # 七天无理由
    2: "changed_mind",  # 不想要了
    3: "wrong_size",  # 尺码不合适
    4: "quality_issue",  # 质量问题
    5: "functional_fault",  # 功能故障
    6: "damaged",  # 商品破损
    7: "wrong_item",  # 发错货
    8: "missing_item",  # 少件/漏发
    9: "not_as_described",  # 与描述不符
    10: "expired",  # 临期/过期
    11: "not_received",  # 未收到货
    12: "late_shipment",  # 未按约定时间发货
    99: "other",  # 其他
}


def reason_for(code: int | str | None) -> str:
    try:
        return PLATFORM_REASON_TO_REASON.get(int(code or 99), "other")
    except (TypeError, ValueError):
        return "other"


# The merchant's reject reasons are matched to the platform's list (rejectReasonCodeList) by
# its wording: the platform's codes can differ per after-sale, its wording does not.
REJECT_REASON_WORDING: dict[str, tuple[str, ...]] = {
    "no_evidence": ("买家未提供有效凭证", "未提供凭证", "凭证"),
    "goods_used": ("商品已使用", "影响二次销售", "已使用"),
    "beyond_window": ("超过七天无理由退货期限", "超过", "期限"),
    "not_quality_issue": ("经核实非质量问题", "非质量问题"),
    "excluded_goods": ("商品不支持七天无理由", "不支持七天无理由", "不支持"),
    "return_not_received": ("未收到退货", "未收到"),
    "returned_wrong_item": ("退回商品与发出商品不符", "不符"),
    "returned_damaged": ("退回商品已损坏", "损坏"),
    "agreed_other_solution": ("已与买家协商一致", "协商"),
    "other": ("其他",),
}

# What a platform-side rejection (done in the back-office, or by timeout) is recorded as:
# the platform does not say why in Detail.
PLATFORM_SIDE_REJECT_REASON = "agreed_other_solution"

# --- Categories [ours: the contract sends the product's own category codes] -----------------


def category_for(value: str | None) -> str:
    return value if value in Category.values else Category.GENERAL


# --- Orders (order_status) ------------------------------------------------------------------

PLATFORM_ORDER_STATUS: dict[int, str] = {
    1: OrderStatus.UNSHIPPED,  # 待支付: not expected for an order with an after-sale
    2: OrderStatus.UNSHIPPED,  # 待发货
    3: OrderStatus.SHIPPED,  # 已发货 (delivered when the parcel was signed for)
    5: OrderStatus.COMPLETED,  # 已完成
    4: OrderStatus.CANCELLED,  # 已取消
}
ORDER_STATUS_RANK: dict[str, int] = {
    OrderStatus.UNSHIPPED: 0,
    OrderStatus.SHIPPED: 1,
    OrderStatus.DELIVERED: 2,
    OrderStatus.COMPLETED: 3,
    OrderStatus.CANCELLED: 4,
}


def order_status_for(order_status: int, signed_for: bool) -> str:
    """An order whose parcel was signed for is `delivered` for the product, whether the
    platform still says 已发货 or already 已完成: the 7-day window and the triage (R3.1, R6.1)
    turn on the signature, and the product's `completed` adds nothing the case needs."""
    status = PLATFORM_ORDER_STATUS.get(int(order_status), OrderStatus.UNSHIPPED)
    if status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED) and signed_for:
        return OrderStatus.DELIVERED
    return status


# --- Operations (afterSale/operate type) ----------------------------------------------------


@dataclass(frozen=True)
class OperateType:
    code: int
    label: str
    # Platform statuses that show the operation took effect (now or earlier). Used after an
    # ambiguous failure or a "wrong status" answer: re-read Detail, and if the after-sale is
    # already there, the operation is done and is not sent again.
    reached: frozenset[int]


OPERATE_TYPES: dict[int, OperateType] = {
    t.code: t
    for t in [
        OperateType(101, "同意退货", frozenset({7, 11, 12, 29})),
        OperateType(102, "拒绝退货", frozenset({27})),
        OperateType(111, "确认收货并退款", frozenset({12})),
        OperateType(112, "二次审核拒绝", frozenset({29})),
        OperateType(201, "同意仅退款", frozenset({12})),
        OperateType(202, "拒绝仅退款", frozenset({27})),
        OperateType(301, "同意换货", frozenset({7, 11, 13, 14, 29})),
        OperateType(302, "拒绝换货", frozenset({27})),
        OperateType(311, "同意并补发换货", frozenset({13, 14})),
        OperateType(312, "换货二次审核拒绝", frozenset({29})),
        OperateType(321, "换货转退款", frozenset({12})),
        OperateType(401, "同意未发货退款", frozenset({12})),
        OperateType(501, "同意补寄", frozenset({8, 13, 14})),
        OperateType(502, "拒绝补寄", frozenset({27})),
        OperateType(601, "同意维修", frozenset({7, 11, 13, 14})),
        OperateType(603, "拒绝维修", frozenset({27})),
        OperateType(611, "维修完成并寄回", frozenset({13, 14})),
        OperateType(612, "维修二次审核拒绝", frozenset({29})),
    ]
}

AGREE_TYPE: dict[str, int] = {
    CaseType.RETURN_REFUND: 101,
    CaseType.REFUND_SHIPPED: 201,
    CaseType.REFUND_UNSHIPPED: 401,
    CaseType.EXCHANGE: 301,
    CaseType.RESEND: 501,
    CaseType.REPAIR: 601,
}
# Stage 1 refusals. An unshipped refund has no API refusal on the platform: the merchant
# refuses by shipping the order, which is not an after-sales action.
REJECT_TYPE: dict[str, int] = {
    CaseType.RETURN_REFUND: 102,
    CaseType.REFUND_SHIPPED: 202,
    CaseType.EXCHANGE: 302,
    CaseType.RESEND: 502,
    CaseType.REPAIR: 603,
}
SECOND_REJECT_TYPE: dict[str, int] = {
    CaseType.RETURN_REFUND: 112,
    CaseType.EXCHANGE: 312,
    CaseType.REPAIR: 612,
}
SECOND_REVIEW_REFUND_TYPE = 111  # return received: confirm and refund
# The second review that ships goods back to the buyer, with the parcel's logistics.
SECOND_REVIEW_SHIP_TYPE: dict[str, int] = {
    CaseType.EXCHANGE: 311,  # agree and ship the replacement
    CaseType.REPAIR: 611,  # repaired and sent back [ours, per the reference]
}
EXCHANGE_TO_REFUND_TYPE = 321

# returnGoodsToWareHouseSuccess moves 7 → 11; any later status shows it was done.
RECEIPT_REACHED = frozenset({11, 12, 13, 14, 29})

# --- Push tags ------------------------------------------------------------------------------

TAG_NAMES: dict[str, str] = {
    "200": "RefundCreated",
    "201": "RefundAgreed",
    "202": "ReturnApplyAgreed",
    "203": "BuyerReturnGoods",
    "204": "RefundRefused",
    "205": "ReturnApplyRefused",
    "206": "RefundSuccess",
    "207": "RefundClosed",
    "208": "RefundModified",
    "209": "ExpirationChange",
    "211": "ExchangeConfirmed",
    "212": "ArbitrateApplied",
    "213": "ArbitrateSubmiting",
    "214": "ArbitrateSubmited",
    "215": "ArbitrateCancelled",
    "216": "ArbitrateAudited",
    "217": "ArbitrateServiceIntervene",
    "218": "ArbitrateDiscussUpload",
    "226": "ResendFillLogistics",
    "227": "AuditAgreeResend",
}


def is_aftersale_tag(tag: str) -> bool:
    """Every after-sales tag names an after-sale; Detail is read for each (the push is a hint)."""
    return tag in TAG_NAMES


# --- Times ----------------------------------------------------------------------------------


def from_unix(value: int | str | None) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), tz=SHANGHAI)


def from_rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)
