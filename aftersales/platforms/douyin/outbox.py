"""Everything the product tells the platform goes through this outbox (R13.1, R3.4).

Writing: `enqueue_operations_for_event` is called by the Douyin adapter's reaction to every
case event (`adapter.DouyinAdapter.react`), inside the event's transaction, so an
`OutboxOperation` exists exactly when the decision committed. Changes made by the platform
itself (a push applied by `ingest`) are not echoed back; the buyer is still told of the step
(R3.5).

Delivering: a worker task claims one operation with a conditional update (pending →
sending; one caller wins), calls the gateway outside any transaction, and records the
attempt and its outcome in a short transaction. The effect happens once:
- a claim is exclusive, and an operation already synced is never sent again;
- after an ambiguous failure (5xx, timeout, a worker that died mid-call) the next attempt
  first re-reads Detail, and an after-sale already in the operation's target status counts
  as done ("already done"), as does the platform's "wrong status" answer when Detail shows
  the target was reached;
- operations of one case go out in the order they were decided, so a second review never
  overtakes the agreement it follows. Messages to the buyer wait for the operations decided
  before them (the buyer is not told "approved" before the platform knows) but hold nothing up.

Failures: transport failures and rate limits retry with exponential backoff and jitter
(inline a few times, then scheduled); a business refusal fails the operation at once with the
platform's reason, visible on the case and retryable (`retry_failed_operations`, the API
`POST /api/v1/cases/{id}/sync/retry`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases.choices import RETURNING_TYPES, CaseType, EvidenceSource
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.cases.reasons import SECOND_REVIEW, review_stage_of
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.core.limits import PLATFORM_REMARK_MAX_LENGTH, check_length
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Shipment
from aftersales.orders.services import update_shipment_status

from .choices import AttemptOutcome, NotificationEvent, OperationKind, OperationStatus
from .client import (
    ApiError,
    DouyinClient,
    TransportError,
    call_logs_written_together,
    side_by_side,
)
from .mapping import (
    AGREE_TYPE,
    EXCHANGE_TO_REFUND_TYPE,
    OPERATE_TYPES,
    RECEIPT_REACHED,
    REJECT_REASON_WORDING,
    REJECT_TYPE,
    SECOND_REJECT_TYPE,
    SECOND_REVIEW_REFUND_TYPE,
    SECOND_REVIEW_SHIP_TYPE,
)
from .models import DouyinShopLink, OutboxAttempt, OutboxOperation
from .notifications import message_for
from .queueing import enqueue_with_the_change, retire_taken_along

logger = logging.getLogger(__name__)

WORKER = Actor.system("douyin-outbox")

# Kinds whose effect shows in the after-sale's status, so Detail can tell whether they were
# applied. The others (a message, a remark, an interception, an extension) are sent again
# after an ambiguous failure: at least once, which for them is harmless or visible.
STATUS_KINDS = frozenset(
    {
        OperationKind.AGREE,
        OperationKind.REJECT,
        OperationKind.SECOND_REVIEW,
        OperationKind.RESHIP,
        OperationKind.CONFIRM_RECEIPT,
    }
)


class OperationRefused(Exception):
    """The operation cannot be sent as it stands (missing data); a person must act."""


_links_of_batch: ContextVar[dict[tuple[str, int], DouyinShopLink | None] | None] = ContextVar(
    "douyin_links_of_batch", default=None
)


@contextmanager
def shop_links_kept_for_the_batch() -> Iterator[None]:
    """Inside, a shop's link is read once (`link_for_shop`, `adapter.adapter_for_shop`): a
    worker's batch touches the same few shops for every case and event (issue 16). A batch
    lasts seconds; a link changed meanwhile is seen by the next batch."""
    if _links_of_batch.get() is not None:
        yield
        return
    token = _links_of_batch.set({})
    try:
        yield
    finally:
        _links_of_batch.reset(token)


def cached_link(kind: str, shop_id: int, read: Callable[[], DouyinShopLink | None]):
    cache = _links_of_batch.get()
    if cache is None:
        return read()
    if (kind, shop_id) not in cache:
        cache[(kind, shop_id)] = read()
    return cache[(kind, shop_id)]


def link_for_shop(shop_id: int) -> DouyinShopLink | None:
    return cached_link(
        "active",
        shop_id,
        lambda: DouyinShopLink.objects.filter(shop_id=shop_id, is_active=True).first(),
    )


# --- Writing ---------------------------------------------------------------------------------


def enqueue_operations_for_event(
    case: Case,
    event_type: str,
    payload: dict[str, Any] | None,
    *,
    by: Actor,
    link: DouyinShopLink,
) -> list[OutboxOperation]:
    """Queue what the platform must be told about this case event, in its transaction: the
    operations a decision of ours implies, and the buyer's step message."""
    payload = payload or {}
    if event_type == CaseEvent.CASE_REOPENED:
        supersede_failed_rejection(case)
    if by.kind == "platform" and event_type in (CaseEvent.CASE_WITHDRAWN, CaseEvent.CASE_CLOSED):
        supersede_refused_decisions(case)
    planned: list[tuple[str, dict[str, Any]]] = []
    if by.kind != "platform":
        planned.extend(plan_operations(case, event_type, payload, link))
    if not (by.kind == "platform" and event_type == CaseEvent.CASE_REJECTED):
        # A refusal made on the platform's side carries no reason we could tell the buyer.
        planned.extend(plan_notification(case, event_type, payload))
    return [add_operation(case, kind, params, cause=event_type) for kind, params in planned]


def platform_can_refuse(case: Case) -> bool:
    """Whether `operate` has a refusal for the case at its current review (未发货仅退款 has
    none: the merchant declines it by shipping the order)."""
    stage = review_stage_of(case.status)
    return case.type in (SECOND_REJECT_TYPE if stage == SECOND_REVIEW else REJECT_TYPE)


def plan_operations(
    case: Case, event_type: str, payload: dict[str, Any], link: DouyinShopLink
) -> list[tuple[str, dict[str, Any]]]:
    """The platform operations a product decision implies (mapping in `mapping.py`)."""
    kind = case.type
    if event_type == CaseEvent.CASE_APPROVED:
        # A refund-only agreement is the refund instruction: it goes with the refund decision.
        if kind in RETURNING_TYPES or kind == CaseType.RESEND:
            params: dict[str, Any] = {"operate_type": AGREE_TYPE[kind]}
            if kind == CaseType.RETURN_REFUND:
                params["receiver_address_id"] = link.receiver_address_id
            return [(OperationKind.AGREE, params)]
        return []
    if event_type == CaseEvent.CASE_REJECTED:
        stage = int(payload.get("stage", 1))
        operate_type = (SECOND_REJECT_TYPE if stage == 2 else REJECT_TYPE).get(kind)
        if operate_type is None:
            # The adapter's objection refuses such a rejection before it is made (issue 15):
            # reaching here would be a case showing a refusal the platform never received.
            raise Conflict(_("The platform has no refusal for this request at this step."))
        return [
            (
                OperationKind.REJECT,
                {
                    "operate_type": operate_type,
                    "reject_reason": case.reject_reason,
                    "note": case.reject_note,
                    "evidence": list(payload.get("evidence", [])),
                },
            )
        ]
    if event_type == CaseEvent.RETURN_RECEIVED:
        shipment = case.shipments.filter(kind=ShipmentKind.RETURN).order_by("-pk").first()
        return [
            (
                OperationKind.CONFIRM_RECEIPT,
                {
                    "op_time": int(time.time()),
                    "tracking_no": shipment.tracking_number if shipment else "",
                    "logistics_company_code": shipment.carrier if shipment else "",
                },
            )
        ]
    if event_type == CaseEvent.REFUND_DECIDED:
        if kind in (CaseType.REFUND_UNSHIPPED, CaseType.REFUND_SHIPPED):
            return [(OperationKind.AGREE, {"operate_type": AGREE_TYPE[kind], "refund": True})]
        if kind == CaseType.RETURN_REFUND:
            return [
                (
                    OperationKind.SECOND_REVIEW,
                    {"operate_type": SECOND_REVIEW_REFUND_TYPE, "refund": True},
                )
            ]
        if kind == CaseType.EXCHANGE:
            return [
                (OperationKind.AGREE, {"operate_type": EXCHANGE_TO_REFUND_TYPE, "refund": True})
            ]
        return []
    if event_type in (CaseEvent.REPLACEMENT_SHIPPED, CaseEvent.REPAIRED_GOODS_SHIPPED):
        return [
            (
                OperationKind.RESHIP,
                {
                    "operate_type": SECOND_REVIEW_SHIP_TYPE[kind],
                    "company_code": payload.get("carrier", ""),
                    "logistics_code": payload.get("tracking_number", ""),
                },
            )
        ]
    # A resend (补寄) is shipped in the Douyin back-office; the open platform has no call for
    # it, so `items_resent` tells the buyer (below) and nothing else.
    return []


_quiet: ContextVar[bool] = ContextVar("douyin_quiet_notifications", default=False)


@contextmanager
def quiet_notifications() -> Iterator[None]:
    """Tell the buyer nothing while catching up on old history (a backfill, a first sync):
    those steps are not news to anyone."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def plan_notification(
    case: Case, event_type: str, payload: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    if _quiet.get() or event_type not in NotificationEvent.values:
        return []
    content = message_for(case, event_type, payload)
    if not content:
        return []
    return [(OperationKind.NOTIFY_BUYER, {"content": content, "step": event_type})]


def add_operation(case: Case, kind: str, params: dict[str, Any], *, cause: str) -> OutboxOperation:
    """Write one operation in the caller's transaction (the case row is locked by the caller);
    the worker is told after commit."""
    number = OutboxOperation.objects.filter(case_id=case.pk).count() + 1
    now = timezone.now()
    operation = OutboxOperation.objects.create(
        shop_id=case.shop_id,
        case_id=case.pk,
        kind=kind,
        params=params,
        idempotency_key=f"douyin-case{case.pk}-{number}-{kind}",
        cause=cause,
        created_at=now,
        next_attempt_at=now,
    )
    queue_delivery(operation.pk)
    return operation


def supersede_failed_rejection(case: Case) -> list[int]:
    """The case was reopened: a rejection of ours the platform refused is moot. It becomes
    `superseded` (never sent, holding nothing up), with the buyer's "rejected" message still
    waiting behind it — the buyer was never refused. What waited behind it goes out now, and
    the merchant's next decision is not queued behind a decision they took back."""
    failed = list(
        OutboxOperation.objects.filter(
            case_id=case.pk, kind=OperationKind.REJECT, status=OperationStatus.FAILED
        ).values_list("pk", flat=True)
    )
    return _supersede(case, failed, {CaseEvent.CASE_REJECTED}, "reopened")


def supersede_refused_decisions(case: Case) -> list[int]:
    """The platform closed the after-sale: a decision of ours it refused is moot (issue 15,
    found by bench/soak.py: a return approved while the buyer withdrew). It becomes
    `superseded`, with the buyer's messages about it (the buyer was never told an approval
    the platform refused), and what waited behind it — the closing's own messages — goes out
    instead of waiting for ever."""
    failed = list(
        OutboxOperation.objects.filter(case_id=case.pk, status=OperationStatus.FAILED)
        .exclude(kind=OperationKind.NOTIFY_BUYER)
        .values_list("pk", "cause")
    )
    return _supersede(
        case, [pk for pk, _ in failed], {cause for _, cause in failed}, "closed by the platform"
    )


def _supersede(case: Case, failed: list[int], causes: set[str], why: str) -> list[int]:
    """Mark these failed operations `superseded` with the buyer's messages about the same
    decisions queued after them (not yet sent), then deliver what waited behind them."""
    if not failed:
        return []
    superseded = failed + list(
        OutboxOperation.objects.filter(
            case_id=case.pk,
            kind=OperationKind.NOTIFY_BUYER,
            cause__in=causes,
            pk__gt=min(failed),
        )
        .exclude(status=OperationStatus.SYNCED)
        .values_list("pk", flat=True)
    )
    OutboxOperation.objects.filter(pk__in=superseded).update(
        status=OperationStatus.SUPERSEDED, next_attempt_at=None, claimed_at=None
    )
    logger.info("case %s %s: operations %s superseded", case.pk, why, superseded)
    for pk in OutboxOperation.objects.filter(
        case_id=case.pk, status=OperationStatus.PENDING
    ).values_list("pk", flat=True):
        queue_delivery(pk)
    return superseded


@transaction.atomic
def request_interception(*, case: Case, by: Actor) -> OutboxOperation:
    """Ask the carrier, through the platform, to stop the outbound parcel (R3.1: shipped, not
    delivered → intercept first, refund once stopped)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_link(case)
    parcel = case.order.shipments.filter(kind=ShipmentKind.OUTBOUND).order_by("-pk").first()
    if parcel is None:
        raise InvalidInput(_("The order has no outbound parcel to intercept."))
    params = {"company_code": parcel.carrier, "tracking_no": parcel.tracking_number}
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.INTERCEPTION_REQUESTED,
        by=by,
        payload=params,
    )
    operation = add_operation(
        case, OperationKind.INTERCEPT, params, cause=CaseEvent.INTERCEPTION_REQUESTED
    )
    # The buyer may be handed the parcel meanwhile: they are asked to refuse it (R3.5).
    for kind, message in plan_notification(case, CaseEvent.INTERCEPTION_REQUESTED, params):
        add_operation(case, kind, message, cause=CaseEvent.INTERCEPTION_REQUESTED)
    return operation


@transaction.atomic
def request_platform_extension(*, case: Case, by: Actor) -> OutboxOperation:
    """Ask the platform for 48 more hours on the current step (afterSale/timeExtend)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_link(case)
    record_event(
        shop_id=case.shop_id, case_id=case.pk, type=CaseEvent.PLATFORM_EXTENSION_REQUESTED, by=by
    )
    return add_operation(
        case, OperationKind.EXTEND, {}, cause=CaseEvent.PLATFORM_EXTENSION_REQUESTED
    )


@transaction.atomic
def add_platform_remark(*, case: Case, remark: str, by: Actor) -> OutboxOperation:
    """Write a merchant remark on the platform's order (afterSale/addOrderRemark)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_link(case)
    if not remark.strip():
        raise InvalidInput(_("The remark is empty."))
    check_length(remark=(remark, PLATFORM_REMARK_MAX_LENGTH))
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.PLATFORM_REMARK_ADDED,
        by=by,
        payload={"remark": remark},
    )
    return add_operation(case, OperationKind.REMARK, {"remark": remark}, cause="remark")


# `afterSale/submitEvidence` takes at most this many image URLs per call.
EVIDENCE_IMAGES_PER_CALL = 4


@transaction.atomic
def submit_platform_evidence(
    *, case: Case, urls: list[str], comment: str, by: Actor
) -> list[OutboxOperation]:
    """Answer the platform's intervention with the shop's evidence (afterSale/submitEvidence,
    R5.2): one operation per `EVIDENCE_IMAGES_PER_CALL` images, the comment with the first.
    The caller records the case event."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_link(case)
    if not urls:
        raise InvalidInput(_("Choose at least one photo to submit."))
    check_length(comment=(comment, PLATFORM_REMARK_MAX_LENGTH))
    chunks = [
        urls[i : i + EVIDENCE_IMAGES_PER_CALL]
        for i in range(0, len(urls), EVIDENCE_IMAGES_PER_CALL)
    ]
    return [
        add_operation(
            case,
            OperationKind.SUBMIT_EVIDENCE,
            {"evidence": chunk, "comment": comment if index == 0 else ""},
            cause=CaseEvent.PLATFORM_EVIDENCE_SUBMITTED,
        )
        for index, chunk in enumerate(chunks)
    ]


def _require_link(case: Case) -> DouyinShopLink:
    link = link_for_shop(case.shop_id)
    if link is None or not case.platform_case_id:
        raise InvalidInput(_("This case is not connected to a Douyin after-sale."))
    return link


# --- Delivering ------------------------------------------------------------------------------


def queue_delivery(operation_id: int, run_after: datetime | None = None) -> None:
    """Queue delivery with the transaction that wrote the operation (see `queueing`)."""
    from .tasks import deliver_operation_task

    enqueue_with_the_change(deliver_operation_task, operation_id, run_after=run_after)


def enqueue_delivery(operation_id: int, run_after: datetime | None = None) -> None:
    from .tasks import deliver_operation_task

    task = deliver_operation_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # picked up by `deliver_due_operations` (the sweep)
        task = task.using(run_after=run_after)
    task.enqueue(operation_id)


def deliver_operation(operation_id: int, *, force: bool = False) -> OutboxOperation:
    """Deliver one operation if it is pending, due and not waiting for an earlier one.

    Transient failures are retried a few times here, with backoff, before the operation
    goes back to the queue with a later `next_attempt_at`.
    """
    inline_tries = max(1, settings.DOUYIN_OUTBOX_INLINE_TRIES)
    operation = OutboxOperation.objects.get(pk=operation_id)
    for inline in range(inline_tries):
        operation, outcome = _deliver_once(operation_id, force=force or inline > 0)
        if outcome != AttemptOutcome.TRANSIENT_ERROR or operation.status != OperationStatus.PENDING:
            break
        if inline + 1 < inline_tries:
            time.sleep(_inline_wait(inline + 1))
    return operation


def deliver_operations(first_id: int | None = None, *, limit: int | None = None) -> list[int]:
    """Deliver a batch: `first_id` if it is ready, and up to `limit` − 1 other ready
    operations (pending, due, not waiting for an earlier one of their case), oldest first.
    Returns the ids attempted.

    The same guarantees as `deliver_operation`, one operation at a time inside the batch:
    each is claimed (pending → sending) before its call, called outside any transaction and
    recorded in its own short transaction, so a worker killed mid-batch leaves at most the
    operation in flight `sending` (the safety net re-reads Detail before it is sent again).
    What the batch saves (issue 16): one claim statement and one attempt insert for all, the
    cases read at once, the calls of different cases made side by side (`_perform_claimed`;
    the records stay one after another on this connection), and no task per operation a
    delivered one releases — the batch's next round takes the case's next operations itself.
    """
    limit = settings.DOUYIN_OUTBOX_BATCH if limit is None else max(limit, 1)
    with call_logs_written_together(), shop_links_kept_for_the_batch():
        return _deliver_batch(first_id, limit)


def _deliver_batch(first_id: int | None, limit: int) -> list[int]:
    attempted: list[int] = []
    links: dict[int, DouyinShopLink | None] = {}
    released: list[int] = []
    inline_tries = max(1, settings.DOUYIN_OUTBOX_INLINE_TRIES)
    while len(attempted) < limit:
        claimed = _claim_ready(first_id, limit=limit - len(attempted), skip=attempted)
        first_id = None
        if not claimed:
            break
        cases = Case.objects.select_related("order").in_bulk({op.case_id for op in claimed})
        attempts = OutboxAttempt.objects.bulk_create(
            [
                OutboxAttempt(
                    operation=op, number=op.attempts, started_at=op.claimed_at or timezone.now()
                )
                for op in claimed
            ]
        )
        performed = _perform_claimed(claimed, cases, links)
        for operation, attempt in zip(claimed, attempts, strict=True):
            attempted.append(operation.pk)
            outcome, error, log_id, result = performed[operation.pk]
            operation, outcome = _finish(
                operation,
                attempt,
                outcome=outcome,
                error=error,
                log_id=log_id,
                result=result,
                released=released,
            )
            # A transient failure is tried again at once a few times, as `deliver_operation`.
            for inline in range(1, inline_tries):
                if outcome != AttemptOutcome.TRANSIENT_ERROR:
                    break
                if operation.status != OperationStatus.PENDING:
                    break
                time.sleep(_inline_wait(inline))
                operation, tried = _deliver_once(operation.pk, force=True)
                if tried is None:
                    break
                outcome = tried
    # What a delivered operation let go and the batch did not take: a task each, as before.
    if released:
        for pk in OutboxOperation.objects.filter(
            case_id__in=set(released), status=OperationStatus.PENDING
        ).values_list("pk", flat=True):
            if pk not in attempted:
                enqueue_delivery(pk)
    return attempted


UNLINKED: tuple[str, str, str, dict[str, Any]] = (
    AttemptOutcome.BUSINESS_ERROR,
    "the shop is no longer linked to Douyin",
    "",
    {},
)


def _perform_claimed(
    claimed: list[OutboxOperation],
    cases: dict[int, Case],
    links: dict[int, DouyinShopLink | None],
) -> dict[int, tuple[str, str, str, dict[str, Any]]]:
    """Send a round's operations: different cases' side by side (`client.side_by_side`),
    each case's own one after another in the order claimed (a claim holds at most one
    operation of a case besides its messages, `_claim_ready`). Returns each operation's
    (outcome, error, log_id, result), recorded by the caller on its own operation.

    Only the calls run in the threads. What `_perform` would read from the database is read
    here first: the shop's link (once per batch), a valid token (per round), the case. An
    operation that would still read (a rejection's evidence, a case not found, a shop whose
    token could not be had) is sent here, on the worker's connection, after the others."""
    tokened: set[int] = set()
    for shop_id in {operation.shop_id for operation in claimed}:
        if shop_id not in links:
            links[shop_id] = link_for_shop(shop_id)
        link = links[shop_id]
        if link is None:
            continue
        try:
            # A valid token now (no call while it has minutes left): the threads only call.
            DouyinClient(link).ensure_token()
        except Exception:  # its operations are sent here, and their calls say why
            continue
        tokened.add(shop_id)
    apart: dict[int, list[OutboxOperation]] = {}
    here: list[OutboxOperation] = []
    for operation in claimed:
        case = cases.get(operation.case_id)
        if (
            operation.shop_id not in tokened
            or case is None
            or operation.kind == OperationKind.REJECT
        ):
            here.append(operation)
        else:
            apart.setdefault(operation.case_id, []).append(operation)

    def send(operations: list[OutboxOperation]) -> list[tuple[str, str, str, dict[str, Any]]]:
        # A client of its own per case: a client keeps the last call's log id.
        link = links[operations[0].shop_id]
        client = DouyinClient(link) if link is not None else None
        return [_send_one(op, client, cases.get(op.case_id)) for op in operations]

    groups = list(apart.values())
    performed: dict[int, tuple[str, str, str, dict[str, Any]]] = {}
    for group, answers in zip(
        groups, side_by_side([partial(send, g) for g in groups]), strict=True
    ):
        if isinstance(answers, Exception):  # `_perform_safely` catches: a bug of ours
            answers = [
                (AttemptOutcome.TRANSIENT_ERROR, f"{type(answers).__name__}: {answers}", "", {})
            ] * len(group)
        performed.update(zip((op.pk for op in group), answers, strict=True))
    for operation in here:
        link = links.get(operation.shop_id)
        performed[operation.pk] = _send_one(
            operation, DouyinClient(link) if link else None, cases.get(operation.case_id)
        )
    return performed


def _send_one(
    operation: OutboxOperation, client: DouyinClient | None, case: Case | None
) -> tuple[str, str, str, dict[str, Any]]:
    if client is None:
        return UNLINKED
    return _perform_safely(operation, client=client, case=case)


def _claim_ready(first_id: int | None, *, limit: int, skip: list[int]) -> list[OutboxOperation]:
    """Claim up to `limit` ready operations for this worker (pending → sending, attempts + 1).

    PostgreSQL: the candidates are locked with `SKIP LOCKED` (another worker's are passed
    over), then claimed with one UPDATE. SQLite: a conditional update per row. An operation
    waiting for an earlier one of its case (`waiting_for`) is not claimed; every case's
    earliest unsynced operation is read in one query for the whole batch."""
    now = timezone.now()
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        pending = OutboxOperation.objects.select_for_update(skip_locked=True).filter(
            status=OperationStatus.PENDING
        )
        candidates: list[tuple[int, int]] = []
        if first_id is not None:
            candidates = list(pending.filter(due, pk=first_id).values_list("pk", "case_id"))
        if limit > len(candidates):
            candidates += list(
                pending.filter(due)
                .exclude(pk__in=[pk for pk, _ in candidates] + skip)
                .order_by("pk")
                .values_list("pk", "case_id")[: limit - len(candidates)]
            )
        if not candidates:
            return []
        earliest: dict[int, int] = {}
        for case_id, pk in (
            OutboxOperation.objects.filter(case_id__in={case for _, case in candidates})
            .exclude(kind=OperationKind.NOTIFY_BUYER)
            .exclude(status__in=(OperationStatus.SYNCED, OperationStatus.SUPERSEDED))
            .values_list("case_id", "pk")
        ):
            earliest[case_id] = min(pk, earliest.get(case_id, pk))
        ready = [pk for pk, case in candidates if earliest.get(case, pk) >= pk]
        if not ready:
            return []
        claim = {
            "status": OperationStatus.SENDING,
            "attempts": F("attempts") + 1,
            "claimed_at": now,
        }
        if postgres:
            OutboxOperation.objects.filter(pk__in=ready).update(**claim)
            claimed = ready
        else:
            claimed = [
                pk
                for pk in ready
                if OutboxOperation.objects.filter(pk=pk, status=OperationStatus.PENDING).update(
                    **claim
                )
            ]
        # Their waiting tasks are done with the claim: not run later only to find it taken.
        from .tasks import deliver_operation_task

        retire_taken_along(deliver_operation_task, claimed)
    return list(OutboxOperation.objects.filter(pk__in=claimed).order_by("pk"))


def _deliver_once(operation_id: int, *, force: bool) -> tuple[OutboxOperation, str | None]:
    now = timezone.now()
    operation = OutboxOperation.objects.get(pk=operation_id)
    if operation.status != OperationStatus.PENDING:
        return operation, None
    if not force and operation.next_attempt_at and operation.next_attempt_at > now:
        return operation, None
    if waiting_for(operation) is not None:
        return operation, None
    claimed = OutboxOperation.objects.filter(
        pk=operation.pk, status=OperationStatus.PENDING
    ).update(status=OperationStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    if claimed != 1:
        # Another worker got there first.
        operation.refresh_from_db()
        return operation, None
    operation.refresh_from_db()
    attempt = OutboxAttempt.objects.create(
        operation=operation, number=operation.attempts, started_at=now
    )
    outcome, error, log_id, result = _perform_safely(operation)
    return _finish(operation, attempt, outcome=outcome, error=error, log_id=log_id, result=result)


def waiting_for(operation: OutboxOperation) -> OutboxOperation | None:
    """The earliest operation of the same case decided before this one and not yet synced
    (messages to the buyer never hold anything up)."""
    return (
        OutboxOperation.objects.filter(case_id=operation.case_id, pk__lt=operation.pk)
        .exclude(kind=OperationKind.NOTIFY_BUYER)
        .exclude(status__in=(OperationStatus.SYNCED, OperationStatus.SUPERSEDED))
        .order_by("pk")
        .first()
    )


def _perform_safely(
    operation: OutboxOperation,
    *,
    client: DouyinClient | None = None,
    case: Case | None = None,
) -> tuple[str, str, str, dict[str, Any]]:
    if client is None:
        link = link_for_shop(operation.shop_id)
        if link is None:
            return AttemptOutcome.BUSINESS_ERROR, "the shop is no longer linked to Douyin", "", {}
        client = DouyinClient(link)
    try:
        outcome, log_id, result = _perform(operation, client, case)
    except TransportError as exc:
        return AttemptOutcome.TRANSIENT_ERROR, str(exc), exc.log_id, {}
    except ApiError as exc:
        outcome = (
            AttemptOutcome.TRANSIENT_ERROR if exc.is_transient else AttemptOutcome.BUSINESS_ERROR
        )
        return outcome, str(exc), exc.log_id, {}
    except OperationRefused as exc:
        return AttemptOutcome.BUSINESS_ERROR, str(exc), "", {}
    except Exception as exc:  # a bug or an outage of our own: retry later, keep the reason
        logger.exception("douyin operation %s crashed", operation.idempotency_key)
        return AttemptOutcome.TRANSIENT_ERROR, f"{type(exc).__name__}: {exc}", "", {}
    return outcome, "", log_id, result


def _perform(
    operation: OutboxOperation, client: DouyinClient, case: Case | None = None
) -> tuple[str, str, dict[str, Any]]:
    """Send the operation. Returns (outcome, log_id, result)."""
    if case is None:
        case = Case.objects.select_related("order").get(pk=operation.case_id)
    aftersale_id = case.platform_case_id or ""
    params = operation.params
    if operation.kind in STATUS_KINDS:
        reached = _reached_statuses(operation)
        if operation.attempts > 1 and _platform_status(client, aftersale_id) in reached:
            return AttemptOutcome.ALREADY_DONE, "", {}
        try:
            log_id, result = _send_status_operation(operation, client, case)
        except ApiError as exc:
            if exc.is_wrong_status and _platform_status(client, aftersale_id) in reached:
                return AttemptOutcome.ALREADY_DONE, exc.log_id, {}
            raise
        except TransportError as exc:
            if exc.ambiguous and _platform_status(client, aftersale_id, quiet=True) in reached:
                return AttemptOutcome.ALREADY_DONE, "", {}
            raise
        return AttemptOutcome.SUCCEEDED, log_id, result
    if operation.kind == OperationKind.NOTIFY_BUYER:
        method = settings.DOUYIN_BUYER_MESSAGE_METHOD
        response = client.call(
            method,
            {
                "order_id": case.order.platform_order_id,
                "aftersale_id": aftersale_id,
                "content": params["content"],
                # The platform sends a key it has seen once only: a retry after a lost answer
                # (or a worker killed before recording it) does not message the buyer twice.
                "client_msg_id": operation.idempotency_key,
            },
            retry_ambiguous=False,
        )
        if response.data.get("duplicate"):
            return AttemptOutcome.ALREADY_DONE, response.log_id, response.data
        return AttemptOutcome.SUCCEEDED, response.log_id, response.data
    if operation.kind == OperationKind.INTERCEPT:
        response = client.call(
            "afterSale/applyLogisticsIntercept",
            {
                "after_sale_id": aftersale_id,
                "op_from": 1,
                "intercept_targets": [
                    {"company_code": params["company_code"], "tracking_no": params["tracking_no"]}
                ],
            },
            retry_ambiguous=False,
        )
        data = response.data
        if int(data.get("failed_count", 0)) and not int(data.get("success_count", 0)):
            reasons = "; ".join(
                str(r.get("reason", "")) for r in data.get("intercept_results", []) if r
            )
            # The platform's own words: they are the interception's result on the case page.
            raise OperationRefused(reasons or "the platform gave no reason")
        return AttemptOutcome.SUCCEEDED, response.log_id, data
    if operation.kind == OperationKind.EXTEND:
        try:
            response = client.call(
                "afterSale/timeExtend", {"aftersale_id": aftersale_id}, retry_ambiguous=False
            )
        except ApiError as exc:
            # The platform extends a step once. A retry told "already extended this step"
            # follows an attempt whose answer was lost: that attempt extended it.
            if operation.attempts > 1 and exc.is_wrong_status and "已延长" in str(exc):
                return AttemptOutcome.ALREADY_DONE, exc.log_id, {}
            raise
        return AttemptOutcome.SUCCEEDED, response.log_id, response.data
    if operation.kind == OperationKind.REMARK:
        response = client.call(
            "afterSale/addOrderRemark",
            {"aftersale_id": aftersale_id, "remark": params["remark"]},
            retry_ambiguous=False,
        )
        return AttemptOutcome.SUCCEEDED, response.log_id, response.data
    if operation.kind == OperationKind.SUBMIT_EVIDENCE:
        response = client.call(
            "afterSale/submitEvidence",
            {
                "aftersale_id": aftersale_id,
                "evidence": list(params["evidence"]),
                "comment": params.get("comment", ""),
            },
            retry_ambiguous=False,
        )
        return AttemptOutcome.SUCCEEDED, response.log_id, response.data
    raise OperationRefused(f"unknown operation kind {operation.kind}")


def _reached_statuses(operation: OutboxOperation) -> frozenset[int]:
    if operation.kind == OperationKind.CONFIRM_RECEIPT:
        return RECEIPT_REACHED
    return OPERATE_TYPES[int(operation.params["operate_type"])].reached


def _platform_status(client: DouyinClient, aftersale_id: str, *, quiet: bool = False) -> int | None:
    try:
        data = client.call("afterSale/Detail", {"after_sale_id": str(aftersale_id)}).data
    except (TransportError, ApiError):
        if quiet:
            return None
        raise
    info = data.get("process_info", {}).get("after_sale_info", {})
    status = info.get("after_sale_status")
    return int(status) if status is not None else None


def _send_status_operation(
    operation: OutboxOperation, client: DouyinClient, case: Case
) -> tuple[str, dict[str, Any]]:
    params = operation.params
    aftersale_id = case.platform_case_id or ""
    if operation.kind == OperationKind.CONFIRM_RECEIPT:
        response = client.call(
            "afterSale/returnGoodsToWareHouseSuccess",
            {
                "aftersale_id": aftersale_id,
                "op_time": int(params.get("op_time") or time.time()),
                "tracking_no": params.get("tracking_no", ""),
                "logistics_company_code": params.get("logistics_company_code", ""),
            },
            retry_ambiguous=False,
        )
        return response.log_id, response.data
    operate_type = int(params["operate_type"])
    item: dict[str, Any] = {"aftersale_id": aftersale_id}
    if operation.kind == OperationKind.REJECT:
        item.update(_reject_fields(operation, client, case))
    if operate_type == 101:
        if not params.get("receiver_address_id"):
            raise OperationRefused("agreeing a return needs the shop's return address id")
        item["logistics"] = {"receiver_address_id": params["receiver_address_id"]}
    if operate_type in (311, 611):
        if not params.get("company_code") or not params.get("logistics_code"):
            raise OperationRefused("shipping goods back needs the carrier and tracking number")
        item["logistics"] = {
            "company_code": params["company_code"],
            "logistics_code": params["logistics_code"],
        }
    results = client.operate(operate_type, [item], retry_ambiguous=False)
    for result in results:
        if int(result.get("status_code", 0)) != 0:
            raise OperationRefused(str(result.get("status_msg") or "refused"))
    return client.last_log_id, {"items": results}


def _reject_fields(operation: OutboxOperation, client: DouyinClient, case: Case) -> dict[str, Any]:
    """The platform's reject reason code for ours (matched by wording), with evidence."""
    params = operation.params
    listing = client.call(
        "afterSale/rejectReasonCodeList", {"aftersale_id": case.platform_case_id}
    ).data.get("items", [])
    chosen = match_reject_reason(params.get("reject_reason", ""), listing)
    if chosen is None:
        raise OperationRefused("the platform offers no reject reason for this after-sale")
    fields: dict[str, Any] = {
        "reject_reason_code": int(chosen["reject_reason_code"]),
        "reason": params.get("note", ""),
        "remark": params.get("note", ""),
    }
    evidence = evidence_urls(case, params.get("evidence", []))
    if evidence:
        fields["evidence"] = [
            {"type": 1, "url": url, "desc": params.get("note", "")[:100]} for url in evidence
        ]
    elif str(chosen.get("evidence_need", "N")).upper() == "Y":
        raise OperationRefused(
            f"the platform needs evidence for “{chosen.get('reason', '')}”: attach photos and retry"
        )
    return fields


def match_reject_reason(reason_code: str, listing: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The platform's entry for our reject reason: the exact wording, then a key word, then
    “其他”. The platform's codes may differ per after-sale; its wording does not."""
    # The reason's own words first, exactly then as part of the platform's wording; only then
    # “其他”, which would otherwise win over a longer wording of the reason itself.
    for words in (REJECT_REASON_WORDING.get(reason_code, ()), REJECT_REASON_WORDING["other"]):
        for word in words:
            for entry in listing:
                if str(entry.get("reason", "")) == word:
                    return entry
        for word in words:
            for entry in listing:
                if word in str(entry.get("reason", "")):
                    return entry
    return None


def evidence_file_urls(case: Case, evidence_ids: list[int]) -> list[str]:
    """Every chosen photo's URL for the platform (no cut: the caller splits into calls)."""
    base = settings.DOUYIN_EVIDENCE_BASE_URL.rstrip("/")
    ids = case.evidence.filter(pk__in=evidence_ids).order_by("pk").values_list("pk", flat=True)
    return [f"{base}/api/v1/cases/{case.pk}/evidence/{pk}/file" for pk in ids]


def evidence_urls(case: Case, evidence_ids: list[int]) -> list[str]:
    """Where the platform can fetch the evidence: our API's file URL under the public base.

    The real platform wants images uploaded to its own storage first; that upload is a
    setting away (DOUYIN_EVIDENCE_BASE_URL) and is not part of the contract.
    """
    base = settings.DOUYIN_EVIDENCE_BASE_URL.rstrip("/")
    ids = list(case.evidence.filter(pk__in=evidence_ids).values_list("pk", flat=True))[:4]
    return [f"{base}/api/v1/cases/{case.pk}/evidence/{pk}/file" for pk in ids]


def _finish(
    operation: OutboxOperation,
    attempt: OutboxAttempt,
    *,
    outcome: str,
    error: str,
    log_id: str,
    result: dict[str, Any],
    released: list[int] | None = None,
) -> tuple[OutboxOperation, str]:
    now = timezone.now()
    with transaction.atomic():
        OutboxAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=outcome, log_id=log_id[:128], error=error[:2000]
        )
        if outcome in (AttemptOutcome.SUCCEEDED, AttemptOutcome.ALREADY_DONE):
            # Success always wins, even over a recovery that presumed this worker dead.
            synced = (
                OutboxOperation.objects.filter(pk=operation.pk)
                .exclude(status=OperationStatus.SYNCED)
                .update(
                    status=OperationStatus.SYNCED,
                    synced_at=now,
                    last_error="",
                    result=result,
                    claimed_at=None,
                    next_attempt_at=None,
                )
            )
            known = synced == 1
            if synced:
                # What the row now holds, without reading it back.
                operation.status, operation.synced_at, operation.last_error = (
                    OperationStatus.SYNCED,
                    now,
                    "",
                )
                operation.result, operation.claimed_at, operation.next_attempt_at = (
                    result,
                    None,
                    None,
                )
                if operation.kind == OperationKind.INTERCEPT:
                    _record_interception(operation, result)
                transaction.on_commit(lambda: _after_synced(operation, released=released))
        else:
            max_attempts = settings.DOUYIN_OUTBOX_MAX_ATTEMPTS
            retry = outcome == AttemptOutcome.TRANSIENT_ERROR and operation.attempts < max_attempts
            next_at = (
                now + timedelta(seconds=_scheduled_wait(operation.attempts)) if retry else None
            )
            changed = OutboxOperation.objects.filter(
                pk=operation.pk, status=OperationStatus.SENDING, attempts=operation.attempts
            ).update(
                status=OperationStatus.PENDING if retry else OperationStatus.FAILED,
                last_error=error[:2000],
                claimed_at=None,
                next_attempt_at=next_at,
            )
            if changed and not retry:
                record_event(
                    shop_id=operation.shop_id,
                    case_id=operation.case_id,
                    type=CaseEvent.PLATFORM_OPERATION_FAILED,
                    by=WORKER,
                    payload={
                        "operation": operation.pk,
                        "kind": operation.kind,
                        "attempts": operation.attempts,
                        "error": error[:500],
                    },
                )
                logger.warning("douyin operation %s failed: %s", operation.idempotency_key, error)
            if changed and retry and next_at is not None:
                queue_delivery(operation.pk, run_after=next_at)
            known = changed == 1
            if changed:
                operation.status = OperationStatus.PENDING if retry else OperationStatus.FAILED
                operation.last_error, operation.claimed_at = error[:2000], None
                operation.next_attempt_at = next_at
    if not known:  # someone else changed the row meanwhile: read what it holds
        operation.refresh_from_db()
    return operation, outcome


def _record_interception(operation: OutboxOperation, result: dict[str, Any]) -> None:
    """The carrier is stopping the outbound parcel: its history says so (R3.1)."""
    stopped = {
        str(r.get("tracking_no", ""))
        for r in result.get("intercept_results", [])
        if r and r.get("success")
    }
    for parcel in Shipment.objects.filter(
        order__cases__pk=operation.case_id,
        kind=ShipmentKind.OUTBOUND,
        tracking_number__in=stopped,
    ).exclude(status=ShipmentStatus.INTERCEPTED):
        update_shipment_status(
            shipment=parcel, status=ShipmentStatus.INTERCEPTED, note="抖店物流拦截成功"
        )


def _after_synced(operation: OutboxOperation, *, released: list[int] | None = None) -> None:
    """Let the case's next operations go, and finish a refund that waited for this one.

    With `released`, a batch (`deliver_operations`) takes the case's next operations itself
    in its next round and queues only those it leaves, instead of a task each now."""
    if operation.kind != OperationKind.NOTIFY_BUYER and released is not None:
        released.append(operation.case_id)
    elif operation.kind != OperationKind.NOTIFY_BUYER:  # a message never held anything up
        for pk in OutboxOperation.objects.filter(
            case_id=operation.case_id, status=OperationStatus.PENDING, pk__gt=operation.pk
        ).values_list("pk", flat=True):
            enqueue_delivery(pk)
    if operation.params.get("refund"):
        from aftersales.cases.choices import ExecutionStatus
        from aftersales.cases.models import RefundExecution
        from aftersales.cases.services import enqueue_refund_execution

        execution = RefundExecution.objects.filter(
            decision__case_id=operation.case_id, status=ExecutionStatus.FAILED
        ).first()
        if execution is not None:
            enqueue_refund_execution(execution.pk)


def resume_refund_the_platform_has(case: Case) -> bool:
    """A refund execution just failed although its instruction reached the platform: the
    worker executing it was killed after the platform acted (the sweep marked it failed), or
    the gateway gave up waiting for a delivery that then succeeded. The platform is paying,
    so the execution is queued again (after commit); the gateway finds the instruction synced
    and records it executed — nothing is sent twice, the instruction is claimed once. Bounded
    by the outbox's attempts, so a gateway that keeps crashing does not loop (issue 15)."""
    from aftersales.cases.choices import ExecutionStatus
    from aftersales.cases.models import RefundExecution
    from aftersales.cases.services import enqueue_refund_execution

    instruction = (
        OutboxOperation.objects.filter(case_id=case.pk, params__refund=True).order_by("-pk").first()
    )
    if instruction is None or instruction.status != OperationStatus.SYNCED:
        return False  # not yet there (`_after_synced` resumes it) or refused (a person acts)
    execution = RefundExecution.objects.filter(
        decision__case_id=case.pk, status=ExecutionStatus.FAILED
    ).first()
    if execution is None or execution.attempts >= settings.DOUYIN_OUTBOX_MAX_ATTEMPTS:
        return False
    pk = execution.pk
    transaction.on_commit(lambda: enqueue_refund_execution(pk))
    return True


def _inline_wait(attempt: int) -> float:
    base = settings.DOUYIN_BACKOFF_BASE
    cap = settings.DOUYIN_BACKOFF_CAP
    return random.random() * min(cap, base * 2 ** (attempt - 1))


def _scheduled_wait(attempts: int) -> float:
    """Exponential backoff with jitter between scheduled attempts: 5 s, 10 s, 20 s … ≤ 10 min."""
    base = settings.DOUYIN_OUTBOX_BACKOFF_BASE
    cap = settings.DOUYIN_OUTBOX_BACKOFF_CAP
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.random() * ceiling / 2


# --- Retry, state, recovery ------------------------------------------------------------------


@transaction.atomic
def retry_failed_operations(*, case: Case, by: Actor) -> list[OutboxOperation]:
    """Queue the case's failed operations again (same rows, same keys)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    failed = list(
        OutboxOperation.objects.filter(case=case, status=OperationStatus.FAILED).order_by("pk")
    )
    if not failed:
        raise Conflict(_("There is no failed platform operation to retry."))
    now = timezone.now()
    link = link_for_shop(case.shop_id)
    updated = []
    for operation in failed:
        params = replanned_params(operation, case, link)
        if params != operation.params:
            updated.append(operation.pk)
        OutboxOperation.objects.filter(pk=operation.pk).update(
            status=OperationStatus.PENDING, next_attempt_at=now, claimed_at=None, params=params
        )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.PLATFORM_SYNC_RETRIED,
        by=by,
        # `updated`: the operations sent with what the case holds now (`replanned_params`).
        payload={
            "operations": [op.pk for op in failed],
            **({"updated": updated} if updated else {}),
        },
    )
    for operation in failed:
        queue_delivery(operation.pk)
    for operation in failed:
        operation.refresh_from_db()
    return failed


def replanned_params(
    operation: OutboxOperation, case: Case, link: DouyinShopLink | None
) -> dict[str, Any]:
    """A failed operation's parameters brought up to what the case and the link say now.

    What made the platform refuse may be what the agent fixed since: evidence attached to
    the case after a rejection was refused for the lack of it (the platform takes at most 4),
    the shop's return address id set after an agreement was refused without it. The rest is
    the decision as it was made and is sent as it stands."""
    params = dict(operation.params)
    if operation.kind == OperationKind.REJECT:
        attached_since = case.evidence.filter(
            source__in=(EvidenceSource.MERCHANT, EvidenceSource.INSPECTION),
            uploaded_at__gte=operation.created_at,
        ).order_by("pk")
        named = [int(pk) for pk in params.get("evidence", [])]
        later = [pk for pk in attached_since.values_list("pk", flat=True) if pk not in named]
        params["evidence"] = (named + later)[:4]
    if "receiver_address_id" in params and link is not None and link.receiver_address_id:
        params["receiver_address_id"] = link.receiver_address_id
    return params


def has_operations_in_flight(case: Case) -> bool:
    """True while a decision of ours is on its way to the platform: the product is ahead.

    A failed operation is not on its way: the platform refused it (or could not be reached
    for long), so the platform's state is what the case must follow; the failure stays
    visible on the case.
    """
    return (
        OutboxOperation.objects.filter(
            case=case, status__in=(OperationStatus.PENDING, OperationStatus.SENDING)
        )
        .exclude(kind=OperationKind.NOTIFY_BUYER)
        .exists()
    )


def recover_stalled_operations(now: datetime | None = None) -> tuple[int, int]:
    """The safety net: nothing decided is lost if a worker dies or a task goes missing.

    An operation claimed longer ago than the lease means its worker died mid-call: it goes
    back to pending, its attempt marked abandoned; the next attempt re-reads Detail first,
    so a call that did reach the platform is not applied twice. Operations pending and due
    are queued again. Returns (recovered, queued).
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.DOUYIN_OUTBOX_LEASE_SECONDS)
    due_at = min(now, timezone.now())  # due at once, even when `now` is given from ahead
    recovered = 0
    for pk, claimed_at in OutboxOperation.objects.filter(
        status=OperationStatus.SENDING, claimed_at__lt=now - lease
    ).values_list("pk", "claimed_at"):
        with transaction.atomic():
            changed = OutboxOperation.objects.filter(
                pk=pk, status=OperationStatus.SENDING, claimed_at=claimed_at
            ).update(
                status=OperationStatus.PENDING,
                claimed_at=None,
                next_attempt_at=due_at,
                last_error="the worker stopped during delivery; checking the platform and retrying",
            )
            if changed:
                OutboxAttempt.objects.filter(operation_id=pk, finished_at__isnull=True).update(
                    finished_at=now,
                    outcome=AttemptOutcome.ABANDONED,
                    error="worker stopped before recording the outcome",
                )
                recovered += 1
    # Pending behind a failed operation: nothing to do until someone retries that one.
    behind_a_failure = OutboxOperation.objects.filter(
        case_id=OuterRef("case_id"), pk__lt=OuterRef("pk"), status=OperationStatus.FAILED
    ).exclude(kind=OperationKind.NOTIFY_BUYER)
    due = list(
        OutboxOperation.objects.filter(status=OperationStatus.PENDING, next_attempt_at__lte=now)
        .exclude(Exists(behind_a_failure))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # A delivery task takes its operation and the other ready ones, oldest first, a batch at
    # a time (`deliver_operations`): one task per batch covers them all, and a backlog is not
    # queued again in full on every pass.
    for pk in due[:: settings.DOUYIN_OUTBOX_BATCH]:
        enqueue_delivery(pk)
    return recovered, len(due)


def deliver_due_operations(now: datetime | None = None, *, limit: int = 500) -> int:
    """Deliver, in this process, every pending operation that is due (oldest first)."""
    now = now or timezone.now()
    pks = list(
        OutboxOperation.objects.filter(status=OperationStatus.PENDING, next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        deliver_operation(pk, force=True)
    return len(pks)
