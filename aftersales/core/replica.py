"""Reports read from a PostgreSQL replica when one is configured (`DATABASE_REPLICA_URL`).

The router cannot tell a report's query from a case page's by its model — both read cases
and orders — so the reports say so: their pages and API read inside `reading_reports()`, and
while that is on, every read goes to the `replica` database if settings define one. Writes
always go to `default` (the primary), and so does every read outside a report; migrations never
run on the replica (the replica is a streaming copy of it). Without a replica nothing changes.

A replica lags the primary by its replication delay (normally well under a second): a figure
can miss the last moment's cases, never show a case twice. Pages that must see what was just
written (an export's status and download, a form's POST) do not read from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPLICA = "replica"
_reports: ContextVar[bool] = ContextVar("aftersales_reading_reports", default=False)


@contextmanager
def reading_reports() -> Iterator[None]:
    """Reads inside go to the replica, if there is one."""
    token = _reports.set(True)
    try:
        yield
    finally:
        _reports.reset(token)


def in_reports() -> bool:
    return _reports.get()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """`settings.DATABASE_ROUTERS`: report reads to the replica, everything else as usual."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reports.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None  # the primary, as without the router

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same data on both databases

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
