"""The fast push receiver (issue 16): links remembered per process but never trusted beyond
what the storing statement checks, and the message with its task written in one statement.

R13.1: a push is stored, with the task that will process it, before it is answered."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from aftersales.platforms.douyin import ingest
from aftersales.platforms.douyin.models import DouyinShopLink, InboundMessage
from aftersales.platforms.douyin.tasks import process_message_task

from . import factories
from .support import body_of, message, post_push

SUCCESS = {"code": 0, "msg": "success"}


@pytest.fixture
def database_tasks(settings):
    """The production task backend: task rows in the database, nothing run inline."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def link(shop_a, fast):
    ingest.forget_remembered_links()
    yield factories.link(shop_a, app_key="app-fast", secret="fast-secret")
    ingest.forget_remembered_links()


def push(link, *messages, secret=None, app_key=None):
    return post_push(
        Client(),
        body_of(*messages),
        app_key=app_key or link.app_key,
        secret=secret if secret is not None else link.app_secret,
    )


def msg(link, msg_id, aftersale_id="7001", shop_id=None):
    return message("200", aftersale_id, shop_id or link.platform_shop_id, msg_id=msg_id)


@pytest.mark.django_db
def test_r13_1_each_new_message_has_exactly_one_task_row_as_the_backend_writes_it(
    link, database_tasks
):
    assert push(link, msg(link, "t-1")).json() == SUCCESS
    assert push(link, msg(link, "t-1")).json() == SUCCESS  # redelivered: counted, no task
    assert push(link, msg(link, "t-2"), msg(link, "t-3"), msg(link, "t-2")).json() == SUCCESS

    stored = {m.msg_id: m for m in InboundMessage.objects.all()}
    assert {k: m.deliveries for k, m in stored.items()} == {"t-1": 2, "t-2": 2, "t-3": 1}
    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert sorted(r.args_kwargs["args"][0] for r in rows) == sorted(m.pk for m in stored.values())
    # What the worker claims (`ready()`), and the very row the backend's own `enqueue` writes.
    assert set(DBTaskResult.objects.ready()) == set(rows)
    reference = process_message_task.enqueue(stored["t-1"].pk).db_result
    ignored = {"id", "enqueued_at"}
    for row in rows:
        assert row.task_result.task.func is process_message_task.func
        assert {
            f.name: getattr(row, f.name) for f in DBTaskResult._meta.fields if f.name not in ignored
        } == {
            f.name: getattr(reference, f.name)
            for f in DBTaskResult._meta.fields
            if f.name not in ignored
        } | {"args_kwargs": row.args_kwargs}
        assert row.args_kwargs == {"args": [row.args_kwargs["args"][0]], "kwargs": {}}


@pytest.mark.django_db
def test_r13_1_a_remembered_link_whose_secret_changed_refuses_the_old_secret_at_once(link):
    assert push(link, msg(link, "s-1")).status_code == 200  # the link is remembered now
    DouyinShopLink.objects.filter(pk=link.pk).update(app_secret="rotated-secret")

    assert push(link, msg(link, "s-2"), secret="fast-secret").status_code == 401
    assert push(link, msg(link, "s-3"), secret="rotated-secret").status_code == 200
    assert not InboundMessage.objects.filter(msg_id="s-2").exists()
    assert InboundMessage.objects.get(msg_id="s-3").link_id == link.pk


@pytest.mark.django_db
def test_r13_1_a_remembered_link_revoked_receives_nothing_from_the_next_push(link):
    assert push(link, msg(link, "r-1")).status_code == 200
    DouyinShopLink.objects.filter(pk=link.pk).update(is_active=False)

    assert push(link, msg(link, "r-2")).status_code == 401
    assert push(link, msg(link, "r-1")).status_code == 401  # not even counted again
    assert InboundMessage.objects.get(msg_id="r-1").deliveries == 1
    assert not InboundMessage.objects.filter(msg_id="r-2").exists()


@pytest.mark.django_db
def test_r13_1_a_remembered_link_moved_to_another_shop_id_no_longer_routes_the_old_one(link):
    """Tenant isolation: a message naming the shop id the link had is stored without a link."""
    assert push(link, msg(link, "m-1")).status_code == 200
    old_shop_id = link.platform_shop_id
    DouyinShopLink.objects.filter(pk=link.pk).update(platform_shop_id="555000555")

    assert push(link, msg(link, "m-2", shop_id=old_shop_id)).status_code == 200
    assert InboundMessage.objects.get(msg_id="m-2").link_id is None


@pytest.mark.django_db
def test_r13_1_a_shop_linked_to_the_same_app_after_it_was_remembered_gets_its_messages(
    link, shop_b
):
    assert push(link, msg(link, "n-1")).status_code == 200
    other = factories.link(shop_b, app_key=link.app_key, secret=link.app_secret)

    assert push(link, msg(link, "n-2", shop_id=other.platform_shop_id)).status_code == 200
    assert InboundMessage.objects.get(msg_id="n-2").link_id == other.pk


@pytest.mark.django_db
def test_an_unknown_app_id_is_never_remembered(link):
    for n in range(3):
        assert push(link, msg(link, f"u-{n}"), app_key=f"nobody-{n}").status_code == 401
    assert not any(key.startswith("nobody-") for key in ingest._LINKS_BY_APP)


@pytest.mark.django_db
def test_a_remembered_link_settles_a_push_in_one_statement_on_postgresql(
    link, database_tasks, django_assert_num_queries
):
    """The link read once, then nothing but the storing statement (message and task row)."""
    if connection.vendor != "postgresql":
        pytest.skip("one statement is the PostgreSQL path; SQLite writes the task after it")
    assert push(link, msg(link, "q-1")).status_code == 200
    with django_assert_num_queries(1):
        assert push(link, msg(link, "q-2")).status_code == 200
    assert DBTaskResult.objects.count() == 2


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_storing_statement_is_prepared_once_per_connection_on_postgresql(link, database_tasks):
    """Parsing and planning it cost PostgreSQL more than running it (docs/benchmarks.md):
    prepared on the connection's first push, reused by the next ones; no other statement
    is prepared (Django leaves psycopg's preparing off)."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are the PostgreSQL path")
    for n in range(3):
        assert push(link, msg(link, f"p-{n}")).status_code == 200
    statements = _prepared_statements()
    assert len(statements) == 1
    assert statements[0].startswith('WITH stored AS (INSERT INTO "douyin_inboundmessage"')
    assert connection.connection.prepare_threshold is None
    assert InboundMessage.objects.count() == DBTaskResult.objects.count() == 3


@pytest.mark.django_db
def test_an_installation_that_turns_prepared_statements_off_gets_none(
    link, database_tasks, monkeypatch
):
    """Behind a pooler that cannot keep them: `OPTIONS={"prepare_threshold": None}`."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are the PostgreSQL path")
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)
    for n in range(3):
        assert push(link, msg(link, f"n-{n}")).status_code == 200
    assert _prepared_statements() == []
    assert InboundMessage.objects.count() == DBTaskResult.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_r13_1_stored_and_queued_in_autocommit_before_the_answer_or_neither(
    shop_a, fast, database_tasks, monkeypatch
):
    """Outside any test transaction: the 200 comes after the message and its task are
    committed; a failure in the task's part stores no message and answers no 200."""
    ingest.forget_remembered_links()
    link = factories.link(shop_a, app_key="app-auto", secret="auto-secret")
    assert push(link, msg(link, "a-1")).status_code == 200
    assert push(link, msg(link, "a-2")).status_code == 200  # through the remembered link
    stored = InboundMessage.objects.get(msg_id="a-2")
    assert DBTaskResult.objects.filter(args_kwargs__args=[stored.pk]).count() == 1

    if connection.vendor == "postgresql":  # the task row is part of the storing statement
        real_task_row = ingest.task_row

        def broken_task_row(task, **kwargs):
            row = real_task_row(task, **kwargs)
            values = list(row.values)
            values[row.columns.index(connection.ops.quote_name("priority"))] = 10**6  # refused
            return type(row)(row.table, row.columns, values, row.arguments_column)

        monkeypatch.setattr(ingest, "task_row", broken_task_row)
    else:  # the task row is written after it, in the same transaction

        def broken_queueing(message_id, run_after=None):
            raise RuntimeError("the task row could not be written")

        monkeypatch.setattr(ingest, "queue_processing", broken_queueing)
    client = Client(raise_request_exception=False)
    body = body_of(msg(link, "a-3"))
    response = post_push(client, body, app_key=link.app_key, secret=link.app_secret)
    assert response.status_code == 500
    assert not InboundMessage.objects.filter(msg_id="a-3").exists()
    ingest.forget_remembered_links()


def _signed(link, msg_id):
    body = body_of(msg(link, msg_id))
    from .support import sign

    return body, {"app-id": link.app_key, "event-sign": sign(link.app_key, body, link.app_secret)}


def _wait_for(condition, what):
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.005)  # other threads' progress, not a timer under test


def _receive_together(link, msg_ids):
    """Each push from its own thread while a commit is in progress: they all queue behind
    it. Returns each push's answer (or error) and whether its message was visible to another
    connection the moment it was answered."""
    answers, seen = {}, {}

    def receive(msg_id):
        body, headers = _signed(link, msg_id)
        try:
            answers[msg_id] = ingest.receive_push(body=body, headers=headers).status
            seen[msg_id] = InboundMessage.objects.filter(msg_id=msg_id).exists()
        except Exception as exc:
            answers[msg_id] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=receive, args=(m,)) for m in msg_ids]
    with ingest._GROUP_COMMIT._leader:  # a commit in progress
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(ingest._GROUP_COMMIT._queued) == len(msg_ids), "the pushes")
    for thread in threads:
        thread.join(timeout=30)
    return answers, seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r13_1_pushes_arriving_together_are_committed_together_each_answered_after_it(
    shop_a, fast, database_tasks, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections need a server database")
    ingest.forget_remembered_links()
    link = factories.link(shop_a, app_key="app-group", secret="group-secret")
    writes = []
    real_write = ingest._write_push

    def recording_write(push, *, alone):
        writes.append((threading.get_ident(), alone, len(push.messages)))
        real_write(push, alone=alone)

    monkeypatch.setattr(ingest, "_write_push", recording_write)
    answers, seen = _receive_together(link, [f"g-{n}" for n in range(5)])

    assert answers == {f"g-{n}": 200 for n in range(5)}
    assert seen == {f"g-{n}": True for n in range(5)}  # committed before the answer
    assert len(writes) == 5 and {alone for _, alone, _ in writes} == {False}
    assert len({thread for thread, _, _ in writes}) == 1  # one leader wrote them all
    assert DBTaskResult.objects.count() == 5
    ingest.forget_remembered_links()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r13_1_a_push_failing_in_a_group_fails_alone_the_others_are_stored(
    shop_a, fast, database_tasks, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections need a server database")
    ingest.forget_remembered_links()
    link = factories.link(shop_a, app_key="app-group-bad", secret="group-secret")
    real_store = ingest._store_message

    def failing_store(message, *args, **kwargs):
        if message.msg_id == "b-2":
            raise RuntimeError("this one cannot be written")
        return real_store(message, *args, **kwargs)

    monkeypatch.setattr(ingest, "_store_message", failing_store)
    answers, seen = _receive_together(link, [f"b-{n}" for n in range(4)])

    assert isinstance(answers.pop("b-2"), RuntimeError)
    assert answers == {"b-0": 200, "b-1": 200, "b-3": 200}
    assert seen == {"b-0": True, "b-1": True, "b-3": True}
    assert set(InboundMessage.objects.values_list("msg_id", flat=True)) == {"b-0", "b-1", "b-3"}
    assert DBTaskResult.objects.count() == 3
    ingest.forget_remembered_links()
