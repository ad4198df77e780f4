"""Background work of the import, run by the Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from .models import ImportJob
from .services import run_import


@task()
def run_import_task(job_id: int) -> str:
    """Import one uploaded file. Safe to run twice: `run_import` claims it first."""
    return run_import(job=ImportJob.objects.get(pk=job_id)).status
