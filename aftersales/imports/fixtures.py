"""A realistic back-office export (售后单-YYYY-MM-DD HH_MM_SS.xlsx) for tests and the bench.

The 50 columns of the platform's 售后表 in their order; ids with the leading tab the
platform writes, `-` for an empty amount or time, amounts as yuan text with two decimals,
Shanghai wall-clock times, the Chinese types, statuses and reasons the export uses. Written
in openpyxl's write-only mode, so 100k rows take little memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook

from . import columns as C

STATUS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "退货退款": ("待商家处理", "待买家退货", "待商家收货", "同意退款，退款成功", "售后关闭"),
    "仅退款": ("待商家处理", "同意退款，退款成功", "售后关闭"),
    "换货": ("待商家处理", "待买家退货", "待商家收货", "换货成功", "售后关闭"),
}
REASONS = ("七天无理由", "不想要了", "尺码不合适", "质量问题", "商品破损", "发错货", "少件/漏发")
PRODUCTS = (
    ("3578123401", "春季新款纯棉T恤 白色 L", "TS-001", Decimal("89.00")),
    ("3578123402", "高腰阔腿牛仔裤 蓝色 27", "JN-027", Decimal("159.90")),
    ("3578123403", "蓝牙耳机 降噪版", "EP-300", Decimal("299.00")),
    ("3578123404", "保温杯 500ml", "CUP-500", Decimal("49.90")),
    ("3578123405", "儿童学步鞋 22码", "SH-22", Decimal("69.00")),
)
CARRIERS = (("中通快递", "7531"), ("圆通速递", "YT88"), ("顺丰速运", "SF14"), ("韵达快递", "4312"))


@dataclass(frozen=True)
class ExportRow:
    """One after-sale as the export writes it; the fields the import reads, the rest
    filled as the platform would."""

    aftersale_id: str
    order_id: str
    item_id: str
    product_id: str = PRODUCTS[0][0]
    product_name: str = PRODUCTS[0][1]
    merchant_code: str = PRODUCTS[0][2]
    payable: str = "89.00"
    shipping_fee: str = "0.00"
    ship_status: str = "1/1已发货"
    type: str = "退货退款"
    refund_goods: str = "89.00"
    refund_shipping: str = "-"
    status: str = "待商家处理"
    applied_at: str = "2026-11-20 10:15:30"
    refund_method: str = "原路退回"
    reason: str = "七天无理由"
    return_tracking: str = "-"
    return_carrier: str = "-"
    buyer_statement: str = "不想要了"
    exchange_tracking: str = "-"  # 换货物流单号: the replacement or the resend to the buyer
    extra: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[Any]:
        values: dict[str, Any] = {
            C.AFTERSALE_ID: "\t" + self.aftersale_id,
            C.ORDER_ID: "\t" + self.order_id,
            C.ITEM_ID: "\t" + self.item_id,
            C.PRODUCT_NAME: self.product_name,
            C.PRODUCT_ID: "\t" + self.product_id,
            C.PAYABLE: self.payable,
            C.SHIPPING_FEE: self.shipping_fee,
            "支付优惠（元）": "0.00",
            "商品税费（元）": "0.00",
            C.SHIP_STATUS: self.ship_status,
            C.TYPE: self.type,
            C.REFUND_GOODS: self.refund_goods,
            C.REFUND_SHIPPING: self.refund_shipping,
            "退支付优惠（元）": "-",
            "退税费金额（元）": "-",
            C.STATUS: self.status,
            C.APPLIED_AT: self.applied_at,
            C.REFUND_METHOD: self.refund_method,
            "是否已上传退款凭证": "否",
            C.REASON: self.reason,
            "售后原因标签": "-",
            C.RETURN_TRACKING: self.return_tracking,
            "退货异常": "-",
            "退货发货时间": "-",
            C.RETURN_CARRIER: self.return_carrier,
            "自动处理截止时间": "-",
            "商家退货地址": "浙江省杭州市余杭区仓前街道文一西路1号 售后仓",
            "商家退货联系人姓名": "售后组",
            "商家退货联系人电话": "0571-88886666",
            "仲裁状态": "未介入",
            "纠纷责任方": "-",
            "是否极速退款": "否",
            "是否拒签后退款": "否",
            C.BUYER_STATEMENT: self.buyer_statement,
            C.MERCHANT_CODE: self.merchant_code,
            "门店名称": "-",
            C.EXCHANGE_TRACKING: self.exchange_tracking,
            **self.extra,
        }
        return [values.get(name, "-") for name in C.HEADERS]


def realistic_rows(count: int, *, seed: int = 13, start: int = 0) -> Iterator[ExportRow]:
    """`count` after-sales of a busy shop: one order item each, mixed types and statuses,
    amounts with fen, return tracking numbers once the buyer has sent the goods back."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 1, 9, 0, 0)  # noqa: DTZ001 - the export's Shanghai wall clock
    for n in range(start, start + count):
        product_id, name, code, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
        kind = rng.choice(("退货退款", "退货退款", "仅退款", "仅退款", "换货"))
        status = rng.choice(STATUS_BY_TYPE[kind])
        shipped = kind != "仅退款" or rng.random() < 0.6
        paid = price - Decimal(rng.randrange(0, 1000)) / 100  # a coupon of up to 9.99 yuan
        refund = paid if rng.random() < 0.85 else (paid / 2).quantize(Decimal("0.01"))
        returned = status in ("待商家收货", "同意退款，退款成功", "换货成功") and kind != "仅退款"
        carrier, prefix = CARRIERS[rng.randrange(len(CARRIERS))]
        applied = base + timedelta(minutes=n * 3 % (60 * 24 * 28), seconds=n % 60)
        yield ExportRow(
            aftersale_id=f"{7300000000000000000 + n}",
            order_id=f"{6900000000000000000 + n}",
            item_id=f"{6900000000000000000 + n}",
            product_id=product_id,
            product_name=name,
            merchant_code=code,
            payable=f"{paid:.2f}",
            shipping_fee="0.00" if rng.random() < 0.8 else "8.00",
            ship_status="1/1已发货" if shipped else "未发货",
            type=kind,
            refund_goods="-" if kind == "换货" else f"{refund:.2f}",
            status=status,
            applied_at=f"{applied:%Y-%m-%d %H:%M:%S}",
            refund_method="无需退款" if kind == "换货" else "原路退回",
            reason=rng.choice(REASONS),
            return_tracking=f"{prefix}{n:012d}" if returned else "-",
            return_carrier=carrier if returned else "-",
            buyer_statement=rng.choice(("不想要了", "尺码偏小", "有破损", "-", "颜色和图片不一样")),
            exchange_tracking=f"SF90{n:011d}" if status == "换货成功" else "-",
        )


# The statuses after which the platform takes no more steps (the import's history).
FINISHED_STATUSES = frozenset({"同意退款，退款成功", "换货成功", "售后关闭"})


def finished_rows(count: int, *, seed: int = 13, start: int = 0) -> Iterator[ExportRow]:
    """`count` of `realistic_rows` that are already finished on the platform (refunded,
    exchanged or closed): a shop's history, the bulk path of the first import."""
    taken = 0
    for row in realistic_rows(count * 4 + 10, seed=seed, start=start):
        if taken >= count:
            return
        if row.status in FINISHED_STATUSES:
            taken += 1
            yield row


def bad(row: ExportRow, **changes: Any) -> ExportRow:
    """The same row with some of its cells wrong (for tests of the row-by-row report)."""
    return replace(row, **changes)


def write_export(target: str | Path | IO[bytes], rows: Iterable[ExportRow]) -> int:
    """Write the export's one sheet, 售后表; returns the number of data rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("售后表")
    sheet.append(list(C.HEADERS))
    written = 0
    for row in rows:
        sheet.append(row.cells())
        written += 1
    book.save(target)
    return written


def export_name(at: datetime) -> str:
    return f"售后单-{at:%Y-%m-%d %H_%M_%S}.xlsx"
