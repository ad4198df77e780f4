"""One row of the back-office export read into what the product needs (R13.3). Pure: no
database, no Django models; the services turn a `ParsedRow` into an order and a case.

- Amounts are yuan with at most two decimals, read as `Decimal` from the cell's text (a
  numeric cell is read through its shortest decimal form, never through float arithmetic)
  and turned into integer fen exactly; `-` and an empty cell mean no value.
- Ids lose the leading tab the platform puts before them (so Excel keeps them as text) and
  any surrounding spaces; they must be digits.
- Times are the platform's Shanghai wall-clock times (`2025-03-01 12:34:56`).
- The Chinese type, status and reason are mapped to the product's; an unknown one is a
  problem of that row, named with its column.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import CaseType
from aftersales.cases.reasons import REASONS

from . import columns as C

SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY = frozenset({"", "-", "--", "—"})
MAX_FEN = 10**12  # ten billion yuan: anything above is a typing error, not an amount

# 售后类型. 仅退款 is split by the item's 商品发货状态.
TYPES: dict[str, str] = {
    "退货退款": CaseType.RETURN_REFUND,
    "已发货仅退款": CaseType.REFUND_SHIPPED,
    "未发货仅退款": CaseType.REFUND_UNSHIPPED,
    "换货": CaseType.EXCHANGE,
    "补寄": CaseType.RESEND,
    "维修": CaseType.REPAIR,
}
REFUND_ONLY = "仅退款"


class Stage:
    """How far the platform says the after-sale got, in the order the product's steps go."""

    PENDING = 0  # the merchant has not answered
    AGREED = 1  # agreed; waiting for the buyer's parcel or the merchant's
    RETURN_SHIPPED = 2  # the buyer sent the goods back
    BUYER_SHIPPED = 3  # the replacement, resend or repaired goods are on their way to the buyer
    DONE = 4  # refunded, or the exchange/resend/repair succeeded
    REJECTED = 10
    CLOSED = 11


# 售后状态, as the export writes it (§6 of the reference) and the standard statuses' names.
STATUSES: dict[str, int] = {
    "待商家处理": Stage.PENDING,
    "待商家同意": Stage.PENDING,
    "待买家退货": Stage.AGREED,
    "待商家发货": Stage.AGREED,
    "待商家收货": Stage.RETURN_SHIPPED,
    "待商家二次同意": Stage.RETURN_SHIPPED,
    # 13 换货/补寄/维修待买家收货: the merchant shipped to the buyer (换货物流单号).
    "待买家收货": Stage.BUYER_SHIPPED,
    "换货待买家收货": Stage.BUYER_SHIPPED,
    "补寄待买家收货": Stage.BUYER_SHIPPED,
    "维修待买家收货": Stage.BUYER_SHIPPED,
    "商家已发货": Stage.BUYER_SHIPPED,
    "同意退款，退款成功": Stage.DONE,
    "同意退款,退款成功": Stage.DONE,
    "退款成功": Stage.DONE,
    "售后成功": Stage.DONE,
    "换货成功": Stage.DONE,
    "补寄成功": Stage.DONE,
    "维修成功": Stage.DONE,
    "商家一次拒绝": Stage.REJECTED,
    "商家二次拒绝": Stage.REJECTED,
    "商家拒绝": Stage.REJECTED,
    "拒绝售后": Stage.REJECTED,
    "售后关闭": Stage.CLOSED,
    "售后失败": Stage.CLOSED,
}

# 售后原因: the platform's wording of each of our reasons, and a few of its other wordings.
REASON_WORDS: dict[str, str] = {
    **{reason.platform_label: code for code, reason in REASONS.items()},
    "七天无理由退货": "no_reason",
    "多拍/拍错/不想要": "changed_mind",
    "拍错/多拍/不想要": "changed_mind",
    "尺码拍错/不喜欢/效果不好": "wrong_size",
    "商品质量问题": "quality_issue",
    "少件/漏发": "missing_item",
    "少件": "missing_item",
    "发错货": "wrong_item",
    "商品与描述不符": "not_as_described",
    "快递一直未送到": "not_received",
    "未按约定时间发货": "late_shipment",
}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell of a row, in both languages (the page and the error
    sheet show it in the reader's)."""

    column: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"column": self.column, "zh": self.zh, "en": self.en}


def problem(column: str, message: Promise | str) -> Problem:
    with translation.override("zh-hans"):
        zh = str(message)
    with translation.override("en"):
        en = str(message)
    return Problem(column=column, zh=zh, en=en)


@dataclass(frozen=True)
class ParsedRow:
    aftersale_id: str
    order_id: str
    item_id: str
    product_id: str
    product_name: str
    merchant_code: str
    paid_fen: int
    shipping_fee_fen: int
    shipped: bool
    type: str
    reason: str
    stage: int
    status_text: str
    applied_at: datetime
    refund_goods_fen: int | None
    refund_shipping_fen: int | None
    return_carrier: str
    return_tracking: str
    exchange_tracking: str
    exchange_carrier: str
    buyer_statement: str
    digest: str = field(compare=False)


def text(value: Any) -> str:
    """A cell as text: None and the export's `-` are empty; a leading tab is dropped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).strip().lstrip("\t").strip()
    return "" if result in EMPTY else result


def yuan_to_fen(value: Any) -> int | None:
    """Yuan (text or a number cell) to integer fen, exactly; None for an empty cell.

    Raises ValueError for anything that is not a non-negative amount with at most two
    decimals. A float cell is read through `repr`, its shortest decimal form (19.9 → "19.9"),
    so no binary rounding reaches the amount.
    """
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, float):
        value = repr(value)
    raw = text(value).replace(",", "").replace("¥", "").replace("￥", "")
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("not an amount")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("more than two decimals")
    if fen >= MAX_FEN:
        raise ValueError("too large")
    return int(fen)


def shanghai_time(value: Any) -> datetime | None:
    """A cell's time: a datetime cell or `YYYY-MM-DD HH:MM:SS` text, Shanghai wall clock."""
    if isinstance(value, datetime):
        moment = value
    else:
        raw = text(value)
        if not raw:
            return None
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M"):
            try:
                moment = datetime.strptime(raw, pattern)  # noqa: DTZ007 - zone set just below
                break
            except ValueError:
                continue
        else:
            raise ValueError("not a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def row_digest(values: tuple[Any, ...]) -> str:
    """The fingerprint of a row as the file has it: the same row again changes nothing."""
    body = json.dumps([text(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class RowReader:
    """Turns the rows of one file into `ParsedRow`s or their problems; knows where each
    column stands from the header row."""

    def __init__(self, header: tuple[Any, ...]) -> None:
        names = [text(cell) for cell in header]
        self.index = {name: i for i, name in enumerate(names) if name}
        self.missing = [name for name in C.REQUIRED if name not in self.index]

    def cell(self, values: tuple[Any, ...], name: str) -> Any:
        i = self.index.get(name)
        if i is None or i >= len(values):
            return None
        return values[i]

    def first_text(self, values: tuple[Any, ...], names: tuple[str, ...]) -> str:
        """The first of these columns the file has with a value (one name the reference
        lists and the others some exports are said to use)."""
        for name in names:
            value = text(self.cell(values, name))
            if value:
                return value
        return ""

    def parse(self, values: tuple[Any, ...]) -> ParsedRow | list[Problem]:
        problems: list[Problem] = []

        def ident(name: str, *, required: bool = True) -> str:
            value = text(self.cell(values, name))
            if not value:
                if required:
                    problems.append(problem(name, _("Required.")))
                return ""
            if not value.isdigit() or len(value) > 64:
                problems.append(problem(name, _("Not an id: digits only, at most 64.")))
                return ""
            return value

        def amount(name: str, *, required: bool = False) -> int | None:
            try:
                fen = yuan_to_fen(self.cell(values, name))
            except ValueError:
                problems.append(
                    problem(name, _("Not an amount in yuan (at most two decimals, not negative)."))
                )
                return None
            if fen is None and required:
                problems.append(problem(name, _("Required.")))
            return fen

        aftersale_id = ident(C.AFTERSALE_ID)
        order_id = ident(C.ORDER_ID)
        item_id = ident(C.ITEM_ID)
        product_id = ident(C.PRODUCT_ID)
        paid = amount(C.PAYABLE, required=True)
        shipping_fee = amount(C.SHIPPING_FEE)
        refund_goods = amount(C.REFUND_GOODS)
        refund_shipping = amount(C.REFUND_SHIPPING)

        ship_status = text(self.cell(values, C.SHIP_STATUS))
        shipped = "已发货" in ship_status or "已签收" in ship_status
        type_text = text(self.cell(values, C.TYPE))
        case_type = TYPES.get(type_text)
        if type_text == REFUND_ONLY:
            case_type = CaseType.REFUND_SHIPPED if shipped else CaseType.REFUND_UNSHIPPED
        if case_type is None:
            problems.append(
                problem(C.TYPE, _("Unknown after-sales type.") if type_text else _("Required."))
            )

        status_text = text(self.cell(values, C.STATUS))
        stage = STATUSES.get(status_text.replace(" ", ""))
        if stage is None:
            problems.append(
                problem(
                    C.STATUS, _("Unknown after-sales status.") if status_text else _("Required.")
                )
            )

        try:
            applied_at = shanghai_time(self.cell(values, C.APPLIED_AT))
        except ValueError:
            applied_at = None
            problems.append(problem(C.APPLIED_AT, _("Not a time (YYYY-MM-DD HH:MM:SS).")))
        else:
            if applied_at is None:
                problems.append(problem(C.APPLIED_AT, _("Required.")))

        if paid is not None and refund_goods is not None and refund_goods > paid:
            problems.append(problem(C.REFUND_GOODS, _("More than the amount paid.")))

        reason_text = text(self.cell(values, C.REASON))
        reason = REASON_WORDS.get(reason_text, "other")

        return_tracking = text(self.cell(values, C.RETURN_TRACKING))[:64]
        if problems:
            return problems
        assert case_type is not None and stage is not None and applied_at is not None
        assert paid is not None
        return ParsedRow(
            aftersale_id=aftersale_id,
            order_id=order_id,
            item_id=item_id,
            product_id=product_id,
            product_name=text(self.cell(values, C.PRODUCT_NAME))[:200] or product_id,
            merchant_code=text(self.cell(values, C.MERCHANT_CODE))[:40],
            paid_fen=paid,
            shipping_fee_fen=shipping_fee or 0,
            shipped=shipped,
            type=case_type,
            reason=reason,
            stage=stage,
            status_text=status_text,
            applied_at=applied_at,
            refund_goods_fen=refund_goods,
            refund_shipping_fen=refund_shipping,
            return_carrier=text(self.cell(values, C.RETURN_CARRIER))[:32],
            return_tracking=return_tracking,
            exchange_tracking=self.first_text(values, C.EXCHANGE_TRACKING_COLUMNS)[:64],
            exchange_carrier=self.first_text(values, C.EXCHANGE_CARRIER_COLUMNS)[:32],
            buyer_statement=text(self.cell(values, C.BUYER_STATEMENT))[:2000],
            digest=row_digest(values),
        )
