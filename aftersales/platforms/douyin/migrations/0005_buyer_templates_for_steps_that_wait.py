"""Default buyer messages for the steps that wait for the buyer (R3.5, issue 14): the buyer
is told what evidence to provide, and to refuse a parcel being stopped. An approved return
already says where to send the goods and by when (its {next_step}).

The texts are written out here, not imported: a migration must keep meaning what it meant
when it was written, whatever the code says later.
"""

from django.db import migrations

DEFAULTS = {
    "evidence_requested": (
        "您好，为处理您的售后申请（订单 {order_id}），请在售后详情页上传以下凭证：{note}。"
        "收到后我们会马上继续处理。"
    ),
    "interception_requested": (
        "您好，订单 {order_id} 的包裹我们已申请物流拦截退回。如快递仍派送给您，请直接拒收；"
        "包裹退回后我们会尽快为您退款。"
    ),
}


def create_defaults(apps, schema_editor):
    Template = apps.get_model("douyin", "BuyerMessageTemplate")
    for event, text in DEFAULTS.items():
        Template.objects.get_or_create(shop=None, event=event, defaults={"text": text})


def remove_defaults(apps, schema_editor):
    Template = apps.get_model("douyin", "BuyerMessageTemplate")
    Template.objects.filter(shop=None, event__in=list(DEFAULTS)).delete()


class Migration(migrations.Migration):
    dependencies = [("douyin", "0004_link_return_address")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
