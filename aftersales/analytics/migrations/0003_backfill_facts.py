"""Write the facts of the cases that existed before the analytics app (issue #10)."""

from django.db import migrations


def backfill(apps, schema_editor):
    # The real code, not historical models: the facts are derived data, and `rebuild_facts`
    # is the one definition of them. Later schema changes to the cases tables must keep it
    # runnable here or replace this step by a no-op and a `rebuild_facts` command run.
    from aftersales.analytics.facts import rebuild_facts

    Shop = apps.get_model("shops", "Shop")
    shop_ids = list(Shop.objects.values_list("pk", flat=True))
    if shop_ids:
        rebuild_facts(shop_ids, products=False)  # 0007 writes those


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_casefact_dailycasefact"),
        ("audit", "0003_append_only_trigger"),
        ("cases", "0005_case_list_filter_indexes"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
