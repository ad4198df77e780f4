"""Background work of the Douyin adapter, run by the Django Tasks worker (`aftersales db_worker`).

Every task only points at a row and is safe to run twice: the row is claimed with a
conditional update before anything happens.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from .ingest import process_inbox
from .outbox import deliver_operations


@task()
def process_message_task(message_id: int) -> str:
    """Apply a stored push message (Detail → order → case → policy), and with it the other
    messages waiting, up to DOUYIN_INBOUND_BATCH (`ingest.process_inbox`). The tasks of the
    messages taken along find them applied and return at once."""
    return f"applied {len(process_inbox(message_id))}"


@task()
def deliver_operation_task(operation_id: int) -> str:
    """Deliver an outbox operation to the platform, and with it the other ready operations,
    up to DOUYIN_OUTBOX_BATCH (`outbox.deliver_operations`). The tasks of the operations
    taken along find them delivered and return at once."""
    return f"attempted {len(deliver_operations(operation_id))}"


@task()
def sync_shops_task(reschedule: bool = False) -> str:
    """Incremental sync of every linked shop, plus the outbox and inbox safety net.

    With `reschedule`, the task queues itself again (DOUYIN_SYNC_INTERVAL seconds later) on a
    backend that can defer: a periodic job without a separate scheduler. Start the chain once
    with `aftersales douyin_sync --schedule`; `douyin_sync --every N` is the alternative.
    """
    from .sync import run_safety_net, sync_all_shops

    synced = sync_all_shops()
    recovered = run_safety_net()
    if reschedule and sync_shops_task.get_backend().supports_defer:
        interval = settings.DOUYIN_SYNC_INTERVAL
        sync_shops_task.using(run_after=timezone.now() + timedelta(seconds=interval)).enqueue(
            reschedule=True
        )
    return f"synced={synced} recovered={recovered}"
