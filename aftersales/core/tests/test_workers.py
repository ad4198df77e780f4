"""Issue 15: the task workers — no autoreloader, stale RUNNING rows recovered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from aftersales.core.workers import recover_stale_task_rows, without_reloader


def test_db_worker_runs_without_the_autoreloader_unless_asked():
    assert without_reloader(["aftersales", "db_worker", "--interval", "1"])[-1] == "--no-reload"
    assert without_reloader(["aftersales", "db_worker", "--reload"]) == [
        "aftersales",
        "db_worker",
        "--reload",
    ]
    assert without_reloader(["aftersales", "runserver"]) == ["aftersales", "runserver"]


@pytest.mark.django_db
def test_a_task_row_left_running_by_a_killed_worker_is_marked_failed(settings):
    settings.AFTERSALES_TASK_LEASE_SECONDS = 600
    now = timezone.now()

    def row(started_ago: timedelta) -> DBTaskResult:
        return DBTaskResult.objects.create(
            args_kwargs={"args": [1], "kwargs": {}},
            task_path="aftersales.platforms.douyin.tasks.deliver_operation_task",
            queue_name="default",
            backend_name="default",
            status=TaskResultStatus.RUNNING,
            started_at=now - started_ago,
        )

    stale, running = row(timedelta(hours=2)), row(timedelta(minutes=1))

    assert recover_stale_task_rows(now) == 1

    stale.refresh_from_db()
    running.refresh_from_db()
    assert stale.status == TaskResultStatus.FAILED and stale.finished_at == now
    assert running.status == TaskResultStatus.RUNNING
