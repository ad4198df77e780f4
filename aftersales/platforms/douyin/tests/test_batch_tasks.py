"""Issue 16: a batch that claims outbox operations or stored pushes marks done, with the
claim, the waiting task rows of what it claimed — found by an index, never by reading the
backlog — and leaves alone a task a worker already has. PostgreSQL only (the index and
`SKIP LOCKED`); on SQLite the rows run and find their work done, as before.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from aftersales.platforms.douyin import queueing
from aftersales.platforms.douyin.ingest import process_inbox
from aftersales.platforms.douyin.models import InboundMessage, OutboxOperation
from aftersales.platforms.douyin.outbox import deliver_operations
from aftersales.platforms.douyin.tasks import deliver_operation_task, process_message_task

from .fake_gateway import error
from .mini_platform import MiniPlatform
from .test_calls_side_by_side import approved_cases
from .test_inbox_batch import stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def rows_of(task, pk: int) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path=task.module_path, args_kwargs__args=[pk]).order_by(
            "enqueued_at"
        )
    )


def test_issue16_a_delivery_batch_marks_done_the_waiting_tasks_of_what_it_claimed(
    database_tasks, linked, platform
):
    approved_cases(linked, platform, 3)
    operations = list(OutboxOperation.objects.filter(status="pending").order_by("pk"))
    assert all(rows_of(deliver_operation_task, op.pk) for op in operations)
    # Another worker has already taken one operation's task: it is left to run.
    running = rows_of(deliver_operation_task, operations[1].pk)[0]
    DBTaskResult.objects.filter(pk=running.pk).update(status="RUNNING")

    attempted = deliver_operations(operations[0].pk, limit=50)

    assert sorted(attempted) == [op.pk for op in operations]
    assert set(OutboxOperation.objects.values_list("status", flat=True)) == {"synced"}
    assert set(OutboxOperation.objects.values_list("attempts", flat=True)) == {1}
    for op in operations:
        for row in rows_of(deliver_operation_task, op.pk):
            if row.pk == running.pk:
                assert row.status == "RUNNING"
            else:
                assert (row.status, row.return_value) == ("SUCCESSFUL", queueing.TAKEN_ALONG)
                assert row.finished_at is not None


def test_issue16_a_retry_queued_by_the_batch_itself_is_left_waiting(
    database_tasks, linked, platform, settings
):
    settings.DOUYIN_OUTBOX_INLINE_TRIES = 1
    (case,) = approved_cases(linked, platform, 1)
    agree = OutboxOperation.objects.get(case=case, kind="agree")
    answer = platform.gateway.responder
    platform.gateway.responder = lambda method, params, n: (
        error(60000, "isv.rate-limited", "调用频率超过限制")
        if method == "afterSale.operate"
        else answer(method, params, n)
    )

    deliver_operations(limit=50)

    agree.refresh_from_db()
    assert agree.status == "pending" and agree.next_attempt_at is not None
    first, retry = rows_of(deliver_operation_task, agree.pk)
    assert (first.status, first.return_value) == ("SUCCESSFUL", queueing.TAKEN_ALONG)
    assert retry.status == "READY" and retry.run_after > timezone.now()


def test_issue16_an_inbox_batch_marks_done_the_waiting_tasks_of_the_messages_it_claimed(
    database_tasks, linked, platform
):
    aftersales = [
        platform.add_aftersale(platform.add_order(status=2), type=2, reason_code=2)
        for _ in range(3)
    ]
    messages = [stored(linked, "200", a, f"task-{n}") for n, a in enumerate(aftersales)]
    for message in messages:
        process_message_task.enqueue(message.pk)
    running = rows_of(process_message_task, messages[0].pk)[0]
    DBTaskResult.objects.filter(pk=running.pk).update(status="RUNNING")

    process_inbox(messages[0].pk, limit=50)

    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}
    assert DBTaskResult.objects.get(pk=running.pk).status == "RUNNING"
    for message in messages[1:]:
        (row,) = rows_of(process_message_task, message.pk)
        assert (row.status, row.return_value) == ("SUCCESSFUL", queueing.TAKEN_ALONG)


def test_issue16_the_waiting_tasks_are_found_by_the_index_not_by_reading_the_backlog(
    database_tasks,
):
    """Behind a backlog of 100,000 waiting tasks (a sale day) a claim of 50 rows must not
    read them all: the lookup is an index scan of RETIRE_INDEX, for any size of list."""
    table = DBTaskResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, status, args_kwargs, priority, task_path, queue_name,"
            " backend_name, run_after, enqueued_at, exception_class_path, traceback,"
            " worker_ids) SELECT gen_random_uuid(), 'READY',"
            " jsonb_build_object('args', jsonb_build_array(n), 'kwargs', '{}'::jsonb), 0,"
            " CASE n %% 3 WHEN 0 THEN %s WHEN 1 THEN %s ELSE 'other.task' END,"
            " 'default', 'default', now(), now(), '', '', '[]'::jsonb"
            " FROM generate_series(1, 100000) AS n",
            [deliver_operation_task.module_path, process_message_task.module_path],
        )
        cursor.execute(f"ANALYZE {table}")
        for task in (deliver_operation_task, process_message_task):
            for ids in (["3"], [str(n) for n in range(1, 151, 3)]):
                select, params = queueing.waiting_rows_query(task, ids)
                cursor.execute(f"EXPLAIN {select} FOR UPDATE SKIP LOCKED", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert queueing.RETIRE_INDEX in plan, plan
                assert "Seq Scan" not in plan, plan
        # And it finds what it should: 50 rows of the 150 ids, one task's third.
        select, params = queueing.waiting_rows_query(
            deliver_operation_task, [str(n) for n in range(1, 151)]
        )
        cursor.execute(select, params)
        assert len(cursor.fetchall()) == 50
