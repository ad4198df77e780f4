"""Issue 16: clocks fire from the clock table (`sla.services.sweep`), no longer from two
deferred task rows each. The rows already queued would only slow every task claim until they
ran out (up to weeks ahead): they are deleted. Nothing is lost, since the sweep finds every
due warning and breach in the clock table."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CHECK_CLOCK = "aftersales.sla.tasks.check_clock"


def delete_queued_clock_timers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    task_result = apps.get_model("django_tasks_database", "DBTaskResult")
    task_result.objects.using(schema_editor.connection.alias).filter(
        task_path=CHECK_CLOCK, status="READY"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0005_platform_clock_kinds"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        # Nothing to put back: the sweep fires the clocks the rows were for.
        migrations.RunPython(delete_queued_clock_timers, migrations.RunPython.noop),
    ]
