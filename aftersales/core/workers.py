"""The task workers (`db_worker`, django-tasks' database backend) under faults (issue 15).

- **No autoreloader.** django-tasks runs `db_worker` under Django's autoreloader whenever
  DEBUG is on, so the pid one starts is the reloader and killing it leaves the real worker
  orphaned. `aftersales db_worker` therefore runs without it unless `--reload` is asked for
  (`cli.main`).
- **Stale RUNNING rows.** A worker killed mid-task leaves its task row `RUNNING` forever. The
  work itself is recovered by each domain's own safety net (the outbox lease, the refund
  recovery, the inbox lease) because every task is a claim-once call; the row is what is left
  lying: `recover_stale_task_rows` marks rows running longer than the lease as failed, saying
  why, so the task list tells the truth. The sweep runs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def without_reloader(argv: list[str]) -> list[str]:
    """`db_worker` without the autoreloader unless asked for explicitly."""
    asked = any(a in ("--reload", "--no-reload") for a in argv[2:])
    if len(argv) > 1 and argv[1] == "db_worker" and not asked:
        return [*argv, "--no-reload"]
    return argv


def recover_stale_task_rows(now: datetime | None = None) -> int:
    """Mark task rows RUNNING for longer than `AFTERSALES_TASK_LEASE_SECONDS` as failed."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    lease = timedelta(seconds=settings.AFTERSALES_TASK_LEASE_SECONDS)
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lease
    ).update(status=TaskResultStatus.FAILED, finished_at=now)
