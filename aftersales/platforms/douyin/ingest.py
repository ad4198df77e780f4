"""What comes from the platform: pushes stored before they are answered, then applied.

A push is only a hint that an after-sale changed. Processing reads `afterSale/Detail` (the
truth), keeps it beside the case (`DouyinAftersale`, ordered by the platform's update_time so
an older Detail never overwrites a newer one), opens the case the first time (after
`order/orderDetail` when the order is new) and lets the policy triage it, then moves the local
case forward through the case services until it agrees with the platform (`converge`).
Redeliveries, duplicates and pushes out of order are therefore harmless: they all lead to the
same Detail and the same services, which refuse what was already done.

Changes applied here are made by the platform actor, so nothing is echoed back to the
platform (see `outbox.enqueue_operations_for_event`). A new case is settled like every
arrival (`intake.services.settle_case`: the policy's triage, then a person on duty).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from aftersales.cases.choices import (
    TERMINAL_STATUSES,
    CaseStatus,
    CaseType,
    ExecutionStatus,
    ReturnStatus,
)
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.transitions import (
    can_reject,
    can_reopen,
    can_settle_with_refund,
    can_withdraw,
)
from aftersales.catalog.models import Product, Sku
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.core.text import escape_nul, storable
from aftersales.intake.services import settle_case
from aftersales.orders.choices import OrderChannel, OrderStatus, ShipmentKind, ShipmentStatus
from aftersales.orders.models import Buyer, Order, OrderItem
from aftersales.platforms.refused import Kept, keep_refused

from .choices import MessageStatus, OperationKind, OperationStatus
from .client import DouyinClient, call_logs_written_together, side_by_side
from .mapping import (
    ORDER_STATUS_RANK,
    PLATFORM_REFUNDED,
    PLATFORM_REFUNDING,
    PLATFORM_SIDE_REJECT_REASON,
    PLATFORM_TYPE_TO_CASE_TYPE,
    STATUS_LABELS,
    PlatformStatus,
    category_for,
    dispute_status_for,
    from_unix,
    is_aftersale_tag,
    order_status_for,
    reason_for,
)
from .models import DouyinAftersale, DouyinShopLink, InboundMessage, OutboxOperation
from .outbox import has_operations_in_flight, quiet_notifications, shop_links_kept_for_the_batch
from .queueing import (
    TaskRow,
    concrete_fields,
    enqueue_with_the_change,
    retire_taken_along,
    task_row,
    writes_task_rows,
)
from .signing import push_signature_valid

logger = logging.getLogger(__name__)

PLATFORM = Actor.platform("douyin")
KEPT_HEADERS = ("app-id", "event-sign", "content-type", "content-length", "user-agent")


# --- Receiving -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushAnswer:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class PushMessage:
    tag: str
    msg_id: str
    data: dict[str, Any]
    raw: str


class MalformedPush(ValueError):
    pass


def receive_push(*, body: bytes, headers: Mapping[str, str], source: str = "") -> PushAnswer:
    """Verify, store and acknowledge one push POST (the webhook view's whole job).

    Bad or unknown signature → 401, kept as `bad_signature`, nothing applied. Unreadable →
    400, kept as `malformed`. Otherwise every message is stored (a `msg_id` seen before is
    counted, not stored or processed again) with the task that will process it, committed
    before the answer (`_store_messages`).

    The shop links are remembered per process (`_remembered_links`) and checked again by the
    very statement that stores each message: a link whose secret, shop id or activity changed
    since stores nothing, and the push is verified again from freshly read links. Anything
    the remembered links cannot settle — no signature matches, a message names a shop they do
    not know, an unreadable body — is decided from freshly read links too, so a remembered
    link never refuses or misroutes a push that today's links would accept.
    """
    now = timezone.now()
    app_key = storable(headers.get("app-id", "").strip())
    signature = headers.get("event-sign", "")
    kept = {
        name: storable(headers.get(name, "")[:512]) for name in KEPT_HEADERS if headers.get(name)
    }
    remembered = _remembered_links(app_key)
    if remembered:
        verified = _verified_links(remembered, app_key, body, signature)
        messages = _parse_or_none(body) if verified else None
        if messages is not None:
            targets = [_link_for_message(verified, message) for message in messages]
            if all(target is not None for target in targets) and _store_messages(
                messages, targets, app_key=app_key, kept=kept, now=now
            ):
                return PushAnswer(200, {"code": 0, "msg": "success"})
    for _attempt in range(2):
        links = _read_links(app_key)
        verified = _verified_links(links, app_key, body, signature)
        if not verified:
            reason = "signature does not match" if links else "unknown app-id"
            text = _storable_body(body)
            _keep_refused(body, text, kept, app_key=app_key, reason=reason, source=source, now=now)
            logger.warning("douyin push refused (401): %s; app-id=%r", reason, app_key[:64])
            return PushAnswer(401, {"code": 40003, "msg": "invalid signature"})
        try:
            messages = parse_push(body)
        except MalformedPush as exc:
            InboundMessage.objects.create(
                link=verified[0] if len(verified) == 1 else None,
                app_key=app_key,
                body=_storable_body(body),
                headers=kept,
                status=MessageStatus.MALFORMED,
                error=str(exc)[:2000],
                received_at=now,
            )
            logger.warning("douyin push refused (400): %s", exc)
            return PushAnswer(400, {"code": 40004, "msg": f"malformed push: {exc}"})
        targets = [_link_for_message(verified, message) for message in messages]
        if _store_messages(messages, targets, app_key=app_key, kept=kept, now=now):
            return PushAnswer(200, {"code": 0, "msg": "success"})
    # A link changed between reading it and storing, twice over: nothing was stored, and the
    # platform delivers an unanswered push again.
    logger.warning("douyin push not stored (503): the shop link of app-id=%r changing", app_key)
    return PushAnswer(503, {"code": 50001, "msg": "shop link changing, push again"})


def _storable_body(body: bytes) -> str:
    # PostgreSQL stores no NUL: the body is kept with each NUL escaped (`\u0000`, what it
    # means in JSON), its messages' data with NUL replaced (`core.text`) — never refused.
    return escape_nul(body.decode("utf-8", errors="replace"))


def _verified_links(
    links: list[DouyinShopLink], app_key: str, body: bytes, signature: str
) -> list[DouyinShopLink]:
    return [
        link
        for link in links
        if push_signature_valid(
            app_key=app_key, body=body, secret=link.secret(), signature=signature
        )
    ]


def _parse_or_none(body: bytes) -> list[PushMessage] | None:
    try:
        return parse_push(body)
    except MalformedPush:
        return None  # decided, and kept, from freshly read links


# The active links of each app, as last read by this process (app_key → links). Only read
# through `_remembered_links` and only trusted through the storing statement's check, so it
# needs no expiry; it is bounded, so that many apps cannot grow it without limit.
_LINKS_BY_APP: dict[str, list[DouyinShopLink]] = {}
_LINKS_REMEMBERED_AT_MOST = 4096


def _remembered_links(app_key: str) -> list[DouyinShopLink]:
    return _LINKS_BY_APP.get(app_key, []) if app_key else []


def _read_links(app_key: str) -> list[DouyinShopLink]:
    """The app's active links, read now, and remembered for the next push (or forgotten
    when it has none: an unknown app-id is never remembered)."""
    links = list(DouyinShopLink.objects.filter(app_key=app_key, is_active=True)) if app_key else []
    if links:
        if len(_LINKS_BY_APP) >= _LINKS_REMEMBERED_AT_MOST:
            _LINKS_BY_APP.clear()
        _LINKS_BY_APP[app_key] = links
    else:
        _LINKS_BY_APP.pop(app_key, None)
    return links


def forget_remembered_links() -> None:
    """Forget every remembered link (tests; a process is otherwise right without it)."""
    _LINKS_BY_APP.clear()


class _LinkChanged(Exception):
    """The link a message was verified with is no longer as it was read."""


def _store_messages(
    messages: list[PushMessage],
    targets: list[DouyinShopLink | None],
    *,
    app_key: str,
    kept: dict[str, str],
    now: datetime,
) -> bool:
    """Store every message with its processing queued, committed before this returns, all
    or nothing; False (nothing stored) when a message's link changed since it was read.

    Pushes arriving together in one server process are committed together (`_GroupCommit`):
    one commit, one flush of the database's log, for all of them.
    """
    push = _Push(messages, targets, app_key=app_key, kept=kept, now=now)
    if connection.in_atomic_block:
        # Inside a caller's transaction nothing is committed here: never answer for others.
        _write_push(push, alone=True)
    else:
        _GROUP_COMMIT.store(push)
    if push.error is not None:
        raise push.error
    if not push.stored:
        _LINKS_BY_APP.pop(app_key, None)
    return bool(push.stored)


@dataclass(eq=False)
class _Push:
    messages: list[PushMessage]
    targets: list[DouyinShopLink | None]
    app_key: str
    kept: dict[str, str]
    now: datetime
    stored: bool | None = None  # False: a link changed, nothing of it stored
    error: BaseException | None = None
    done: bool = False


class _GroupCommit:
    """Group commit of the pushes a server process receives at once.

    Each request thread queues its push, then takes the leader's lock. The one holding it
    writes every push queued so far in one transaction, with its own database connection,
    and commits; the threads whose push it committed find theirs done when they get the lock
    in turn and answer at once. A push is answered only after the commit that stored it, so
    nothing is acknowledged before it is stored; what arrived meanwhile is the next
    leader's batch. A batch that fails is written again push by push, so that one bad push
    fails alone. On SQLite it also keeps a process's threads from waiting on the database's
    write lock, whose busy handler sleeps.
    """

    def __init__(self) -> None:
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued: list[_Push] = []

    def store(self, push: _Push) -> None:
        with self._queue_lock:
            self._queued.append(push)
        with self._leader:
            if push.done:
                return
            with self._queue_lock:
                batch, self._queued = self._queued, []
            if len(batch) == 1:
                _write_push(batch[0], alone=True)
                return
            try:
                with transaction.atomic():
                    for queued in batch:
                        _write_push(queued, alone=False)
            except Exception:
                for queued in batch:
                    _write_push(queued, alone=True)
                return
            for queued in batch:
                queued.done = True


_GROUP_COMMIT = _GroupCommit()


def _write_push(push: _Push, *, alone: bool) -> None:
    """Write one push's messages and their tasks. `alone`: in a transaction of its own (or
    one statement), its outcome recorded on it; else inside the batch's transaction (in a
    savepoint when it has several messages), an error left to the batch.

    On PostgreSQL with the database task backend a message is one statement: the message
    inserted, or its `deliveries` counted when the `msg_id` is known (`ON CONFLICT`), and its
    task row inserted by the same statement when it is new — so a one-message push alone,
    the usual one, is one round trip and one commit, in autocommit. Elsewhere (SQLite,
    another task backend) the task is queued as `queue_processing` does, in the same
    transaction.
    """
    from .tasks import process_message_task

    in_statement = connection.vendor == "postgresql" and writes_task_rows(process_message_task)
    one_statement = in_statement and len(push.messages) == 1
    scope = contextlib.nullcontext() if one_statement else transaction.atomic()
    try:
        with scope:
            for message, link in zip(push.messages, push.targets, strict=True):
                task = _processing_task_row() if in_statement else None
                stored = _store_message(
                    message, link, app_key=push.app_key, kept=push.kept, now=push.now, task=task
                )
                if stored is None:
                    raise _LinkChanged
                message_id, deliveries = stored
                # A redelivery (deliveries > 1): acknowledged again, never applied again.
                if deliveries == 1 and task is None:
                    queue_processing(message_id)
        push.stored = True
    except _LinkChanged:
        push.stored = False
    except Exception as exc:
        if not alone:
            raise
        push.error = exc
    if alone:
        push.done = True


def _processing_task_row() -> TaskRow | None:
    from .tasks import process_message_task

    return task_row(process_message_task)


def _store_message(
    message: PushMessage,
    link: DouyinShopLink | None,
    *,
    app_key: str,
    kept: dict[str, str],
    now: datetime,
    task: TaskRow | None,
) -> tuple[int, int] | None:
    """One statement: insert the message — only while its link is still as it was read —
    or count a redelivery; with `task`, insert the task row too when the message is new.
    Returns (message id, deliveries so far: 1 when new), or None when the link changed."""
    values = (
        link.pk if link is not None else None,
        app_key,
        message.msg_id,
        message.tag,
        message.raw,
        kept,
        message.data,
        str(message.data.get("aftersale_id", ""))[:64],
        MessageStatus.RECEIVED,
        "",
        0,
        1,
        now,
    )
    fields = _stored_fields()
    params: list[Any] = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values, strict=True)
    ]
    if link is not None:
        params += [link.pk, link.app_key, link.platform_shop_id, link.app_secret]
    sql = _storing_statement(
        connection.vendor,
        link is not None,
        None if task is None else (task.table, tuple(task.columns), task.arguments_column),
    )
    if task is not None:
        params += task.values
    row = _fetch_one_prepared(sql, params)
    return (row[0], row[1]) if row is not None else None


def _fetch_one_prepared(sql: str, params: list[Any]) -> Any:
    """Run the storing statement, on PostgreSQL as a prepared statement of the connection.

    Parsing and planning the statement (a data-modifying `WITH` of two inserts) cost
    PostgreSQL about five times what executing it does (pgbench on this machine: about 1 ms
    per statement sent as text against 0.2-0.3 ms prepared, docs/benchmarks.md), and client-side
    binding writes every parameter into the text in Python. So this one statement is bound
    on the server and prepared once per connection (psycopg keeps its name; a connection
    lasts `CONN_MAX_AGE`). Django turns psycopg's automatic preparing off for every other
    statement, for the sake of connection poolers; the documented setup has none
    (docs/architecture.md, "The web server"), and an installation behind a pooler that
    cannot keep prepared statements says so with `OPTIONS={"prepare_threshold": None}`,
    which this respects. Only this statement is prepared: the threshold is 0 just while it
    runs, on a cursor of its own (client-side cursors never prepare).
    """
    options = connection.settings_dict.get("OPTIONS") or {}
    if connection.vendor != "postgresql" or (
        "prepare_threshold" in options and options["prepare_threshold"] is None
    ):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    threshold = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        cursor = _prepared_cursor_class()(raw)
        wrapped = (
            connection.make_debug_cursor(cursor)
            if connection.queries_logged
            else connection.make_cursor(cursor)
        )
        with wrapped:
            wrapped.execute(sql, params)
            return wrapped.fetchone()
    finally:
        raw.prepare_threshold = threshold


_STORED_COLUMNS = (
    "link",
    "app_key",
    "msg_id",
    "tag",
    "body",
    "headers",
    "data",
    "aftersale_id",
    "status",
    "error",
    "attempts",
    "deliveries",
    "received_at",
)


@functools.cache
def _stored_fields() -> list[Any]:
    return concrete_fields(InboundMessage, _STORED_COLUMNS)


@functools.cache
def _storing_statement(
    vendor: str, with_link: bool, task: tuple[str, tuple[str, ...], str] | None
) -> str:
    """The storing statement's text, written once per shape (a process serves one or two):
    its parameters are the stored columns in `_STORED_COLUMNS`' order, then the link's
    id, app key, shop id and secret (`with_link`), then the task row's values."""
    quote = connection.ops.quote_name
    table = quote(InboundMessage._meta.db_table)
    columns = ", ".join(quote(field.column) for field in _stored_fields())
    placeholders = ", ".join(["%s"] * len(_STORED_COLUMNS))
    # `WHERE` is required by SQLite's parser before `ON CONFLICT` in `INSERT … SELECT`.
    condition = "1 = 1"
    if with_link:
        link_table = quote(DouyinShopLink._meta.db_table)
        condition = (
            f"EXISTS (SELECT 1 FROM {link_table} WHERE {quote('id')} = %s"
            f" AND {quote('app_key')} = %s AND {quote('platform_shop_id')} = %s"
            f" AND {quote('app_secret')} = %s AND {quote('is_active')})"
        )
    deliveries = quote("deliveries")
    insert = (
        f"INSERT INTO {table} ({columns}) SELECT {placeholders} WHERE {condition}"
        f" ON CONFLICT ({quote('app_key')}, {quote('msg_id')})"
        f" WHERE {quote('msg_id')} IS NOT NULL"
        f" DO UPDATE SET {deliveries} = {table}.{deliveries} + 1"
        f" RETURNING {quote('id')}, {deliveries}"
    )
    if task is None:
        return insert
    task_table, task_columns, arguments_column = task
    task_placeholders = ", ".join(["%s"] * len(task_columns))
    return (
        f"WITH stored AS ({insert}), queued AS ("
        f"INSERT INTO {task_table} ({', '.join(task_columns)}, {arguments_column})"
        f" SELECT {task_placeholders},"
        f" jsonb_build_object('args', jsonb_build_array(stored.id), 'kwargs', '{{}}'::jsonb)"
        f" FROM stored WHERE stored.{deliveries} = 1)"
        f" SELECT {quote('id')}, {deliveries} FROM stored"
    )


@functools.cache
def _prepared_cursor_class() -> type:
    import psycopg

    class PreparedCursor(psycopg.Cursor[Any]):
        """A server-side binding cursor that remembers its last query as a client-side one
        does, so that Django's query log (DEBUG, the tests' query counts) shows its text."""

        def _convert_query(self, query: Any, params: Any = None) -> Any:
            self._query = super()._convert_query(query, params)
            return self._query

    return PreparedCursor


def _keep_refused(
    body: bytes,
    text: str,
    kept: dict[str, str],
    *,
    app_key: str,
    reason: str,
    source: str,
    now: datetime,
) -> InboundMessage | None:
    """A bounded record of a push nobody signed (issue 15): the first
    `DOUYIN_REFUSED_BODY_KEPT_BYTES` of the body with its size and SHA-256, and at most
    `DOUYIN_REFUSED_PER_MINUTE` such records a minute per source address — beyond that the
    refusal is only logged (`platforms.refused`, shared with the tracking push receiver). An
    unauthenticated caller cannot grow the inbox without limit."""
    recent = InboundMessage.objects.filter(
        status=MessageStatus.BAD_SIGNATURE,
        received_at__gte=now - timedelta(minutes=1),
        headers__source=source,
    )

    def store(kept_body: Kept) -> InboundMessage:
        return InboundMessage.objects.create(
            app_key=storable(app_key[:64]),
            body=kept_body.body,
            headers=kept | {"source": source[:64]},
            status=MessageStatus.BAD_SIGNATURE,
            error=kept_body.summary,
            received_at=now,
        )

    return keep_refused(
        body=body,
        reason=reason,
        recent=recent,
        limit=settings.DOUYIN_REFUSED_PER_MINUTE,
        cap=settings.DOUYIN_REFUSED_BODY_KEPT_BYTES,
        store=store,
        label="douyin",
        source=source,
        whole=text,
    )


def parse_push(body: bytes) -> list[PushMessage]:
    """`[{"tag": "200", "msg_id": "…", "data": "<JSON string>"}, …]`, all or nothing."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPush(f"not JSON: {exc}") from exc
    if not isinstance(envelope, list) or not envelope:
        raise MalformedPush("expected a non-empty JSON array of messages")
    messages = []
    for index, item in enumerate(envelope):
        if not isinstance(item, dict):
            raise MalformedPush(f"message {index} is not an object")
        tag, msg_id, data = item.get("tag"), item.get("msg_id"), item.get("data")
        if not isinstance(tag, str | int) or str(tag) == "":
            raise MalformedPush(f"message {index} has no tag")
        if not isinstance(msg_id, str | int) or not str(msg_id) or len(str(msg_id)) > 128:
            raise MalformedPush(f"message {index} has no valid msg_id")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise MalformedPush(f"message {index}: data is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MalformedPush(f"message {index}: data is not a JSON object")
        # The raw message keeps a NUL as its JSON escape; the data to apply has none.
        raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        messages.append(PushMessage(storable(str(tag)), storable(str(msg_id)), storable(data), raw))
    return messages


def _link_for_message(links: list[DouyinShopLink], message: PushMessage) -> DouyinShopLink | None:
    """The shop the message is about. One Douyin app can serve shops this installation does
    not know: a message naming another shop must never be applied to one of ours, so it is
    kept without a link (visible, never applied)."""
    shop_id = str(message.data.get("shop_id", "") or "")
    for link in links:
        if link.platform_shop_id == shop_id:
            return link
    if not shop_id and len(links) == 1:
        return links[0]
    return None


def queue_processing(message_id: int, run_after: datetime | None = None) -> None:
    """Queue the message's processing with the transaction that stored it (see queueing)."""
    from .tasks import process_message_task

    enqueue_with_the_change(process_message_task, message_id, run_after=run_after)


def enqueue_processing(message_id: int, run_after: datetime | None = None) -> None:
    """Queue processing now (outside a transaction: retries, the sweep)."""
    from .tasks import process_message_task

    task = process_message_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # the sweep picks it up
        task = task.using(run_after=run_after)
    task.enqueue(message_id)


# --- Processing ------------------------------------------------------------------------------


def process_message(message_id: int) -> InboundMessage:
    """Apply one stored message. Claimed first, so two workers never apply it together."""
    process_inbox(message_id, limit=1)
    return InboundMessage.objects.get(pk=message_id)


def process_inbox(first_id: int | None = None, *, limit: int | None = None) -> list[int]:
    """Apply a batch of stored messages: `first_id` (received, or failed and due again) and
    up to `limit` − 1 others waiting to be applied, oldest first. Returns the ids claimed.

    What arrives together is applied together (issue 16): the messages about one after-sale
    cost one Detail read and one pass through the case services, whatever their number or
    order (Detail is the truth, pushes are hints); one client per shop serves the batch.
    Each after-sale is applied on its own, so one that fails (a poisoned message, a platform
    outage for one call) is marked failed and retried alone, and the others are applied.
    A worker that dies mid-batch leaves its messages `processing`: the safety net
    (`sync.run_safety_net`) gives them back after the lease, and applying again is harmless.
    """
    limit = settings.DOUYIN_INBOUND_BATCH if limit is None else limit
    messages = claim_messages(first_id, limit=max(limit, 1))
    if messages:
        with call_logs_written_together(), shop_links_kept_for_the_batch():
            _apply_claimed(messages)
    return [message.pk for message in messages]


def claim_messages(first_id: int | None, *, limit: int) -> list[InboundMessage]:
    """Take up to `limit` messages for this worker alone (status → processing).

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows
    without waiting for each other, then one UPDATE. SQLite (the demo; one writer at a time):
    a conditional update per row, so a row another worker took meanwhile is left to it.
    """
    now = timezone.now()
    retryable = [MessageStatus.RECEIVED, MessageStatus.FAILED]
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        waiting = InboundMessage.objects.select_for_update(skip_locked=True)
        ids: list[int] = []
        if first_id is not None:
            ids = list(
                waiting.filter(pk=first_id, status__in=retryable).values_list("pk", flat=True)
            )
        if limit > len(ids):
            ids += list(
                waiting.filter(status=MessageStatus.RECEIVED)
                .exclude(pk__in=ids)
                .order_by("pk")
                .values_list("pk", flat=True)[: limit - len(ids)]
            )
        if not ids:
            return []
        claim = {"status": MessageStatus.PROCESSING, "attempts": F("attempts") + 1}
        if postgres:
            # The rows are locked by this transaction: nobody else can have claimed them.
            InboundMessage.objects.filter(pk__in=ids).update(**claim, claimed_at=now)
            claimed = ids
        else:
            claimed = [
                pk
                for pk in ids
                if InboundMessage.objects.filter(pk=pk, status__in=retryable).update(
                    **claim, claimed_at=now
                )
            ]
        # Their waiting tasks are done with the claim: not run later only to find it taken.
        from .tasks import process_message_task

        retire_taken_along(process_message_task, claimed)
    return list(InboundMessage.objects.filter(pk__in=claimed).select_related("link").order_by("pk"))


def _apply_claimed(messages: list[InboundMessage]) -> None:
    now = timezone.now()
    applied: list[int] = []
    by_aftersale: dict[tuple[int, str], list[InboundMessage]] = {}
    for message in messages:
        if message.link is None:
            shop_id = (message.data or {}).get("shop_id")
            error = f"no linked shop for platform shop id {shop_id!r}"
            InboundMessage.objects.filter(pk=message.pk).update(
                status=MessageStatus.FAILED, error=error
            )
            logger.warning(
                "douyin message %s (tag %s) not applied: %s", message.msg_id, message.tag, error
            )
        elif message.aftersale_id and is_aftersale_tag(message.tag):
            by_aftersale.setdefault((message.link.pk, message.aftersale_id), []).append(message)
        else:
            applied.append(message.pk)
    clients: dict[int, DouyinClient] = {}
    for (link_pk, _), group in by_aftersale.items():
        link = group[0].link
        assert link is not None
        clients.setdefault(link_pk, DouyinClient(link))
    details = _read_details(list(by_aftersale), clients)
    for (link_pk, aftersale_id), group in by_aftersale.items():
        link = group[0].link
        assert link is not None
        # The hints in arrival order, the later winning (only what Detail lacks is read).
        hint: dict[str, Any] = {}
        for message in group:
            hint.update(message.data or {})
        try:
            detail = details.get((link_pk, aftersale_id))
            if isinstance(detail, Exception):
                raise detail
            sync_aftersale(link, aftersale_id, detail=detail, hint=hint, client=clients[link_pk])
        except Exception as exc:
            _failed(group, f"{type(exc).__name__}: {exc}", now=now)
        else:
            applied.extend(message.pk for message in group)
    if applied:
        InboundMessage.objects.filter(pk__in=applied).update(
            status=MessageStatus.PROCESSED, error="", processed_at=timezone.now()
        )


def _read_details(
    keys: list[tuple[int, str]], clients: dict[int, DouyinClient]
) -> dict[tuple[int, str], dict[str, Any] | Exception]:
    """The batch's Details, read side by side (`client.side_by_side`, issue 16): each
    after-sale's Detail or the exception its read raised (that after-sale fails alone, as
    when it is read in `sync_aftersale`). The shops' tokens are made valid here first, so the
    threads only call; a shop whose token cannot be had is left out (`sync_aftersale` reads
    its Details itself, and says why). Read before the batch applies anything: a Detail
    is at most the batch's few seconds older than one read just before it is applied, and
    a push that arrives meanwhile is applied by its own message (Detail is the truth)."""
    usable: set[int] = set()
    for link_pk, client in clients.items():
        try:
            client.ensure_token()
        except Exception:
            continue
        usable.add(link_pk)
    wanted = [key for key in keys if key[0] in usable]

    def read(link_pk: int, aftersale_id: str) -> dict[str, Any]:
        # A client of its own per read: the link (and its token) is shared, nothing else.
        client = DouyinClient(clients[link_pk].link)
        return client.call("afterSale/Detail", {"after_sale_id": str(aftersale_id)}).data

    answers = side_by_side([partial(read, *key) for key in wanted])
    return dict(zip(wanted, answers, strict=True))


def _failed(group: list[InboundMessage], error: str, *, now: datetime) -> None:
    InboundMessage.objects.filter(pk__in=[m.pk for m in group]).update(
        status=MessageStatus.FAILED, error=error[:2000]
    )
    for message in group:
        logger.warning("douyin message %s (tag %s) failed: %s", message.msg_id, message.tag, error)
        # `attempts` counts this one (the claim added it).
        if message.attempts < settings.DOUYIN_INBOUND_MAX_ATTEMPTS:
            retry_at = now + timedelta(seconds=min(600, 5 * 2 ** min(message.attempts, 7)))
            enqueue_processing(message.pk, run_after=retry_at)


@dataclass(frozen=True)
class Snapshot:
    """The parts of a Detail the product uses."""

    aftersale_id: str
    order_id: str
    status: int
    type: int
    refund_status: int
    refund_amount: int
    refund_post_amount: int
    reason_code: int
    buyer_statement: str
    apply_time: datetime | None
    update_time: int
    status_deadline: datetime | None
    arbitrate_status: int | None
    arbitrate_conclusion: int | None
    return_parcel: dict[str, Any]
    outgoing_parcel: dict[str, Any]
    items: list[dict[str, Any]]

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> Snapshot:
        process = detail.get("process_info") or {}
        info = process.get("after_sale_info") or {}
        arbitrate = process.get("arbitrate_info") or {}
        logistics = process.get("logistics_info") or {}
        order = detail.get("order_info") or {}
        outgoing = logistics.get("exchange") or logistics.get("resend") or {}
        return cls(
            aftersale_id=str(info["after_sale_id"]),
            order_id=str(order.get("order_id", "")),
            status=int(info["after_sale_status"]),
            type=int(info.get("after_sale_type", 0)),
            refund_status=int(info.get("refund_status") or 0),
            refund_amount=int(info.get("refund_amount") or 0),
            refund_post_amount=int(info.get("refund_post_amount") or 0),
            reason_code=int(info.get("reason_code") or 99),
            buyer_statement=str(info.get("buyer_statement") or ""),
            apply_time=from_unix(info.get("apply_time")),
            update_time=int(info.get("update_time") or 0),
            status_deadline=from_unix(info.get("status_deadline")),
            arbitrate_status=_optional_int(arbitrate.get("arbitrate_status")),
            arbitrate_conclusion=_optional_int(arbitrate.get("arbitrate_conclusion")),
            return_parcel=logistics.get("return") or {},
            outgoing_parcel=outgoing if isinstance(outgoing, dict) else {},
            items=list(order.get("sku_order_infos") or []),
        )


def _optional_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def sync_aftersale(
    link: DouyinShopLink,
    aftersale_id: str,
    *,
    detail: dict[str, Any] | None = None,
    hint: dict[str, Any] | None = None,
    client: DouyinClient | None = None,
) -> Case | None:
    """Bring one after-sale's case in line with the platform: the heart of ingestion.

    `detail` is given by the list-based sync (List items have Detail's shape); otherwise
    Detail is read. `hint` is the push's data, used only for what Detail does not carry
    (the arbitration conclusion of tag 216).
    """
    client = client or DouyinClient(link)
    if detail is None:
        detail = client.call("afterSale/Detail", {"after_sale_id": str(aftersale_id)}).data
    record = store_snapshot(link, detail, hint=hint)
    snapshot = Snapshot.from_detail(record.detail)
    max_age = settings.DOUYIN_NOTIFY_MAX_AGE_SECONDS
    if snapshot.update_time and snapshot.update_time < time.time() - max_age:
        with quiet_notifications():
            return _apply(link, client, record, snapshot)
    return _apply(link, client, record, snapshot)


def _apply(
    link: DouyinShopLink, client: DouyinClient, record: DouyinAftersale, snapshot: Snapshot
) -> Case:
    case = Case.objects.filter(shop_id=link.shop_id, platform_case_id=record.aftersale_id).first()
    if case is None:
        case = open_from_platform(link, client, snapshot)
    elif record.case_id is None:
        link_case(record, case)
    converge(case)
    # The same arrival as every new case (R3.1, R9.2): the policy's decision once, while the
    # platform waits for the merchant, then a person on duty for what it could not finish.
    return settle_case(
        Case.objects.get(pk=case.pk),
        by=PLATFORM,
        triage=snapshot.status == PlatformStatus.AWAITING_MERCHANT,
    )


def link_case(record: DouyinAftersale, case: Case) -> None:
    """The after-sale's case, and the platform's deadline it carries for the queue (issue 16),
    in one transaction."""
    from aftersales.cases.services import set_platform_deadline

    with transaction.atomic():
        DouyinAftersale.objects.filter(pk=record.pk).update(case=case)
        record.case = case
        set_platform_deadline(case.pk, record.status_deadline)


def store_snapshot(
    link: DouyinShopLink, detail: dict[str, Any], *, hint: dict[str, Any] | None = None
) -> DouyinAftersale:
    """Keep the newest Detail per after-sale; an older one (an out-of-order read) is ignored.
    The platform's deadline goes onto the after-sale's case in the same transaction."""
    from aftersales.cases.services import set_platform_deadline

    snapshot = Snapshot.from_detail(detail)
    if hint and hint.get("arbitrate_conclusion") not in (None, ""):
        detail = json.loads(json.dumps(detail))
        arbitrate = detail.setdefault("process_info", {}).setdefault("arbitrate_info", {})
        arbitrate.setdefault("arbitrate_conclusion", int(hint["arbitrate_conclusion"]))
        snapshot = Snapshot.from_detail(detail)
    fields = {
        "order_id": snapshot.order_id,
        "platform_status": snapshot.status,
        "refund_status": snapshot.refund_status,
        "arbitrate_status": snapshot.arbitrate_status,
        "update_time": snapshot.update_time,
        "status_deadline": snapshot.status_deadline,
        "detail": detail,
        "synced_at": timezone.now(),
    }
    for _ in range(2):
        try:
            with transaction.atomic():
                record = (
                    DouyinAftersale.objects.select_for_update()
                    .filter(link=link, aftersale_id=snapshot.aftersale_id)
                    .first()
                )
                if record is None:
                    return DouyinAftersale.objects.create(
                        link=link, aftersale_id=snapshot.aftersale_id, **fields
                    )
                if snapshot.update_time < record.update_time:
                    return record
                if record.platform_status != snapshot.status:
                    fields["previous_status"] = record.platform_status
                for name, value in fields.items():
                    setattr(record, name, value)
                record.save(update_fields=list(fields))
                if record.case_id is not None:
                    set_platform_deadline(record.case_id, record.status_deadline)
                return record
        except IntegrityError:
            continue  # created by a concurrent processor: read it under the lock
    raise RuntimeError(f"could not store after-sale {snapshot.aftersale_id}")


def open_from_platform(link: DouyinShopLink, client: DouyinClient, snapshot: Snapshot) -> Case:
    """Open the case for a new after-sale: the order first (orderDetail), then `open_case`
    (the buyer is told by the adapter's reaction to `case_opened`)."""
    from aftersales.cases.services import open_case

    order_detail = client.call("order/orderDetail", {"shop_order_id": snapshot.order_id}).data
    order = upsert_order(link, order_detail.get("shop_order_detail") or order_detail)
    items = _requested_items(order, snapshot)
    case_type = PLATFORM_TYPE_TO_CASE_TYPE[snapshot.type]
    requested = snapshot.refund_amount if case_type in _REFUND_CASE_TYPES else None

    def open_asking(requested_amount_fen: int | None) -> Case:
        return open_case(
            order=order,
            type=case_type,
            reason=reason_for(snapshot.reason_code),
            items=items,
            by=PLATFORM,
            buyer_statement=snapshot.buyer_statement,
            requested_amount_fen=requested_amount_fen,
            platform_case_id=snapshot.aftersale_id,
            applied_at=snapshot.apply_time,
        )

    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    case = open_asking(requested)
            except DomainError:
                if requested is None:
                    raise
                # The platform's amount includes what our rules would not refund (a second
                # shipping fee): open with the refundable amount; the decision is ours anyway.
                case = open_asking(None)
            stored = DouyinAftersale.objects.filter(
                link=link, aftersale_id=snapshot.aftersale_id
            ).first()
            if stored is not None:
                link_case(stored, case)
    except IntegrityError:
        # Another worker opened it a moment ago (the same push, delivered twice).
        return Case.objects.get(shop_id=link.shop_id, platform_case_id=snapshot.aftersale_id)
    logger.info("douyin after-sale %s opened as case %s", snapshot.aftersale_id, case.pk)
    return case


_REFUND_CASE_TYPES = frozenset(
    {CaseType.REFUND_UNSHIPPED, CaseType.REFUND_SHIPPED, CaseType.RETURN_REFUND}
)


def _requested_items(order: Order, snapshot: Snapshot) -> list[Any]:
    from aftersales.cases.services import RequestedItem

    by_platform_id = {item.platform_item_id: item for item in order.items.all()}
    requested = []
    for line in snapshot.items:
        item = by_platform_id.get(str(line.get("sku_order_id", "")))
        quantity = int(line.get("aftersale_item_num") or 0)
        if item is not None and quantity > 0:
            requested.append(RequestedItem(order_item=item, quantity=min(quantity, item.quantity)))
    if not requested:
        requested = [
            RequestedItem(order_item=item, quantity=item.quantity)
            for item in by_platform_id.values()
        ]
    return requested


def channel_of(detail: dict[str, Any]) -> dict[str, str]:
    """Where the order was placed, from its lines: `room_id` (the live room, 0 for none),
    `author_name` (the streamer) and `video_id` (a short video), as orderDetail's
    sku_order_list carries them. A line from a live room makes it a live-room order."""
    lines = list(detail.get("sku_order_list") or [])
    for line in lines:
        room = str(line.get("room_id") or "")
        if room and room != "0":
            return {
                "channel": OrderChannel.LIVE,
                "live_room_id": room[:32],
                "live_author": str(line.get("author_name") or "")[:100],
            }
    if any(str(line.get("video_id") or "") not in ("", "0") for line in lines):
        return {"channel": OrderChannel.VIDEO, "live_room_id": "", "live_author": ""}
    return {"channel": OrderChannel.OTHER if lines else "", "live_room_id": "", "live_author": ""}


def upsert_order(link: DouyinShopLink, detail: dict[str, Any]) -> Order:
    """Create or update the order, its buyer, products, SKUs and items from orderDetail.

    Paid amounts are the platform's, in fen; an existing item's amounts are never rewritten
    (refunds were computed against them). The order's status only moves forward.
    """
    for _ in range(2):
        try:
            with transaction.atomic():
                return _upsert_order(link, detail)
        except IntegrityError:
            continue  # a concurrent upsert created a row first; read it this time
    raise RuntimeError(f"could not store order {detail.get('order_id')}")


def _get_or_create(model: Any, defaults: dict[str, Any], **lookup: Any) -> tuple[Any, bool]:
    """`get_or_create` without its savepoint: the whole upsert is one transaction that is
    tried again when a concurrent one inserted a row first (`upsert_order`), so a conflict
    needs no savepoint of its own — two statements fewer for each new row (issue 16)."""
    found = model.objects.filter(**lookup).first()
    if found is not None:
        return found, False
    return model.objects.create(**lookup, **defaults), True


def _upsert_order(link: DouyinShopLink, detail: dict[str, Any]) -> Order:
    from aftersales.cases.services import set_buyer_vip_level
    from aftersales.orders.services import create_shipment, update_shipment_status
    from aftersales.orders.totals import count_order

    shop_id = link.shop_id
    buyer_info = detail.get("buyer") or {}
    buyer, created = _get_or_create(
        Buyer,
        shop_id=shop_id,
        platform_buyer_id=str(buyer_info.get("open_id") or f"order-{detail['order_id']}"),
        defaults={
            "nickname": str(buyer_info.get("nickname", ""))[:100],
            "phone": str(buyer_info.get("mobile_masked", ""))[:32],
            "vip_level": int(buyer_info.get("vip_level") or 0),
        },
    )
    vip_level = int(buyer_info.get("vip_level") or 0)
    if not created and buyer.vip_level != vip_level:
        # With the VIP flag their cases carry for the queue (issue 16).
        set_buyer_vip_level(buyer, vip_level)

    parcels = list(detail.get("logistics_info") or [])
    signed = [when for p in parcels if (when := from_unix(p.get("sign_time"))) is not None]
    signed_at = max(signed, default=None)
    status = order_status_for(int(detail.get("order_status", 2)), signed_at is not None)
    values = {
        "shipped_at": from_unix(detail.get("ship_time")),
        "delivered_at": signed_at,
        "completed_at": from_unix(detail.get("finish_time")),
    }
    order = (
        Order.objects.select_for_update()
        .filter(shop_id=shop_id, platform_order_id=str(detail["order_id"]))
        .first()
    )
    new_order = order is None
    if order is None:
        order = Order.objects.create(
            shop_id=shop_id,
            buyer=buyer,
            platform_order_id=str(detail["order_id"]),
            status=status,
            paid_at=from_unix(detail.get("pay_time")) or timezone.now(),
            shipping_fee_paid_fen=int(detail.get("post_amount") or 0),
            has_shipping_insurance=bool(detail.get("has_insurance", False)),
            cancelled_at=timezone.now() if status == OrderStatus.CANCELLED else None,
            **values,
            **channel_of(detail),
        )
    elif ORDER_STATUS_RANK[status] > ORDER_STATUS_RANK[order.status]:
        changed = {"status": status} | {k: v for k, v in values.items() if v is not None}
        for name, value in changed.items():
            setattr(order, name, value)
        order.save(update_fields=list(changed))

    new_items: list[OrderItem] = []
    for line in detail.get("sku_order_list") or []:
        product, _ = _get_or_create(
            Product,
            shop_id=shop_id,
            platform_product_id=str(line["product_id"]),
            defaults={
                "name": str(line.get("product_name", ""))[:200] or str(line["product_id"]),
                "category": category_for(line.get("category")),
            },
        )
        quantity = max(int(line.get("item_num") or 1), 1)
        list_price = int(line.get("origin_amount") or line.get("pay_amount") or 0) // quantity
        sku, _ = _get_or_create(
            Sku,
            shop_id=shop_id,
            platform_sku_id=str(line["sku_id"]),
            defaults={
                "product": product,
                "spec": str(line.get("sku_spec", ""))[:100],
                "list_price_fen": list_price,
            },
        )
        item, item_created = _get_or_create(
            OrderItem,
            shop_id=shop_id,
            platform_item_id=str(line["sku_order_id"]),
            defaults={
                "order": order,
                "sku": sku,
                "quantity": quantity,
                "list_price_fen": list_price,
                "paid_amount_fen": int(line.get("pay_amount") or 0),
            },
        )
        if item_created:
            new_items.append(item)
    # The shop's daily order totals, in this transaction (the reports' denominators).
    count_order(order, new_items, new_order=new_order)

    known = set(
        order.shipments.filter(kind=ShipmentKind.OUTBOUND).values_list("tracking_number", flat=True)
    )
    for parcel in parcels:
        tracking = str(parcel.get("tracking_no", ""))
        if not tracking:
            continue
        if tracking not in known:
            create_shipment(
                order=order,
                kind=ShipmentKind.OUTBOUND,
                carrier=str(parcel.get("company_code", "")),
                tracking_number=tracking,
                status=ShipmentStatus.DELIVERED
                if parcel.get("sign_time")
                else ShipmentStatus.IN_TRANSIT,
            )
        elif parcel.get("sign_time"):
            shipment = (
                order.shipments.filter(kind=ShipmentKind.OUTBOUND, tracking_number=tracking)
                .exclude(status=ShipmentStatus.DELIVERED)
                .first()
            )
            if shipment is not None:
                update_shipment_status(shipment=shipment, status=ShipmentStatus.DELIVERED)
    return order


# --- Converging ------------------------------------------------------------------------------


def converge(case: Case, *, max_steps: int = 12) -> list[str]:
    """Move the case forward, one service at a time, until it agrees with the platform.

    Only forward moves the platform has already made are applied, as the platform actor;
    nothing moves while a decision of ours is still on its way to the platform (the product
    is ahead, not behind). Returns the names of the steps taken.
    """
    taken: list[str] = []
    case = Case.objects.get(pk=case.pk)
    # The newest Detail, read once: one stored meanwhile is applied by its own push.
    record = (
        DouyinAftersale.objects.filter(case=case).first()
        or DouyinAftersale.objects.filter(
            link__shop_id=case.shop_id, aftersale_id=case.platform_case_id
        ).first()
    )
    if record is None:
        return taken
    for _ in range(max_steps):
        step = next_step(case, record)
        if step is None:
            break
        name, action = step
        before = _fingerprint(case)
        try:
            action()
        except DomainError as exc:
            logger.info("case %s: platform step %s refused: %s", case.pk, name, exc)
            break
        taken.append(name)
        case = Case.objects.get(pk=case.pk)
        if _fingerprint(case) == before:
            break  # nothing changed (a refund still executing elsewhere): stop here
    return taken


def _fingerprint(case: Case) -> tuple[Any, ...]:
    execution = RefundExecution.objects.filter(decision__case=case).values_list("status", flat=True)
    return (*case.axes().values(), tuple(execution))


def next_step(case: Case, record: DouyinAftersale) -> tuple[str, Callable[[], Any]] | None:
    """The one service call that brings the case a step closer to the platform, or None."""
    from aftersales.cases import services as cs

    snapshot = Snapshot.from_detail(record.detail)
    status = record.platform_status
    dispute = dispute_status_for(snapshot.arbitrate_status, snapshot.arbitrate_conclusion)
    if snapshot.arbitrate_status not in (None, 0) and dispute != case.dispute_status:
        details = dispute_details(record.detail, snapshot)
        return "dispute", lambda: record_platform_dispute(
            case=case, dispute_status=dispute, details=details
        )
    if case.status in TERMINAL_STATUSES:
        return None
    if has_operations_in_flight(case):
        return None
    local = case.status
    label = STATUS_LABELS.get(status, str(status))
    if status == PlatformStatus.CLOSED:
        if can_withdraw(case):
            return "withdraw", lambda: cs.withdraw_case(case=case, by=PLATFORM)
        return _platform_closed_step(case, snapshot, label)
    if status in (PlatformStatus.FIRST_REJECTED, PlatformStatus.SECOND_REJECTED):
        if can_reject(case):
            return "reject", lambda: cs.reject_case(
                case=case,
                reason_code=PLATFORM_SIDE_REJECT_REASON,
                note=f"商家已在抖店平台拒绝（{label}）",
                by=PLATFORM,
            )
        return None
    if status == PlatformStatus.AWAITING_MERCHANT:
        if local == CaseStatus.REJECTED and (
            record.previous_status
            in (PlatformStatus.FIRST_REJECTED, PlatformStatus.SECOND_REJECTED)
            or _rejection_applied_before(case, record)
        ):
            return "reopen", lambda: cs.reopen_case(
                case=case, note="买家修改后重新申请", by=PLATFORM
            )
        return None
    # From here the platform has agreed (7, 8, 11, 12, 13, 14).
    if local == CaseStatus.REJECTED:
        # The platform overruled our rejection (a ruling for the buyer, the back-office): the
        # case follows it through the services, as the disputes app would once its ruling task
        # runs — a task lost with a killed worker must not leave the case behind (issue 15).
        if can_reopen(case):
            return "reopen", lambda: cs.reopen_case(
                case=case, note=f"平台已同意（{label}）", by=PLATFORM
            )
        if status == PlatformStatus.SUCCEEDED and can_settle_with_refund(case):
            return "settle", lambda: cs.settle_with_refund(
                case=case, note=f"平台已同意退款（{label}）", source="platform", by=PLATFORM
            )
        return None
    if local == CaseStatus.PENDING_REVIEW:
        return "approve", lambda: cs.approve_case(
            case=case, note=f"平台已同意（{label}）", by=PLATFORM
        )
    if local == CaseStatus.AWAITING_RETURN:
        parcel = snapshot.return_parcel
        if parcel.get("tracking_no") and case.return_status == ReturnStatus.AWAITING_SHIPMENT:
            return "return_shipped", lambda: cs.record_return_shipment(
                case=case,
                carrier=str(parcel.get("company_code") or "unknown"),
                tracking_number=str(parcel["tracking_no"]),
                by=PLATFORM,
            )
        if status not in (
            PlatformStatus.AWAITING_BUYER_RETURN,
            PlatformStatus.AWAITING_MERCHANT_SHIPMENT,
        ):
            return "return_received", lambda: cs.receive_return(case=case, by=PLATFORM)
        return None
    if local in (CaseStatus.AWAITING_INSPECTION, CaseStatus.PENDING_FINAL_REVIEW) and status in (
        PlatformStatus.SUCCEEDED,
        PlatformStatus.AWAITING_BUYER_RECEIPT,
        PlatformStatus.GOODS_SUCCEEDED,
    ):
        # The second review was agreed on the platform (its timeout, the back-office) before
        # ours: follow it (issue 15, the soak: awaiting_inspection here, 12 and paid there).
        return "final_approve", lambda: cs.approve_after_inspection(
            case=case, note=f"平台已同意（{label}）", by=PLATFORM
        )
    if local == CaseStatus.AWAITING_REFUND and status == PlatformStatus.SUCCEEDED:
        execution = RefundExecution.objects.filter(decision__case=case).first()
        if execution is None:
            return "refund", lambda: _refund_as_platform(case, snapshot)
        if execution.status in (ExecutionStatus.PENDING, ExecutionStatus.FAILED) and (
            snapshot.refund_status in (PLATFORM_REFUNDING, PLATFORM_REFUNDED)
        ):
            return "refund_executed", lambda: cs.execute_refund(execution=execution, by=PLATFORM)
        return None
    if (
        local == CaseStatus.AWAITING_SHIPMENT
        and case.type == CaseType.RESEND
        and status
        in (
            PlatformStatus.AWAITING_BUYER_RECEIPT,
            PlatformStatus.GOODS_SUCCEEDED,
        )
    ):
        parcel = snapshot.outgoing_parcel
        if parcel.get("tracking_no"):
            return "resent", lambda: cs.resend_items(
                case=case,
                carrier=str(parcel.get("company_code") or "unknown"),
                tracking_number=str(parcel["tracking_no"]),
                by=PLATFORM,
            )
        return None
    if local == CaseStatus.AWAITING_BUYER_RECEIPT and status == PlatformStatus.GOODS_SUCCEEDED:
        return "buyer_received", lambda: cs.confirm_buyer_receipt(case=case, by=PLATFORM)
    return None


def _rejection_applied_before(case: Case, record: DouyinAftersale) -> bool:
    """Our latest rejection of the case was applied on the platform before this Detail was
    read: the platform awaiting the merchant again means the buyer modified the application
    since (27 → 6), even when no Detail showing the rejection was read in between (issue 15,
    found by bench/soak.py). A rejection that failed or is still on its way proves nothing."""
    latest = (
        OutboxOperation.objects.filter(case=case, kind=OperationKind.REJECT)
        .order_by("-pk")
        .values_list("status", "synced_at")
        .first()
    )
    return (
        latest is not None
        and latest[0] == OperationStatus.SYNCED
        and latest[1] is not None
        and latest[1] < record.synced_at
    )


def _platform_closed_step(
    case: Case, snapshot: Snapshot, label: str
) -> tuple[str, Callable[[], Any]] | None:
    """The platform closed the after-sale (28) where the buyer can no longer withdraw: every
    open status follows it to closed (F1). A refund of ours that has not left is cancelled
    and its booking released by `close_case`; one the platform is paying or paid, or one a
    worker is executing now, holds the case for a person (reconciliation shows the drift)."""
    from aftersales.cases import services as cs

    if snapshot.refund_status in (PLATFORM_REFUNDING, PLATFORM_REFUNDED):
        return None
    execution = RefundExecution.objects.filter(decision__case=case).first()
    if execution is not None and execution.status in (
        ExecutionStatus.EXECUTING,
        ExecutionStatus.SUCCEEDED,
    ):
        return None
    return "close", lambda: cs.close_case(
        case=case, note=f"平台售后单已关闭（{label}）", by=PLATFORM
    )


def _refund_as_platform(case: Case, snapshot: Snapshot) -> None:
    """The platform refunded (a back-office agreement, a timeout, a ruling): record the
    decision with the platform's amounts where our rules allow them."""
    from aftersales.cases import services as cs
    from aftersales.cases.money import shipping_refundable_fen

    shipping = min(snapshot.refund_post_amount, shipping_refundable_fen(case.order))
    goods = max(snapshot.refund_amount - snapshot.refund_post_amount, 0)
    try:
        cs.refund_case(
            case=case,
            by=PLATFORM,
            goods_amount_fen=goods,
            shipping_amount_fen=shipping,
            reason="按抖店平台的退款金额",
        )
    except DomainError:
        cs.refund_case(case=case, by=PLATFORM)


def dispute_details(detail: dict[str, Any], snapshot: Snapshot) -> dict[str, Any]:
    """What the platform says about its intervention, for the case event's payload (read by
    the disputes app, R5.2, R5.3): its id, the deadline for the shop's evidence, the ruling,
    the party held responsible and the amount the platform refunds."""
    arbitrate = (detail.get("process_info") or {}).get("arbitrate_info") or {}
    deadline = from_unix(arbitrate.get("arbitrate_status_deadline"))
    return {
        "arbitrate_id": str(arbitrate.get("arbitrate_id") or ""),
        "arbitrate_status": snapshot.arbitrate_status,
        "conclusion": snapshot.arbitrate_conclusion or 0,
        "blame": _optional_int(arbitrate.get("arbitrate_blame")) or 0,
        "evidence_deadline": deadline.isoformat() if deadline else "",
        "evidence_required": bool(arbitrate.get("is_required_evidence")),
        "refund_amount_fen": snapshot.refund_amount,
        "refund_post_amount_fen": snapshot.refund_post_amount,
        "partial": bool(
            (detail.get("process_info") or {}).get("after_sale_info", {}).get("part_type")
        ),
    }


@transaction.atomic
def record_platform_dispute(
    *, case: Case, dispute_status: str, details: dict[str, Any] | None = None
) -> Case:
    """Follow the platform's intervention (平台介入) on the case's dispute axis (R5.2); the
    event carries the platform's details (`dispute_details`) for the disputes app."""
    from aftersales.cases.services import lock_case
    from aftersales.cases.transitions import change_case

    case = lock_case(case)
    if case.dispute_status == dispute_status:
        return case
    return change_case(
        case,
        by=PLATFORM,
        event_type=CaseEvent.DISPUTE_STATUS_CHANGED,
        dispute_status=dispute_status,
        payload={"source": "douyin", **(details or {})},
    )
