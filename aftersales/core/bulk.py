"""Writing many new rows of one model at once (a bulk import).

`insert_all` is `bulk_create` for thousands of rows: on PostgreSQL the rows go in through
`COPY … FROM STDIN`, with their ids taken from the table's sequence beforehand in one
statement, so the objects have their primary keys as after `bulk_create`. Measured on the
back-office import (bench/import.py): Django's bulk insert spends most of its time preparing
each value in Python and escaping text arrays for its `UNNEST` form; COPY formats the rows in
psycopg's C code. Elsewhere (SQLite) it is `bulk_create`.

The rows are inserted as they are: no `save()`, no signals (as `bulk_create`), and the
fields' `pre_save` runs only for `auto_now`/`auto_now_add` fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

# Field types whose Python value psycopg writes as the column wants, with no preparation by
# Django (ints, text, booleans, aware datetimes, dates), exactly these types and not their
# subclasses; a foreign key to one of them writes its id. Every other field (JSON, decimals,
# …) goes through its `get_db_prep_save`.
_PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.DateTimeField,
    models.DateField,
)

M = TypeVar("M", bound=models.Model)


def insert_all(model: type[M], objs: Sequence[M]) -> Sequence[M]:
    """Insert `objs` (new, unsaved) as `model.objects.bulk_create(objs)` would; return them
    with their primary keys set. Inside the caller's transaction, if any."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return objs
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    if isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
        missing = [obj for obj in objs if obj.pk is None]
        for obj, value in zip(
            missing, _next_ids(meta.db_table, pk.column, len(missing)), strict=True
        ):
            obj.pk = value
    columns, writers = _writers(model)
    quote = connection.ops.quote_name
    statement = f"COPY {quote(meta.db_table)} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for obj in objs:
            copy.write_row([write(obj) for write in writers])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def _next_ids(table: str, column: str, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), column, count],
        )
        return [row[0] for row in cursor.fetchall()]


@cache
def _writers(model: type[models.Model]) -> tuple[list[str], list[Callable[[Any], Any]]]:
    """The model's columns and, for each, how an object's value is read and prepared."""
    quote = connection.ops.quote_name
    columns: list[str] = []
    writers: list[Callable[[Any], Any]] = []
    for field in model._meta.concrete_fields:
        columns.append(quote(field.column))
        writers.append(_writer(field))
    return columns, writers


def _writer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    attname = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add=True)
    if isinstance(field, models.ForeignKey) and type(field.target_field) in _PLAIN_FIELDS:
        # As `bulk_create`: an object assigned before it was saved gives its id now.
        def related_id(obj: Any) -> Any:
            value = getattr(obj, attname)
            if value is None and field.is_cached(obj):
                related = field.get_cached_value(obj)
                value = None if related is None else related.pk
                setattr(obj, attname, value)
            return value

        return related_id
    if type(field) in _PLAIN_FIELDS:
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)
