"""Counter rows: a row per key (a shop's day, …) whose numbers the writers add to.

`add_to_tally` is one `INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`
statement (PostgreSQL and SQLite alike): the first writer of a key creates its row, every
other adds to it, and two first writers at once both count — without the savepoint, the
UPDATE that found nothing and the retry that an update-then-create needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, models


def _concrete(field: Any) -> models.Field[Any, Any]:
    assert isinstance(field, models.Field) and field.column
    return field


def add_to_tally(model: type[models.Model], key: dict[str, Any], **deltas: int) -> None:
    """Add `deltas` (field: amount) to `model`'s row of `key` (field: value), creating it.
    `key` names exactly the fields of one of the model's unique constraints."""
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    key_fields = [_concrete(meta.get_field(name)) for name in key]
    delta_fields = [_concrete(meta.get_field(name)) for name in deltas]
    columns = [quote(f.column) for f in key_fields + delta_fields]
    pairs = zip(key_fields, key.values(), strict=True)
    params = [f.get_db_prep_value(value, connection) for f, value in pairs]
    params += list(deltas.values())
    adds = ", ".join(
        f"{quote(f.column)} = {table}.{quote(f.column)} + excluded.{quote(f.column)}"
        for f in delta_fields
    )
    values = ", ".join(["%s"] * len(columns))
    conflict = ", ".join(quote(f.column) for f in key_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {adds}",
            params,
        )


def add_to_tallies(
    model: type[models.Model],
    key_names: tuple[str, ...],
    deltas: Mapping[tuple[Any, ...], int] | Mapping[tuple[Any, ...], tuple[int, ...]],
    *,
    fields: tuple[str, ...] = ("cases",),
) -> None:
    """`add_to_tally` for many rows at once: each key (values of `key_names`, one of the
    model's unique constraints) gets its deltas to `fields` (one int for one field, else a
    tuple in their order), all in one statement, in key order so two transactions never
    wait on each other's rows crosswise."""
    as_tuples = {k: d if isinstance(d, tuple) else (d,) for k, d in deltas.items()}
    rows = sorted((key, counts) for key, counts in as_tuples.items() if any(counts))
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    key_fields = [_concrete(meta.get_field(name)) for name in key_names]
    count_fields = [_concrete(meta.get_field(name)) for name in fields]
    columns = ", ".join(quote(f.column) for f in [*key_fields, *count_fields])
    conflict = ", ".join(quote(f.column) for f in key_fields)
    one = "(" + ", ".join(["%s"] * (len(key_fields) + len(count_fields))) + ")"
    params: list[Any] = []
    for values, counts in rows:
        pairs = zip(key_fields, values, strict=True)
        params += [f.get_db_prep_value(value, connection) for f, value in pairs]
        params += counts
    adds = ", ".join(
        f"{quote(f.column)} = {table}.{quote(f.column)} + excluded.{quote(f.column)}"
        for f in count_fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))}"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {adds}",
            params,
        )
