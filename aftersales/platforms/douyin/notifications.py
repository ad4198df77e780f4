"""What the buyer is told at each step (R3.5), from templates an admin can edit.

The text is rendered when the step happens and stored on the outbox operation, so the
message says what was true then, whatever the template says later.
"""

from __future__ import annotations

import string
from typing import Any

from django.db.models import Q
from django.utils import timezone

from aftersales.cases.choices import RETURNING_TYPES, CaseType
from aftersales.cases.models import Case, RefundExecution
from aftersales.core.money import fen_to_yuan
from aftersales.orders.carriers import carrier_name
from aftersales.sla.models import ClockKind, ClockState, SlaClock

from .choices import NotificationEvent
from .mapping import REJECT_REASON_WORDING
from .models import BuyerMessageTemplate, DouyinShopLink

DEFAULT_TEMPLATES: dict[str, str] = {
    NotificationEvent.CASE_OPENED: (
        "您好，您的售后申请（订单 {order_id}）已收到，我们会尽快处理，处理进度会及时通知您。"
    ),
    NotificationEvent.CASE_APPROVED: "您好，您的售后申请已通过审核。{next_step}",
    NotificationEvent.CASE_REJECTED: (
        "很抱歉，您的售后申请未能通过：{reason}。如有疑问请联系客服，您也可以补充凭证后重新申请。"
    ),
    NotificationEvent.EVIDENCE_REQUESTED: (
        "您好，为处理您的售后申请（订单 {order_id}），请在售后详情页上传以下凭证：{note}。"
        "收到后我们会马上继续处理。"
    ),
    NotificationEvent.INTERCEPTION_REQUESTED: (
        "您好，订单 {order_id} 的包裹我们已申请物流拦截退回。如快递仍派送给您，请直接拒收；"
        "包裹退回后我们会尽快为您退款。"
    ),
    NotificationEvent.RETURN_RECEIVED: (
        "您寄回的商品我们已收到，将在 48 小时内完成检验并尽快为您处理。"
    ),
    NotificationEvent.REFUNDED: "您的退款 {amount_yuan} 元已办理，将原路退回，请留意到账。",
    NotificationEvent.REPLACEMENT_SHIPPED: (
        "您的换货商品已发出（{carrier} {tracking_number}），请注意查收。"
    ),
    NotificationEvent.ITEMS_RESENT: "补寄的商品已发出（{carrier} {tracking_number}），请注意查收。",
    NotificationEvent.REPAIRED_SHIPPED: (
        "维修好的商品已寄回（{carrier} {tracking_number}），请注意查收。"
    ),
}

VARIABLES = frozenset(
    {
        "case_id",
        "order_id",
        "aftersale_id",
        "buyer",
        "amount_yuan",
        "carrier",
        "tracking_number",
        "reason",
        "shop",
        "next_step",
        "note",
        "return_by",
        "return_address",
    }
)

# What the buyer does next once the request is approved. For the goods that come back, where
# to send them and by when: {by} is "在 <the buyer's return deadline> 前" (or "尽快" when no
# deadline runs), {to} the shop's return address or where the buyer finds it.
NEXT_STEP: dict[str, str] = {
    CaseType.REFUND_UNSHIPPED: "退款将原路退回，请留意到账。",
    CaseType.REFUND_SHIPPED: "退款将原路退回，请留意到账。",
    CaseType.RETURN_REFUND: "请{by}将商品寄回{to}，并在平台填写退货运单号。",
    CaseType.EXCHANGE: "请{by}将商品寄回{to}，并在平台填写退货运单号，收到后我们会为您换货。",
    CaseType.REPAIR: "请{by}将商品寄回{to}，并在平台填写运单号，收到后我们会安排维修。",
    CaseType.RESEND: "我们会尽快为您补寄。",
}
UNKNOWN_ADDRESS = "（退货地址见售后详情页）"


def template_variables(text: str) -> set[str]:
    """The {names} a template uses; raises ValueError on broken braces."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_template(text: str) -> None:
    """Refuse a template an admin could break a message with."""
    unknown = template_variables(text) - VARIABLES
    if unknown:
        raise ValueError(f"unknown variables: {', '.join(sorted(unknown))}")


def template_text(shop_id: int, event: str) -> str | None:
    """The shop's template, else the installation's default, else the built-in text.

    None when an admin switched the message off.
    """
    rows = {
        row.shop_id: row
        for row in BuyerMessageTemplate.objects.filter(
            Q(shop_id=shop_id) | Q(shop__isnull=True), event=event
        )
    }
    row = rows.get(shop_id) or rows.get(None)
    if row is None:
        return DEFAULT_TEMPLATES.get(event)
    return row.text if row.is_active else None


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(text: str, context: dict[str, Any]) -> str:
    return string.Formatter().vformat(text, (), _Missing(context))


def message_for(case: Case, event: str, payload: dict[str, Any] | None = None) -> str | None:
    """The text for the buyer at this step of this case, or None if there is none."""
    if event not in NotificationEvent.values:
        return None
    text = template_text(case.shop_id, event)
    if not text:
        return None
    payload = payload or {}
    amount = payload.get("amount_fen")
    if amount is None and event == NotificationEvent.REFUNDED:
        execution = RefundExecution.objects.filter(decision__case=case).first()
        amount = execution.amount_fen if execution else None
    reason_words = REJECT_REASON_WORDING.get(case.reject_reason)
    return_by, return_address = _return_instructions(case, event)
    context = {
        # The number the buyer knows: the platform's after-sale number (never our own id).
        "case_id": case.platform_case_id or case.order.platform_order_id,
        "order_id": case.order.platform_order_id,
        "aftersale_id": case.platform_case_id or "",
        "buyer": case.order.buyer.nickname or "",
        "amount_yuan": fen_to_yuan(amount) if amount is not None else "",
        "carrier": carrier_name(str(payload.get("carrier", ""))),
        "tracking_number": payload.get("tracking_number", ""),
        "reason": reason_words[0] if reason_words else (case.reject_note or ""),
        "shop": case.shop.name,
        "next_step": _next_step(case, return_by, return_address)
        if event == NotificationEvent.CASE_APPROVED
        else "",
        "note": case.evidence_request_note if event == NotificationEvent.EVIDENCE_REQUESTED else "",
        "return_by": return_by,
        "return_address": return_address,
    }
    return render(text, context)


def _return_instructions(case: Case, event: str) -> tuple[str, str]:
    """When the goods must be sent back by (the buyer's return clock, started by the SLA
    reaction before this one) and where to, for an approved request whose goods come back."""
    if event != NotificationEvent.CASE_APPROVED or case.type not in RETURNING_TYPES:
        return "", ""
    clock = SlaClock.objects.filter(
        case=case, kind=ClockKind.RETURN_SHIPMENT, state=ClockState.RUNNING
    ).first()
    due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M") if clock else ""
    address = (
        DouyinShopLink.objects.filter(shop_id=case.shop_id)
        .values_list("return_address", flat=True)
        .first()
    )
    return due, address or ""


def _next_step(case: Case, return_by: str, return_address: str) -> str:
    return NEXT_STEP.get(case.type, "").format(
        by=f"在 {return_by} 前" if return_by else "尽快",
        to=f"至：{return_address}" if return_address else UNKNOWN_ADDRESS,
    )
