"""Queueing work for the task worker so that it exists exactly when the change committed.

With the database task backend (production: `django_tasks_db`), the task row is written in
the caller's transaction: it commits with the message or operation it points at, or not at
all, so no crash between commit and enqueue can strand a row (and the push is answered after
one commit, not two). Any other backend (the tests' immediate one) is told after commit, as
`transaction.on_commit` would; the sweep re-queues what a lost task left behind either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django_tasks_db.backend import DatabaseBackend


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
