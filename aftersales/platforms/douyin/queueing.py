"""Queueing work for the task worker so that it exists exactly when the change committed.

With the database task backend (production: `django_tasks_db`), the task row is written in
the caller's transaction: it commits with the message or operation it points at, or not at
all, so no crash between commit and enqueue can strand a row (and the push is answered after
one commit, not two). Any other backend (the tests' immediate one) is told after commit, as
`transaction.on_commit` would; the sweep re-queues what a lost task left behind either way.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max


def enqueue_with_the_change(task: Any, *args: Any, run_after: datetime | None = None) -> None:
    backend = task.get_backend()
    if run_after is not None:
        if not backend.supports_defer:
            return  # picked up by the sweep when due
        task = task.using(run_after=run_after)
    if isinstance(backend, DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args))


@dataclass(frozen=True)
class TaskRow:
    """The row `DatabaseBackend.enqueue` writes for a task, but its arguments: for a caller
    that writes it inside its own statement (the push receiver: message and task in one)."""

    table: str
    columns: list[str]  # quoted, in the order of `values`
    values: list[Any]  # ready to pass as query parameters
    arguments_column: str  # quoted; `{"args": [...], "kwargs": {}}`, written by the caller


def writes_task_rows(task: Any) -> bool:
    """Whether the task's backend is the database one (`task_row` can write its row)."""
    return isinstance(task.get_backend(), DatabaseBackend)


def task_row(task: Any, *, run_after: datetime | None = None) -> TaskRow | None:
    """The task's row as the database backend would write it now, or None when the task's
    backend is another one (then `enqueue_with_the_change` is the way)."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    shape = _task_row_shape(
        connection.vendor,
        backend.alias,
        task.module_path,
        task.priority,
        task.queue_name,
        run_after is None,
    )
    # What changes from one row to the next; every other column is the shape's, prepared once.
    varying = {"id": backend._get_id(), "enqueued_at": timezone.now()}
    if run_after is not None:
        varying["run_after"] = run_after
    values = list(shape.values)
    for name, value in varying.items():
        index, field = shape.varying[name]
        values[index] = field.get_db_prep_save(value, connection)
    return TaskRow(
        table=shape.table,
        columns=shape.columns,
        values=values,
        arguments_column=shape.arguments_column,
    )


@dataclass(frozen=True)
class _TaskRowShape:
    table: str
    columns: list[str]
    values: tuple[Any, ...]  # the constant columns prepared; the varying ones None
    arguments_column: str
    varying: dict[str, tuple[int, models.Field[Any, Any]]]  # name → (index, field)


@functools.cache
def _task_row_shape(
    vendor: str,
    backend_alias: str,
    task_path: str,
    priority: int,
    queue_name: str,
    never_due: bool,
) -> _TaskRowShape:
    """A task's row but for its id, enqueue time and (unless `never_due`) due time, in the
    order and with the values `DatabaseBackend.enqueue` would write: prepared once per
    process, for the push receiver writes one with every message."""
    quote = connection.ops.quote_name
    values: dict[str, Any] = {
        "id": None,
        "status": concrete_fields(DBTaskResult, ["status"])[0].get_default(),
        "enqueued_at": None,
        "priority": priority,
        "task_path": task_path,
        "worker_ids": [],
        "queue_name": queue_name,
        "backend_name": backend_alias,
        "run_after": get_date_max() if never_due else None,
        "exception_class_path": "",
        "traceback": "",
    }
    fields = concrete_fields(DBTaskResult, values)
    varying = {"id", "enqueued_at"} | (set() if never_due else {"run_after"})
    return _TaskRowShape(
        table=quote(DBTaskResult._meta.db_table),
        columns=[quote(field.column) for field in fields],
        values=tuple(
            None if name in varying else field.get_db_prep_save(value, connection)
            for field, (name, value) in zip(fields, values.items(), strict=True)
        ),
        arguments_column=quote(concrete_fields(DBTaskResult, ["args_kwargs"])[0].column),
        varying={
            name: (index, field)
            for index, (field, name) in enumerate(zip(fields, values, strict=True))
            if name in varying
        },
    )


def concrete_fields(
    model: type[models.Model], names: Iterable[str]
) -> list[models.Field[Any, Any]]:
    """The model's columns by field name (for a statement written by hand)."""
    fields = [model._meta.get_field(name) for name in names]
    assert all(isinstance(field, models.Field) and field.column for field in fields)
    return cast(list[models.Field[Any, Any]], fields)


# The return value of a task row a batch marked done: its work was taken along by the batch.
TAKEN_ALONG = "taken along by a batch"
# The partial expression index `retire_taken_along` reads by (migration douyin 0009): the
# READY rows of a task by their first argument, whatever the backlog behind them.
RETIRE_INDEX = "douyin_task_ready_by_argument"


def retire_taken_along(task: Any, ids: Iterable[int]) -> int:
    """Mark done the waiting (`READY`) rows of `task` whose argument is one of `ids`: the
    rows a batch has just claimed in the caller's transaction (issue 16). Without this, every
    row taken along is still run later by a worker — a claim, a look that finds the row
    already done, a result: two commits for nothing, and between the cases' own tasks they
    keep the next batch small. Returns the rows marked.

    In the caller's transaction: the rows are marked done exactly when the claim commits.
    A row a worker has already taken (`RUNNING`, or locked by its claim at this moment:
    `SKIP LOCKED`) is left alone and finds its row claimed, as before. Rows due later (a
    retry's) are marked too: the batch is attempting the row now, and a failure queues a
    retry of its own. PostgreSQL only, by the index `RETIRE_INDEX` (an equality on the
    task and on its argument among READY rows: no scan of the backlog); elsewhere (SQLite,
    the demo) and on other task backends the rows simply run and find their work done."""
    wanted = sorted({str(pk) for pk in ids})
    if not wanted or connection.vendor != "postgresql" or not writes_task_rows(task):
        return 0
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    select, params = waiting_rows_query(task, wanted)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, return_value = %s::jsonb,"
            f" started_at = %s, finished_at = %s WHERE id IN ({select} FOR UPDATE SKIP LOCKED)",
            [TaskResultStatus.SUCCESSFUL, json.dumps(TAKEN_ALONG), now, now, *params],
        )
        return cursor.rowcount


def waiting_rows_query(task: Any, ids: list[str]) -> tuple[str, list[Any]]:
    """The READY rows of `task` with one of `ids` as argument, in the shape `RETIRE_INDEX`
    answers (its test EXPLAINs this very statement)."""
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    return (
        f"SELECT id FROM {table} WHERE status = %s AND task_path = %s"
        " AND (args_kwargs -> 'args' ->> 0) = ANY(%s::text[])",
        [TaskResultStatus.READY, task.module_path, ids],
    )
