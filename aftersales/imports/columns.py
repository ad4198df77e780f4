"""The columns of the platform back-office's after-sales export (售后单导出, R13.3).

The full header list of the export's 售后表 sheet (50 columns, see §6 of the platform
reference). The import reads the columns it needs by their header, wherever they stand; the
others are carried along (the error sheet gives the row back as it was).
"""

from __future__ import annotations

AFTERSALE_ID = "售后单号"
ORDER_ID = "订单号"
ITEM_ID = "商品单号"
PRODUCT_NAME = "商品名称"
PRODUCT_ID = "商品ID"
PAYABLE = "应付金额（元）"
SHIPPING_FEE = "商品运费（元）"
SHIP_STATUS = "商品发货状态"
TYPE = "售后类型"
REFUND_GOODS = "退商品金额（元）"
REFUND_SHIPPING = "退运费金额（元）"
STATUS = "售后状态"
APPLIED_AT = "售后申请时间"
REFUND_METHOD = "退款方式"
REASON = "售后原因"
RETURN_TRACKING = "退货物流单号"
RETURN_CARRIER = "退货物流公司"
BUYER_STATEMENT = "用户售后说明"
EXCHANGE_TRACKING = "换货物流单号"
# The parcel the merchant sends to the buyer for an exchange, a resend (补寄) or a repair:
# the reference's header list has 换货物流单号 only; a resend's or a carrier column under the
# other names is read too when a file has it (not verified, hence a list).
EXCHANGE_TRACKING_COLUMNS: tuple[str, ...] = (EXCHANGE_TRACKING, "补寄物流单号", "维修物流单号")
EXCHANGE_CARRIER_COLUMNS: tuple[str, ...] = ("换货物流公司", "补寄物流公司", "发货物流公司")
MERCHANT_CODE = "商家编码"

HEADERS: tuple[str, ...] = (
    "售后单号",
    "订单号",
    "商品单号",
    "商品名称",
    "商品ID",
    "应付金额（元）",
    "商品运费（元）",
    "支付优惠（元）",
    "商品税费（元）",
    "商品发货状态",
    "售后类型",
    "退商品金额（元）",
    "退运费金额（元）",
    "退支付优惠（元）",
    "退税费金额（元）",
    "售后状态",
    "售后申请时间",
    "退款方式",
    "是否已上传退款凭证",
    "售后原因",
    "售后原因标签",
    "退货物流单号",
    "退货异常",
    "退货发货时间",
    "退货物流公司",
    "自动处理截止时间",
    "同意售后申请时间",
    "商家退款时间",
    "用户到账时间",
    "售后关闭时间",
    "商家退货地址",
    "商家退货联系人姓名",
    "商家退货联系人电话",
    "仲裁状态",
    "纠纷责任方",
    "是否极速退款",
    "是否拒签后退款",
    "发货物流单号",
    "发货物流状态",
    "换货物流单号",
    "退货物流状态",
    "售后完结时间",
    "订单备注",
    "用户售后说明",
    "售后备注",
    "操作人",
    "协商记录",
    "换货商品信息",
    "商家编码",
    "门店名称",
)

# Without these a row cannot become a case; a file without one of them is refused whole.
REQUIRED: tuple[str, ...] = (
    AFTERSALE_ID,
    ORDER_ID,
    ITEM_ID,
    PRODUCT_ID,
    PAYABLE,
    TYPE,
    STATUS,
    APPLIED_AT,
)
