"""Background work of the analytics app, run by the Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from .models import Export
from .services import run_export


@task()
def run_export_task(export_id: int) -> str:
    """Write one export. Safe to run twice: `run_export` claims it first."""
    return run_export(export=Export.objects.get(pk=export_id)).status
