"""Background work of the cases app, run by the Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from aftersales.core.actors import Actor

from .models import RefundExecution
from .services import execute_refund


@task()
def execute_refund_task(execution_id: int) -> str:
    """Execute one refund. Safe to run twice: `execute_refund` claims the row first."""
    execution = RefundExecution.objects.get(pk=execution_id)
    execution = execute_refund(execution=execution, by=Actor.system("refund-worker"))
    return execution.status
