"""The disputes app's background work: carrying out a ruling once it is recorded."""

from __future__ import annotations

from django_tasks import task


@task()
def execute_ruling_task(ticket_id: int) -> None:
    from .services import execute_ruling

    execute_ruling(ticket_id)
