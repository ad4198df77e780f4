"""The installation's default buyer messages (R3.5), editable afterwards in the admin.

The texts are written out here, not imported: a migration must keep meaning what it meant
when it was written, whatever the code says later.
"""

from django.db import migrations

DEFAULTS = {
    "case_opened": (
        "您好，您的售后申请（订单 {order_id}）已收到，我们会尽快处理，处理进度会及时通知您。"
    ),
    "case_approved": "您好，您的售后申请已通过审核。{next_step}",
    "case_rejected": (
        "很抱歉，您的售后申请未能通过：{reason}。如有疑问请联系客服，"
        "您也可以补充凭证后重新申请。"
    ),
    "return_received": "您寄回的商品我们已收到，将在 48 小时内完成检验并尽快为您处理。",
    "refund_executed": "您的退款 {amount_yuan} 元已办理，将原路退回，请留意到账。",
    "replacement_shipped": "您的换货商品已发出（{carrier} {tracking_number}），请注意查收。",
    "items_resent": "补寄的商品已发出（{carrier} {tracking_number}），请注意查收。",
    "repaired_goods_shipped": "维修好的商品已寄回（{carrier} {tracking_number}），请注意查收。",
}


def create_defaults(apps, schema_editor):
    Template = apps.get_model("douyin", "BuyerMessageTemplate")
    for event, text in DEFAULTS.items():
        Template.objects.get_or_create(shop=None, event=event, defaults={"text": text})


class Migration(migrations.Migration):
    dependencies = [("douyin", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
