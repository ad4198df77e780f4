from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery


def carry_platform_deadline(apps: Any, schema_editor: Any) -> None:
    """Each linked after-sale's `status_deadline` onto its case (`Case.platform_deadline`), as
    `ingest.store_snapshot` and `ingest.link_case` keep it from now on."""
    Case = apps.get_model("cases", "Case")
    DouyinAftersale = apps.get_model("douyin", "DouyinAftersale")
    deadlines = DouyinAftersale.objects.filter(case__isnull=False, status_deadline__isnull=False)
    Case.objects.filter(pk__in=deadlines.values("case_id")).update(
        platform_deadline=Subquery(
            DouyinAftersale.objects.filter(case_id=OuterRef("pk")).values("status_deadline")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("douyin", "0007_submit_evidence_operation"),
        ("cases", "0011_case_carries_vip_and_platform_deadline"),
    ]

    operations = [migrations.RunPython(carry_platform_deadline, migrations.RunPython.noop)]
