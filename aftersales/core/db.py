"""Database helpers shared by every app."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction


def on_commit(func: Callable[[], object]) -> None:
    """Run `func` after the current transaction commits (immediately outside one)."""
    transaction.on_commit(func)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
