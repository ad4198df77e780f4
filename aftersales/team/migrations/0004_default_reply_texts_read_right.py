"""The default reply templates say what is true (R3.5, issue 14).

- 退款进度 said "申请退款 {requested_amount} 元，我们正在处理" on a case already refunded: it now
  says where the refund stands, with the amount that fits ({refund_progress}).
- 已收到申请, 退货方式 and 延迟致歉 said "在 {deadline} 前", which read "在 尽快 前" when no
  deadline runs: they use {reply_by} ("在 <time> 前", or "尽快").
- The buyer never saw our case number: {case_id} is now the platform's after-sale number, and
  the texts call it 单号 (it is the order number for a case without one); 售后处理中 names the
  order only.

Only a default still worded as shipped is changed: an admin's edit is kept. The texts are
written out here, not imported: a migration must keep meaning what it meant when it was written.
"""

from django.db import migrations

# code: (the text as shipped by workbench 0003, the text now)
TEXTS = {
    "received": (
        "您好,您的售后申请(订单 {order_id})我们已收到,将在 {deadline} 前给您答复。",
        "您好,您的售后申请(订单 {order_id})我们已收到,将{reply_by}给您答复。",
    ),
    "return_address": (
        "您好,售后申请已同意,请在 {deadline} 前寄回商品并填写快递单号,以便我们及时验货。",
        "您好,售后申请已同意,请{reply_by}寄回商品并填写快递单号,以便我们及时验货。",
    ),
    "delay": (
        "您好,非常抱歉,订单 {order_id} 的售后处理需要更多时间,我们会在 {deadline} 前给您结果。",
        "您好,非常抱歉,订单 {order_id} 的售后处理需要更多时间,我们会{reply_by}给您结果。",
    ),
    "in_progress": (
        "亲，您的售后申请（售后单 {case_id}，订单 {order_id}）我们已收到并正在处理，"
        "会尽快给您明确答复。",
        "亲，您订单 {order_id} 的售后申请我们已收到并正在处理，会尽快给您明确答复。",
    ),
    "delay_notice": (
        "亲，非常抱歉，近期售后申请较多，您的售后单 {case_id} 处理会稍有延迟，"
        "我们会在承诺时限内给您答复，感谢您的耐心。",
        "亲，非常抱歉，近期售后申请较多，您的售后申请（单号 {case_id}）处理会稍有延迟，"
        "我们会在承诺时限内给您答复，感谢您的耐心。",
    ),
    "return_reminder": (
        "亲，您的售后单 {case_id} 已同意退货，请尽快按平台提供的地址寄回商品并填写快递单号，"
        "以免影响退款进度。",
        "亲，您的售后申请（单号 {case_id}）已同意退货，请尽快按平台提供的地址寄回商品并填写"
        "快递单号，以免影响退款进度。",
    ),
    "evidence_reminder": (
        "亲，为尽快处理您的售后单 {case_id}，请上传能看清商品问题的照片或视频。",
        "亲，为尽快处理您的售后申请（单号 {case_id}），请上传能看清商品问题的照片或视频。",
    ),
    "refund_progress": (
        "亲，您的售后单 {case_id} 申请退款 {requested_amount} 元，我们正在处理，"
        "退款完成后将原路退回，请留意到账通知。",
        "亲，关于您的售后申请（单号 {case_id}）：{refund_progress}。",
    ),
    "incident_apology": (
        "亲，我们已经知道这批商品存在的问题，正在优先处理您的售后单 {case_id}，"
        "给您带来不便，深表歉意。",
        "亲，我们已经知道这批商品存在的问题，正在优先处理您的售后申请（单号 {case_id}），"
        "给您带来不便，深表歉意。",
    ),
}


def reword(apps, schema_editor, *, forward=True):
    ReplyTemplate = apps.get_model("team", "ReplyTemplate")
    for code, (shipped, now) in TEXTS.items():
        old, new = (shipped, now) if forward else (now, shipped)
        ReplyTemplate.objects.filter(shop=None, code=code, text=old).update(text=new)


def back(apps, schema_editor):
    reword(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [("team", "0003_reply_variables_help")]

    operations = [migrations.RunPython(reword, back)]
