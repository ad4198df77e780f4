"""The platform's enums and rules: statuses, types, reasons, the operate table, deadlines."""

from __future__ import annotations

from dataclasses import dataclass

# standard_aftersale_status
AWAITING_MERCHANT = 6  # 待商家同意
AWAITING_RETURN = 7  # 待买家退货
AWAITING_MERCHANT_SHIPMENT = 8  # 待商家发货
AWAITING_SECOND_REVIEW = 11  # 待商家二次同意
SUCCEEDED = 12  # 售后成功
AWAITING_BUYER_RECEIPT = 13  # 换货/补寄/维修待买家收货
GOODS_SUCCEEDED = 14  # 换货/补寄/维修成功
FIRST_REJECTED = 27  # 商家一次拒绝
CLOSED = 28  # 售后失败/关闭
SECOND_REJECTED = 29  # 商家二次拒绝

STATUS_NAMES = {
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
FINAL_STATUSES = frozenset({SUCCEEDED, GOODS_SUCCEEDED, CLOSED})

# aftersale_type
RETURN_REFUND = 0  # 退货退款
REFUND_SHIPPED = 1  # 已发货仅退款
REFUND_UNSHIPPED = 2  # 未发货仅退款
EXCHANGE = 3  # 换货
RESEND = 7  # 补寄
REPAIR = 8  # 维修
TYPE_NAMES = {0: "退货退款", 1: "已发货仅退款", 2: "未发货仅退款", 3: "换货", 7: "补寄", 8: "维修"}
REFUND_TYPES = frozenset({RETURN_REFUND, REFUND_SHIPPED, REFUND_UNSHIPPED})
GOODS_BACK_TYPES = frozenset({RETURN_REFUND, EXCHANGE, REPAIR})  # the buyer sends goods back

# refund_status (0: no refund on this after-sale, e.g. an exchange) [ours for 0]
REFUND_NONE = 0
REFUND_PENDING = 1  # 待退款
REFUNDING = 2  # 退款中
REFUNDED = 3  # 成功
REFUND_FAILED = 4  # 失败

# arbitrate_status (response enum)
ARB_NONE = 0
ARB_IN_PROGRESS = 1  # 客服处理中
ARB_FOR_BUYER = 2  # 客服同意
ARB_FOR_MERCHANT = 3  # 客服拒绝
ARB_AWAITING_EVIDENCE = 4  # 待商家举证
ARB_NEGOTIATING = 5  # 协商期
ARB_ENDED = 255
ARB_OPEN = frozenset({ARB_IN_PROGRESS, ARB_AWAITING_EVIDENCE, ARB_NEGOTIATING})
CONCLUSION_FOR_BUYER = 1
CONCLUSION_FOR_MERCHANT = 2
CONCLUSION_FOR_BUYER_REFUND_NOW = 3

# order_status
ORDER_UNPAID = 1
ORDER_PAID = 2  # 待发货
ORDER_SHIPPED = 3  # 已发货
ORDER_CANCELLED = 4  # 已取消
ORDER_FINISHED = 5  # 已完成

# return / exchange logistics status [ours]
PARCEL_NONE = 0  # 未寄出
PARCEL_SHIPPED = 1  # 运输中
PARCEL_RECEIVED = 2  # 已签收

REASONS = {
    1: "七天无理由",
    2: "不想要了",
    3: "尺码不合适",
    4: "质量问题",
    5: "功能故障",
    6: "商品破损",
    7: "发错货",
    8: "少件/漏发",
    9: "与描述不符",
    10: "临期/过期",
    11: "未收到货",
    12: "未按约定时间发货",
    99: "其他",
}

CATEGORIES = (
    "apparel",
    "food",
    "fresh",
    "beauty",
    "electronics",
    "custom",
    "digital",
    "books",
    "home",
    "general",
)


@dataclass(frozen=True)
class RejectReason:
    code: int
    reason: str
    evidence_need: bool
    evidence_description: str
    first_stage: bool  # offered at 6/27 (first review)
    second_stage: bool  # offered at 11 (after the goods came back)


REJECT_REASONS = (
    RejectReason(1, "买家未提供有效凭证", False, "", True, False),
    RejectReason(2, "商品已使用，影响二次销售", True, "请上传体现商品已使用的实物照片", True, True),
    RejectReason(3, "超过七天无理由退货期限", False, "", True, False),
    RejectReason(4, "经核实非质量问题", True, "请上传商品质检报告或实物照片", True, False),
    RejectReason(5, "商品不支持七天无理由退货", False, "", True, False),
    RejectReason(6, "未收到退货", True, "请上传退货物流轨迹截图", False, True),
    RejectReason(7, "退回商品与发出商品不符", True, "请上传开箱视频或照片", False, True),
    RejectReason(8, "退回商品已损坏", True, "请上传退回商品的损坏照片", False, True),
    RejectReason(9, "已与买家协商一致", True, "请上传与买家协商一致的聊天记录截图", True, True),
    RejectReason(99, "其他", True, "请上传能说明拒绝理由的凭证", True, True),
)
REJECT_REASON_BY_CODE = {r.code: r for r in REJECT_REASONS}


def reject_reasons_for(status: int) -> list[RejectReason]:
    second = status == AWAITING_SECOND_REVIEW
    return [r for r in REJECT_REASONS if (r.second_stage if second else r.first_stage)]


@dataclass(frozen=True)
class Operation:
    code: int
    name: str
    types: frozenset[int]
    statuses: frozenset[int]
    kind: str  # agree_return | refund | reject | reship | agree
    to: int
    tag: str


def _op(code, name, types, statuses, kind, to, tag):
    return Operation(code, name, frozenset(types), frozenset(statuses), kind, to, tag)


# afterSale/operate: type × status. 611/612 (repair second review) are [ours, per the reference].
OPERATIONS = {
    op.code: op
    for op in (
        _op(101, "同意退货", {0}, {6, 27}, "agree_return", 7, "202"),
        _op(102, "拒绝退货", {0}, {6}, "reject", 27, "205"),
        _op(111, "确认收货并退款", {0}, {7, 11, 29}, "refund", 12, "201"),
        _op(112, "二次审核拒绝", {0}, {11}, "reject", 29, "204"),
        _op(201, "同意仅退款", {1}, {6, 27}, "refund", 12, "201"),
        _op(202, "拒绝仅退款", {1}, {6}, "reject", 27, "204"),
        _op(301, "同意换货", {3}, {6, 27}, "agree_return", 7, "202"),
        _op(302, "拒绝换货", {3}, {6}, "reject", 27, "205"),
        _op(311, "同意并补发换货", {3}, {7, 11, 29}, "reship", 13, "201"),
        _op(312, "换货二次审核拒绝", {3}, {11}, "reject", 29, "204"),
        _op(321, "换货转退款", {3}, {6, 27}, "refund", 12, "201"),
        _op(401, "同意未发货退款", {2}, {6}, "refund", 12, "201"),
        _op(501, "同意补寄", {7}, {6}, "agree", 8, "201"),
        _op(502, "拒绝补寄", {7}, {6}, "reject", 27, "205"),
        _op(601, "同意维修", {8}, {6}, "agree_return", 7, "202"),
        _op(603, "拒绝维修", {8}, {6}, "reject", 27, "205"),
        _op(611, "维修完成并寄回", {8}, {7, 11, 29}, "reship", 13, "201"),
        _op(612, "维修二次审核拒绝", {8}, {11}, "reject", 29, "204"),
    )
}

# Deadlines per step, in hours. "7s": awaiting the return after the buyer shipped it.
DEFAULT_DEADLINE_HOURS = {
    "6": 48,
    "7": 168,
    "7s": 240,
    "8": 48,
    "11": 48,
    "13": 168,
    "27": 72,
    "29": 72,
}
# What the platform does when a step's deadline passes: agree (the step's forward move, done by
# the platform for whoever was late), close (→ 28), or none.
DEFAULT_TIMEOUT_ACTIONS = {
    "6": "agree",
    "7": "close",
    "7s": "agree",
    "8": "none",
    "11": "agree",
    "13": "agree",
    "27": "close",
    "29": "close",
}
TIMEOUT_ACTION_CHOICES = ("agree", "close", "none")
EXTEND_HOURS = 48

# Push tags
TAG_CREATED = "200"
TAG_REFUND_AGREED = "201"
TAG_RETURN_AGREED = "202"
TAG_BUYER_RETURNED = "203"
TAG_REFUND_REFUSED = "204"
TAG_RETURN_REFUSED = "205"
TAG_REFUND_SUCCESS = "206"
TAG_CLOSED = "207"
TAG_MODIFIED = "208"
TAG_DEADLINE = "209"
TAG_EXCHANGE_CONFIRMED = "211"
TAG_ARB_APPLIED = "212"
TAG_ARB_EVIDENCE_REQUESTED = "213"
TAG_ARB_EVIDENCE_SUBMITTED = "214"
TAG_ARB_CANCELLED = "215"
TAG_ARB_AUDITED = "216"
TAG_RESEND_SHIPPED = "226"  # ResendFillLogistics
