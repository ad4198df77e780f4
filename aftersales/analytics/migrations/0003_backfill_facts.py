"""Write the facts of the cases that existed before the analytics app (issue #10)."""

from django.db import migrations


def backfill(apps, schema_editor):
    # Nothing any more: `rebuild_facts` (the real code) writes columns and a table that
    # 0009 adds, so it cannot run at this point of the schema. 0009 writes the facts of
    # the cases that existed before the analytics app.
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_casefact_dailycasefact"),
        ("audit", "0003_append_only_trigger"),
        ("cases", "0005_case_list_filter_indexes"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
