"""Templated messages to buyers, for bulk sending from the team pages (R3.5, R2.6, R12.1).

The texts are what the buyer reads, so they are Chinese whatever the agent's UI language;
the names are UI strings and translatable. They fill in the case's own values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import Case
from aftersales.core.money import fen_to_yuan


@dataclass(frozen=True)
class MessageTemplate:
    key: str
    name: Any  # a lazy translation
    text: str  # str.format with the variables of `message_variables`


MESSAGE_TEMPLATES: dict[str, MessageTemplate] = {
    t.key: t
    for t in [
        MessageTemplate(
            "in_progress",
            _("We are handling your request"),
            "亲，您的售后申请（售后单 {case_id}，订单 {order_id}）我们已收到并正在处理，"
            "会尽快给您明确答复。",
        ),
        MessageTemplate(
            "delay_notice",
            _("Handling will take a little longer"),
            "亲，非常抱歉，近期售后申请较多，您的售后单 {case_id} 处理会稍有延迟，"
            "我们会在承诺时限内给您答复，感谢您的耐心。",
        ),
        MessageTemplate(
            "return_reminder",
            _("Reminder to ship the return"),
            "亲，您的售后单 {case_id} 已同意退货，请尽快按平台提供的地址寄回商品并填写快递单号，"
            "以免影响退款进度。",
        ),
        MessageTemplate(
            "evidence_reminder",
            _("Reminder to upload photos or video"),
            "亲，为尽快处理您的售后单 {case_id}，请上传能看清商品问题的照片或视频。",
        ),
        MessageTemplate(
            "refund_progress",
            _("Refund progress"),
            "亲，您的售后单 {case_id} 申请退款 {amount} 元，我们正在处理，"
            "退款完成后将原路退回，请留意到账通知。",
        ),
        MessageTemplate(
            "incident_apology",
            _("Apology for a known problem"),
            "亲，我们已经知道这批商品存在的问题，正在优先处理您的售后单 {case_id}，"
            "给您带来不便，深表歉意。",
        ),
    ]
}


def message_variables(case: Case) -> dict[str, str]:
    return {
        "case_id": str(case.pk),
        "order_id": case.order.platform_order_id,
        "amount": str(fen_to_yuan(case.requested_amount_fen)),
    }


def render_message(template: MessageTemplate, case: Case) -> str:
    return template.text.format_map(message_variables(case))
