from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from aftersales.audit.anchor import write_checkpoints
from aftersales.cases.services import recover_stalled_refunds
from aftersales.core.periodic import run_every
from aftersales.core.workers import recover_stale_task_rows
from aftersales.sla.services import sweep


class Command(BaseCommand):
    help = (
        "The safety net beside the task worker: fire due SLA warnings and breaches, and "
        "recover refunds whose task was lost or whose worker died. Once, or every N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        checkpointed: dict[int, int] = {}
        next_checkpoint = timezone.now()

        def sweep_once() -> None:
            nonlocal next_checkpoint
            warned, breached = sweep()
            failed, requeued = recover_stalled_refunds()
            stale = recover_stale_task_rows()
            if timezone.now() >= next_checkpoint:
                # The audit chains' heads, to the file outside the database (ADR 0003).
                write_checkpoints(unchanged_since=checkpointed)
                next_checkpoint = timezone.now() + timedelta(
                    seconds=settings.AUDIT_CHECKPOINT_EVERY
                )
            if warned or breached or failed or requeued or stale or not every:
                self.stdout.write(
                    f"sweep: {warned} at risk, {breached} breached, "
                    f"{failed} stalled refunds failed, {requeued} refunds re-queued"
                    + (f", {stale} stale task rows marked failed" if stale else "")
                )

        run_every(every, sweep_once)
