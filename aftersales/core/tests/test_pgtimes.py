"""`core.pgtimes`: PostgreSQL's `timestamptz` values read faster, and exactly as Django reads
them."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import DataError, connection, transaction
from django.db.backends.postgresql.psycopg_any import register_tzloader

from aftersales.core.pgtimes import UtcTimestamptzLoader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timestamptz"),
]

VALUES = [
    "2026-11-11 02:30:00.123456+00",
    "2026-11-11 02:30:00.05+00",  # the server drops trailing zeros of the fraction
    "2026-11-11 02:30:00+00",  # and the whole fraction when it is zero
    "2026-11-11 10:30:00.5+08",  # an offset in the text: converted to UTC by the server
    "0099-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def _read(sql: str, *, djangos: bool = False, time_zone: str = "") -> tuple:
    with transaction.atomic(), connection.cursor() as cursor:
        if djangos:
            register_tzloader(connection.timezone, cursor.cursor)  # Django's own loader
        if time_zone:
            cursor.execute("SET LOCAL TIME ZONE %s", [time_zone])
        cursor.execute(sql)
        return cursor.fetchone()


def _outcome(sql: str, **kwargs) -> object:
    try:
        return _read(sql, **kwargs)
    except DataError as exc:
        return f"DataError: {exc}"


def test_the_connection_reads_timestamptz_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(
        psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
    )
    assert loader is UtcTimestamptzLoader


def test_the_values_are_exactly_djangos():
    sql = "SELECT " + ", ".join(f"'{value}'::timestamptz" for value in VALUES)
    fast = _read(sql)
    assert fast == _read(sql, djangos=True)
    assert all(value.tzinfo is UTC for value in fast)  # as Django's `replace(tzinfo=UTC)`
    assert fast[1] == datetime(2026, 11, 11, 2, 30, 0, 50000, tzinfo=UTC)
    assert fast[3] == datetime(2026, 11, 11, 2, 30, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize("value", ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"])
def test_what_it_cannot_parse_is_left_to_django(value):
    sql = f"SELECT '{value}'::timestamptz"
    outcome = _outcome(sql)
    assert outcome == _outcome(sql, djangos=True)
    assert str(outcome).startswith("DataError")  # no datetime for it, as with Django's


def test_a_session_in_another_time_zone_is_read_as_django_reads_it():
    # Every value then ends in another offset: none is taken for UTC by this loader.
    sql = "SELECT '2026-11-11 02:30:00+00'::timestamptz"
    assert _read(sql, time_zone="Asia/Shanghai") == _read(
        sql, djangos=True, time_zone="Asia/Shanghai"
    )
