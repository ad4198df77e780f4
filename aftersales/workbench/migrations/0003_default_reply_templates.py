"""The installation's default reply templates (R3.5), editable afterwards in the admin.

They merge the two lists the code had before: the case page's (received … delay) and the
bulk bar's (in_progress … incident_apology). Every distinct message is kept. Both lists had a
`refund_progress`: the bulk bar's keeps the code (it is what a scripted bulk post sends); the
case page's becomes `refund_submitted`. The bulk bar's refund text meant the amount the buyer
asked for, so it uses {requested_amount}; {amount} is the refund amount, as on the case page.

The texts are written out here, not imported: a migration must keep meaning what it meant
when it was written, whatever the code says later.
"""

from django.db import migrations

# code, name, text; the position is the order here (10, 20, …).
DEFAULTS = [
    (
        "received",
        "已收到申请",
        "您好,您的售后申请(订单 {order_id})我们已收到,将在 {deadline} 前给您答复。",
    ),
    (
        "need_photos",
        "请买家补充照片",
        "您好,为尽快处理订单 {order_id} 的售后,请上传商品问题部位的清晰照片或视频。",
    ),
    (
        "return_address",
        "退货方式",
        "您好,售后申请已同意,请在 {deadline} 前寄回商品并填写快递单号,以便我们及时验货。",
    ),
    (
        "refund_submitted",
        "退款已提交",
        "您好,订单 {order_id} 的退款 {amount} 元已提交,预计1-3个工作日原路退回,请留意查收。",
    ),
    (
        "delay",
        "延迟致歉",
        "您好,非常抱歉,订单 {order_id} 的售后处理需要更多时间,我们会在 {deadline} 前给您结果。",
    ),
    (
        "in_progress",
        "售后处理中",
        "亲，您的售后申请（售后单 {case_id}，订单 {order_id}）我们已收到并正在处理，"
        "会尽快给您明确答复。",
    ),
    (
        "delay_notice",
        "处理稍有延迟",
        "亲，非常抱歉，近期售后申请较多，您的售后单 {case_id} 处理会稍有延迟，"
        "我们会在承诺时限内给您答复，感谢您的耐心。",
    ),
    (
        "return_reminder",
        "提醒寄回商品",
        "亲，您的售后单 {case_id} 已同意退货，请尽快按平台提供的地址寄回商品并填写快递单号，"
        "以免影响退款进度。",
    ),
    (
        "evidence_reminder",
        "提醒上传照片或视频",
        "亲，为尽快处理您的售后单 {case_id}，请上传能看清商品问题的照片或视频。",
    ),
    (
        "refund_progress",
        "退款进度",
        "亲，您的售后单 {case_id} 申请退款 {requested_amount} 元，我们正在处理，"
        "退款完成后将原路退回，请留意到账通知。",
    ),
    (
        "incident_apology",
        "已知问题致歉",
        "亲，我们已经知道这批商品存在的问题，正在优先处理您的售后单 {case_id}，"
        "给您带来不便，深表歉意。",
    ),
]


def create_defaults(apps, schema_editor):
    ReplyTemplate = apps.get_model("workbench", "ReplyTemplate")
    for index, (code, name, text) in enumerate(DEFAULTS, start=1):
        ReplyTemplate.objects.get_or_create(
            shop=None,
            code=code,
            defaults={"name": name, "text": text, "position": index * 10},
        )


class Migration(migrations.Migration):
    dependencies = [("workbench", "0002_reply_template")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
