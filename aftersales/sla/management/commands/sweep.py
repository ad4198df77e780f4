from argparse import ArgumentParser
from datetime import timedelta
from time import monotonic
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from aftersales.audit.anchor import write_checkpoints
from aftersales.cases.services import recover_stalled_refunds
from aftersales.core.periodic import run_every
from aftersales.core.workers import recover_stale_task_rows
from aftersales.sla.services import sweep

# How often the SLA clocks are looked at when repeating: the worst-case lateness of a
# warning or a breach (plus the firing of what is due before it). A look with nothing due is
# one indexed statement, well under a millisecond (docs/benchmarks.md), so a few seconds
# cost nothing; the clocks' own limits are hours.
TIMERS_EVERY_SECONDS = 5.0


class Command(BaseCommand):
    help = (
        "Fire due SLA warnings and breaches (the clocks' only timer), and recover refunds "
        "whose task was lost or whose worker died. Once, or repeating: the clocks every "
        "--timers-every seconds, the recoveries every --every seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--every", type=float, default=0, help="repeat, recovering every N seconds"
        )
        parser.add_argument(
            "--timers-every",
            type=float,
            default=TIMERS_EVERY_SECONDS,
            help="when repeating, fire the SLA clocks every N seconds (at most --every)",
        )

    def handle(self, *args: Any, every: float, timers_every: float, **options: Any) -> None:
        recovered_at: float | None = None

        checkpointed: dict[int, int] = {}
        next_checkpoint = timezone.now()

        def sweep_once() -> None:
            nonlocal recovered_at, next_checkpoint
            warned, breached = sweep()
            failed = requeued = stale = 0
            # The recoveries keep their own pace: re-queueing an unclaimed refund every few
            # seconds would only pile up duplicate tasks.
            if recovered_at is None or monotonic() - recovered_at >= every:
                recovered_at = monotonic()
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

        tick = min(every, timers_every) if every and timers_every > 0 else every
        run_every(tick, sweep_once)
