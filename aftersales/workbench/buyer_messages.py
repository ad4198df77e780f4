"""Message templates for writing to the buyer (R3.5), with their variables filled in.

The texts are in Chinese whatever the language of the screen: they go to the buyer on a
Chinese platform. Variables: {case_id}, {order_id}, {amount} (yuan), {deadline}, {shop}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import Case, RefundDecision
from aftersales.cases.money import item_cap
from aftersales.core.money import fen_to_yuan
from aftersales.sla.models import ClockState


@dataclass(frozen=True)
class MessageTemplate:
    code: str
    label: Promise
    text: str


MESSAGE_TEMPLATES = [
    MessageTemplate(
        "received",
        _("Request received"),
        "您好,您的售后申请(订单 {order_id})我们已收到,将在 {deadline} 前给您答复。",
    ),
    MessageTemplate(
        "need_photos",
        _("Ask for photos"),
        "您好,为尽快处理订单 {order_id} 的售后,请上传商品问题部位的清晰照片或视频。",
    ),
    MessageTemplate(
        "return_address",
        _("How to return"),
        "您好,售后申请已同意,请在 {deadline} 前寄回商品并填写快递单号,以便我们及时验货。",
    ),
    MessageTemplate(
        "refund_progress",
        _("Refund in progress"),
        "您好,订单 {order_id} 的退款 {amount} 元已提交,预计1-3个工作日原路退回,请留意查收。",
    ),
    MessageTemplate(
        "delay",
        _("Apology for a delay"),
        "您好,非常抱歉,订单 {order_id} 的售后处理需要更多时间,我们会在 {deadline} 前给您结果。",
    ),
]


def template_variables(case: Case, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    decision = RefundDecision.objects.filter(case=case).first()
    if decision is not None:
        amount_fen = decision.total_fen
    else:
        amount_fen = sum(
            item_cap(ci.order_item, ci.quantity).cap_fen
            for ci in case.items.select_related("order_item")
        )
    clock = case.clocks.filter(state=ClockState.RUNNING, due_at__gt=now).order_by("due_at").first()
    deadline = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M") if clock else "尽快"
    return {
        "case_id": case.pk,
        "order_id": case.order.platform_order_id,
        "amount": fen_to_yuan(amount_fen),
        "deadline": deadline,
        "shop": case.shop.name,
    }


def filled_templates(case: Case) -> list[tuple[MessageTemplate, str]]:
    variables = template_variables(case)
    return [(t, t.text.format(**variables)) for t in MESSAGE_TEMPLATES]
