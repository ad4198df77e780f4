from typing import Any

from django.db import migrations

INDEX = "douyin_task_ready_by_argument"  # queueing.RETIRE_INDEX


def create_index(apps: Any, schema_editor: Any) -> None:
    """The READY task rows by task and first argument (`queueing.retire_taken_along`), on
    PostgreSQL: a batch marks the rows of what it claimed done without reading the backlog.
    The expression is the one the lookup compares; the table is the task backend's."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON django_tasks_database_dbtaskresult"
        " (task_path, (args_kwargs -> 'args' ->> 0)) WHERE status = 'READY'"
    )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("douyin", "0008_case_platform_deadline"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
