"""The back-office import (R13.3): a shop without API access uploads the platform's
after-sales export and the product brings its orders and cases up to date.

- `request_import` checks who uploads (a supervisor or admin of the shop), that the shop is not
  connected to the platform's API (its after-sales arrive through it), that the file is an
  xlsx with the export's columns; stores it and queues the task after commit.
- `run_import` (the worker) claims the job once, reads the file row by row (openpyxl
  read-only), and applies each row in its **own transaction**: the order and its item, the
  case through `intake.services.receive_case` (so the policy decides it and its clocks
  start), then the steps the platform has already taken (approve, the return parcel,
  receipt, refund, rejection, closing) through the case services, as the platform. A row
  refused anywhere leaves nothing behind; its problems (column and reason) are kept for the
  error sheet and the next rows go on.
- The same row again changes nothing: each after-sale's key and the fingerprint of the row
  last applied are kept (`ImportedAftersale`), rows are looked up a batch at a time.
- The finished import is on the shop's audit trail (`backoffice_imported`) with its counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from aftersales.audit.chain import record_event
from aftersales.cases import services as cs
from aftersales.cases.choices import (
    REFUND_TYPES,
    RETURNING_TYPES,
    TERMINAL_STATUSES,
    CaseStatus,
    CaseType,
    ExecutionStatus,
    ReturnStatus,
)
from aftersales.cases.models import Case, RefundDecision, RefundExecution
from aftersales.cases.transitions import can_close, can_reject, can_withdraw
from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product, Sku
from aftersales.core.actors import Actor
from aftersales.core.bulk import insert_all
from aftersales.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from aftersales.intake.services import receive_case
from aftersales.orders.carriers import carrier_for
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import Buyer, Order, OrderItem, Shipment
from aftersales.orders.totals import count_order
from aftersales.platforms.adapter import adapter_for_shop
from aftersales.shops.choices import Role
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user

from . import columns as C
from .models import ImportedAftersale, ImportJob, ImportRowError, ImportStatus
from .parsing import ParsedRow, Problem, RowReader, Stage, problem, text
from .reader import count_rows, open_rows, read_ahead

logger = logging.getLogger(__name__)

IMPORT_EVENT = "backoffice_imported"
IMPORT_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH = 500
# Rows applied in one transaction (each in its savepoint), and the longest such a transaction
# stays open; `bench/import.py` measures the first import with 1 and with these.
# Grouping gave no measurable gain (docs/benchmarks.md: the services' queries dominate, not
# the commits), so a row is its own transaction unless this is raised.
ROWS_PER_TRANSACTION = 1
TRANSACTION_SECONDS = 1.0
XLSX_MAGIC = b"PK\x03\x04"

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def can_import(actor: Actor, shop_id: int) -> bool:
    return actor.role_in(shop_id) in IMPORT_ROLES


@transaction.atomic
def request_import(*, shop: Shop, upload: UploadedFile, by: Actor) -> ImportJob:
    """Store the uploaded export and queue its import. Another shop is a 404, a role that
    may not import a 403, a file that is not the export a 400; nothing is stored then."""
    if by.role_in(shop.pk) is None:
        raise NotFound(_("Shop not found."))
    if not can_import(by, shop.pk):
        raise PermissionDenied(_("Only a supervisor or the shop admin may import."))
    if adapter_for_shop(shop.pk, shop.platform).linked:
        raise InvalidInput(
            _("This shop is connected to the platform's API: its after-sales arrive from it.")
        )
    name = (upload.name or "").rsplit("/", 1)[-1][:255]
    if not name.lower().endswith(".xlsx"):
        raise InvalidInput(_("Upload the back-office export, an .xlsx file."), field="file")
    if (upload.size or 0) > MAX_FILE_BYTES:
        raise InvalidInput(_("The file is larger than 50 MB."), field="file")
    head = upload.read(4)
    upload.seek(0)
    if head != XLSX_MAGIC:
        raise InvalidInput(_("This is not an .xlsx file."), field="file")
    try:
        with open_rows(upload) as (header, _rows):
            missing = RowReader(header).missing
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same answer
        raise InvalidInput(_("The file could not be read as a workbook."), field="file") from exc
    if missing:
        raise InvalidInput(
            _("Columns of the export are missing: %(columns)s"),
            field="file",
            columns="、".join(missing),
        )
    upload.seek(0)
    job = ImportJob(
        shop=shop,
        uploaded_by_id=by.user_id,
        uploaded_by_label=by.label[:150],
        file_name=name,
        created_at=timezone.now(),
    )
    job.file.save("upload.xlsx", upload, save=False)
    job.save()
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import run_import_task

    run_import_task.enqueue(job_id)


def imports_for(actor: Actor, shop_ids: Iterable[int] | None = None) -> Any:
    """The imports of the actor's shops where their role may import, newest first."""
    shops = [pk for pk, role in actor.shop_roles.items() if role in IMPORT_ROLES]
    if shop_ids is not None:
        shops = [pk for pk in shops if pk in set(shop_ids)]
    return ImportJob.objects.filter(shop_id__in=shops).order_by("-created_at", "-pk")


def get_import_for_actor(actor: Actor, pk: int) -> ImportJob:
    """An import of one of the actor's shops (a role that may import); else a 404."""
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None or not can_import(actor, job.shop_id):
        raise NotFound(_("Import not found."))
    return job


# --- The worker ------------------------------------------------------------------------------


def run_import(*, job: ImportJob, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Import the job's file. Outside any transaction: each row is its own. Safe to run
    twice: the claim lets one worker through."""
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:
        return ImportJob.objects.get(pk=job.pk)
    job.refresh_from_db()
    # The steps were taken on the platform, in its back-office: the platform's actor, named
    # after the import that brought them in.
    by = Actor.platform(f"back-office import #{job.pk}")
    counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "failed": 0, "done": 0}
    try:
        with job.file.open("rb") as handle:
            total = count_rows(handle)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total or None)
            handle.seek(0)
            with read_ahead(handle, BATCH, _row_parser) as (header, batches):
                reader = RowReader(header)
                if reader.missing:
                    raise InvalidInput(
                        _("Columns of the export are missing: %(columns)s"),
                        columns="、".join(reader.missing),
                    )
                for batch in batches:
                    _import_batch(job, batch, by, counts)
                    if progress is not None:
                        progress(job)
    except Exception as exc:  # noqa: BLE001 - any failure is shown on the import, not lost
        logger.exception("import %s failed", job.pk)
        message = exc.render("zh-hans") if isinstance(exc, DomainError) else str(exc)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, error=message[:2000], finished_at=timezone.now()
        )
        return ImportJob.objects.get(pk=job.pk)
    return _record_done(job, counts)


Parsed = tuple[int, tuple[Any, ...], ParsedRow | list[Problem]]


def _row_parser(header: tuple[Any, ...]) -> Callable[[int, tuple[Any, ...]], Parsed]:
    """How `read_ahead` parses each row of a file with this header."""
    parse = RowReader(header).parse
    return lambda number, values: (number, values, parse(values))


def _import_batch(
    job: ImportJob,
    parsed: list[Parsed],
    by: Actor,
    counts: dict[str, int],
) -> None:
    if not parsed:
        return
    batch = parsed
    keys = [row.aftersale_id for _n, _v, row in parsed if isinstance(row, ParsedRow)]
    known = {
        k.aftersale_id: k
        for k in ImportedAftersale.objects.filter(shop_id=job.shop_id, aftersale_id__in=keys)
    }
    errors: list[ImportRowError] = []
    seen: set[str] = set()
    todo: list[tuple[int, tuple[Any, ...], ParsedRow, ImportedAftersale | None]] = []
    for number, values, row in parsed:
        if isinstance(row, ParsedRow) and row.aftersale_id in seen:
            row = [problem(C.AFTERSALE_ID, _("The same after-sale appears twice in the file."))]
        if isinstance(row, list):
            errors.append(_row_error(job, number, values, row))
            continue
        seen.add(row.aftersale_id)
        key = known.get(row.aftersale_id)
        if key is not None and key.digest == row.digest:
            counts[UNCHANGED] += 1
            continue
        todo.append((number, values, row, key))
    # The history first: new after-sales already finished on the platform, written at once.
    # What the bulk path does not take goes on row by row with the rest.
    todo = _import_history(job, todo, by, counts)
    # The rows to apply, a few to a transaction (one commit for several rows), each row in
    # its own savepoint: a refused row is rolled back alone and leaves nothing. A group
    # commits after ROWS_PER_TRANSACTION rows or TRANSACTION_SECONDS, whichever comes first:
    # the shop's audit chain is locked until then, and the team works on the shop meanwhile.
    position = 0
    while position < len(todo):
        group = transaction.atomic() if ROWS_PER_TRANSACTION > 1 else nullcontext()
        with group:
            began = time.monotonic()
            group_end = min(position + ROWS_PER_TRANSACTION, len(todo))
            while position < group_end:
                number, values, row, key = todo[position]
                position += 1
                outcome = _apply_quietly(job, number, values, row, key, by, errors)
                if outcome is not None:
                    counts[outcome] += 1
                if time.monotonic() - began >= TRANSACTION_SECONDS:
                    break
    counts["failed"] += len(errors)
    counts["done"] += len(batch)
    ImportRowError.objects.bulk_create(errors)
    ImportJob.objects.filter(pk=job.pk).update(
        rows_done=counts["done"],
        created=counts[CREATED],
        updated=counts[UPDATED],
        unchanged=counts[UNCHANGED],
        failed=counts["failed"],
    )


# --- The history, at once ------------------------------------------------------------------

# The platform's after-sale is over: no triage, no clock, no assignment, no message; the case
# is written as it ended (`cases.services.import_finished_cases`).
FINISHED_STAGES = frozenset({Stage.DONE, Stage.CLOSED})

Todo = tuple[int, tuple[Any, ...], ParsedRow, "ImportedAftersale | None"]


def _import_history(
    job: ImportJob, todo: list[Todo], by: Actor, counts: dict[str, int]
) -> list[Todo]:
    """Write the batch's new finished after-sales in one transaction (orders, items, cases,
    their refunds and parcels, the audit events and the reports' counts in a few statements
    each); return the rows left for the row-by-row path: the open ones, the known ones, and
    any the bulk path would not write exactly as the services do (an existing order, two
    after-sales of one order, a shipping refund, an amount the services would refuse, …),
    where the services judge them and a refusal is that row's alone. A database error
    rolls the bulk write back whole and sends its rows the row-by-row way."""
    history = [t for t in todo if t[3] is None and t[2].stage in FINISHED_STAGES]
    if not history:
        return todo
    shop_id = job.shop_id
    rows = [t[2] for t in history]
    orders_seen: dict[str, int] = {}
    for row in rows:
        orders_seen[row.order_id] = orders_seen.get(row.order_id, 0) + 1
    taken_orders = set(
        Order.objects.filter(shop_id=shop_id, platform_order_id__in=list(orders_seen)).values_list(
            "platform_order_id", flat=True
        )
    )
    taken_items = set(
        OrderItem.objects.filter(
            shop_id=shop_id, platform_item_id__in=[r.item_id for r in rows]
        ).values_list("platform_item_id", flat=True)
    )
    bulk: list[tuple[Todo, cs.FinishedCase, Buyer]] = []
    for entry in history:
        row = entry[2]
        if (
            orders_seen[row.order_id] > 1
            or row.order_id in taken_orders
            or row.item_id in taken_items
        ):
            continue
        buyer = Buyer(shop_id=shop_id, platform_buyer_id=f"order-{row.order_id}")
        order = _new_order(shop_id, row, buyer)
        item = OrderItem(
            shop_id=shop_id,
            order=order,
            platform_item_id=row.item_id,
            quantity=1,
            list_price_fen=row.paid_fen,
            paid_amount_fen=row.paid_fen,
        )
        spec = _finished_spec(order, item, row)
        if cs.finished_case_problem(spec) is None:
            bulk.append((entry, spec, buyer))
    if not bulk:
        return todo
    try:
        cases = _write_history(job, bulk, by)
    except Exception:  # noqa: BLE001 - the rows go on one by one, where each is judged
        logger.warning(
            "import %s: bulk write of %s rows failed; row by row", job.pk, len(bulk), exc_info=True
        )
        return todo
    counts[CREATED] += len(cases)
    written = {id(entry) for entry, _spec, _buyer in bulk}
    return [t for t in todo if id(t) not in written]


def _finished_spec(order: Order, item: OrderItem, row: ParsedRow) -> cs.FinishedCase:
    refund_type = row.type in REFUND_TYPES
    goods = row.refund_goods_fen
    # As `_open` asks: the row's refund, or (none, or above what the services take) the
    # item's whole price.
    requested = 0
    if refund_type:
        ceiling = row.paid_fen + row.shipping_fee_fen
        requested = goods if goods is not None and goods <= ceiling else row.paid_fen
    return_parcel = None
    if row.type in RETURNING_TYPES and row.return_tracking:
        carrier = carrier_for(row.return_carrier)
        return_parcel = (
            carrier.code if carrier else (row.return_carrier or "unknown"),
            row.return_tracking,
        )
    buyer_parcel = None
    if row.type in _RECEIVED_TYPES and row.exchange_tracking:
        buyer_parcel = (_carrier_code(row.exchange_carrier), row.exchange_tracking)
    return cs.FinishedCase(
        order=order,
        order_item=item,
        type=row.type,
        reason=row.reason,
        applied_at=row.applied_at,
        platform_case_id=row.aftersale_id,
        outcome=CaseStatus.COMPLETED if row.stage == Stage.DONE else CaseStatus.CLOSED,
        note=f"抖店后台：{row.status_text}",
        buyer_statement=row.buyer_statement,
        requested_amount_fen=requested,
        refund_goods_fen=(goods or 0) if refund_type else 0,
        refund_shipping_fen=(row.refund_shipping_fen or 0) if refund_type else 0,
        return_parcel=return_parcel,
        buyer_parcel=buyer_parcel,
    )


@transaction.atomic
def _write_history(
    job: ImportJob, bulk: list[tuple[Todo, cs.FinishedCase, Buyer]], by: Actor
) -> list[Case]:
    """The bulk write of `_import_history`, all or nothing: the buyers and skus, then the
    orders and cases (`cases.services.import_finished_cases`), then the rows' keys."""
    shop_id = job.shop_id
    buyers = [buyer for _entry, _spec, buyer in bulk]
    existing = {
        b.platform_buyer_id: b
        for b in Buyer.objects.filter(
            shop_id=shop_id, platform_buyer_id__in=[b.platform_buyer_id for b in buyers]
        )
    }
    insert_all(Buyer, [b for b in buyers if b.platform_buyer_id not in existing])
    skus: dict[tuple[str, str], Sku] = {}
    for (_n, _v, row, _k), spec, buyer in bulk:
        spec.order.buyer = existing.get(buyer.platform_buyer_id, buyer)
        key = (row.product_id, row.merchant_code)
        if key not in skus:
            skus[key] = _sku(shop_id, row)
        spec.order_item.sku = skus[key]
    cases = cs.import_finished_cases(specs=[spec for _entry, spec, _buyer in bulk], by=by)
    now = timezone.now()
    insert_all(
        ImportedAftersale,
        [
            ImportedAftersale(
                shop_id=shop_id,
                aftersale_id=row.aftersale_id,
                case=case,
                digest=row.digest,
                status_text=row.status_text,
                job=job,
                updated_at=now,
            )
            for ((_n, _v, row, _k), _spec, _buyer), case in zip(bulk, cases, strict=True)
        ],
    )
    return cases


def _apply_quietly(
    job: ImportJob,
    number: int,
    values: tuple[Any, ...],
    row: ParsedRow,
    key: ImportedAftersale | None,
    by: Actor,
    errors: list[ImportRowError],
) -> str | None:
    """`apply_row` in a savepoint; a refusal becomes the row's error, never the group's."""
    try:
        return apply_row(job=job, row=row, known=key, by=by)
    except DomainError as exc:
        errors.append(_row_error(job, number, values, [_service_problem(exc)]))
    except IntegrityError:
        errors.append(
            _row_error(
                job,
                number,
                values,
                [problem(C.AFTERSALE_ID, _("This after-sale is already a case of the shop."))],
            )
        )
    except Exception:  # noqa: BLE001 - one row's surprise never stops the others
        logger.exception("import %s: row %s failed", job.pk, number)
        errors.append(
            _row_error(
                job, number, values, [problem(C.AFTERSALE_ID, _("This row could not be imported."))]
            )
        )
    return None


# What a service's refusal is about, by the field it names, as the export's column.
_FIELD_COLUMNS = {
    "goods_amount_fen": C.REFUND_GOODS,
    "shipping_amount_fen": C.REFUND_SHIPPING,
    "requested_amount_fen": C.REFUND_GOODS,
    "reason": C.REFUND_GOODS,
    "items": C.ITEM_ID,
}


def _service_problem(exc: DomainError) -> Problem:
    column = _FIELD_COLUMNS.get(exc.field or "", C.STATUS)
    return Problem(column=column, zh=exc.render("zh-hans"), en=exc.render("en"))


def _row_error(
    job: ImportJob, number: int, values: tuple[Any, ...], problems: list[Problem]
) -> ImportRowError:
    return ImportRowError(
        job=job,
        row_number=number,
        aftersale_id=text(values[0]) if values else "",
        problems=[p.as_dict() for p in problems],
        values=[text(v) for v in values],
    )


@transaction.atomic
def _record_done(job: ImportJob, counts: dict[str, int]) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    job.status = ImportStatus.DONE
    job.finished_at = timezone.now()
    job.rows_done = counts["done"]
    job.total_rows = counts["done"]
    job.save(update_fields=["status", "finished_at", "rows_done", "total_rows"])
    record_event(
        shop_id=job.shop_id,
        type=IMPORT_EVENT,
        by=_uploader(job),
        payload={
            "import": job.pk,
            "file": job.file_name,
            "rows": counts["done"],
            "created": counts[CREATED],
            "updated": counts[UPDATED],
            "unchanged": counts[UNCHANGED],
            "refused": counts["failed"],
        },
    )
    return job


def _uploader(job: ImportJob) -> Actor:
    if job.uploaded_by is not None:
        return actor_for_user(job.uploaded_by)
    return Actor(kind="api_key", label=job.uploaded_by_label, shop_roles={})


# --- One row ---------------------------------------------------------------------------------


@transaction.atomic
def apply_row(*, job: ImportJob, row: ParsedRow, known: ImportedAftersale | None, by: Actor) -> str:
    """Bring one after-sale in, all or nothing: the order, the case, the platform's steps,
    the row's key. Returns whether the case was created, moved or left as it was."""
    now = timezone.now()
    if known is None:
        order, item = _upsert_order(job.shop_id, row)
        case = _open(order, item, row, by)
        converge(case, row, by=by)
        ImportedAftersale.objects.create(
            shop_id=job.shop_id,
            aftersale_id=row.aftersale_id,
            case=case,
            digest=row.digest,
            status_text=row.status_text,
            job=job,
            updated_at=now,
        )
        return CREATED
    key = ImportedAftersale.objects.select_for_update().get(pk=known.pk)
    if key.digest == row.digest:
        return UNCHANGED
    steps = converge(key.case, row, by=by)
    ImportedAftersale.objects.filter(pk=key.pk).update(
        digest=row.digest, status_text=row.status_text, job=job, updated_at=now
    )
    return UPDATED if steps else UNCHANGED


_RECEIVED_TYPES = frozenset({CaseType.EXCHANGE, CaseType.RESEND, CaseType.REPAIR})
_ORDER_RANK: dict[str, int] = {
    OrderStatus.UNSHIPPED: 0,
    OrderStatus.SHIPPED: 1,
    OrderStatus.DELIVERED: 2,
}


def _upsert_order(shop_id: int, row: ParsedRow) -> tuple[Order, OrderItem]:
    """The order and the item the after-sale is about, created from the row when the shop
    does not know them yet. The export names no buyer and no payment time: the buyer is the
    order's own, the payment time is taken as the application's (its latest bound). An
    existing item's amounts are never rewritten (refunds were computed against them)."""
    order = (
        Order.objects.select_for_update()
        .filter(shop_id=shop_id, platform_order_id=row.order_id)
        .first()
    )
    received = row.type in _RECEIVED_TYPES
    status = _order_status(row)
    if order is None:
        buyer, _created = Buyer.objects.get_or_create(
            shop_id=shop_id, platform_buyer_id=f"order-{row.order_id}"
        )
        order = _new_order(shop_id, row, buyer)
        order.save(force_insert=True)
        new_order = True
    else:
        new_order = False
        changed: dict[str, Any] = {}
        if row.shipping_fee_fen > order.shipping_fee_paid_fen:
            changed["shipping_fee_paid_fen"] = row.shipping_fee_fen
        if _ORDER_RANK.get(status, 0) > _ORDER_RANK.get(order.status, 99):
            changed["status"] = status
            changed["shipped_at"] = order.shipped_at or row.applied_at
            if received:
                changed["delivered_at"] = order.delivered_at or row.applied_at
        if changed:
            for name, value in changed.items():
                setattr(order, name, value)
            order.save(update_fields=list(changed))
    item = OrderItem.objects.filter(shop_id=shop_id, platform_item_id=row.item_id).first()
    if item is not None:
        if item.order_id != order.pk:
            raise InvalidInput(_("This item belongs to another order."), field="items")
        return order, item
    item = OrderItem.objects.create(
        shop_id=shop_id,
        order=order,
        sku=_sku(shop_id, row),
        platform_item_id=row.item_id,
        quantity=1,
        list_price_fen=row.paid_fen,
        paid_amount_fen=row.paid_fen,
    )
    # As every writer of orders does: the reports' daily totals (orders, paid).
    count_order(order, [item], new_order=new_order)
    return order, item


def _order_status(row: ParsedRow) -> str:
    # An exchange, a resend or a repair says the buyer has the goods; the export gives no
    # time of signing, the application is its latest bound.
    if row.type in _RECEIVED_TYPES:
        return OrderStatus.DELIVERED
    return OrderStatus.SHIPPED if row.shipped else OrderStatus.UNSHIPPED


def _new_order(shop_id: int, row: ParsedRow, buyer: Buyer) -> Order:
    """The order of a row the shop does not know yet (unsaved)."""
    status = _order_status(row)
    return Order(
        shop_id=shop_id,
        buyer=buyer,
        platform_order_id=row.order_id,
        status=status,
        paid_at=row.applied_at,
        shipped_at=row.applied_at if status != OrderStatus.UNSHIPPED else None,
        delivered_at=row.applied_at if status == OrderStatus.DELIVERED else None,
        shipping_fee_paid_fen=row.shipping_fee_fen,
    )


def _sku(shop_id: int, row: ParsedRow) -> Sku:
    product, _created = Product.objects.get_or_create(
        shop_id=shop_id,
        platform_product_id=row.product_id,
        defaults={"name": row.product_name, "category": Category.GENERAL},
    )
    sku_id = f"{row.product_id}:{row.merchant_code}" if row.merchant_code else row.product_id
    sku, _created = Sku.objects.get_or_create(
        shop_id=shop_id,
        platform_sku_id=sku_id[:64],
        defaults={"product": product, "spec": row.merchant_code, "list_price_fen": row.paid_fen},
    )
    return sku


def _open(order: Order, item: OrderItem, row: ParsedRow, by: Actor) -> Case:
    requested = row.refund_goods_fen if row.type in REFUND_TYPES else None

    def asking(amount: int | None) -> Case:
        return receive_case(
            order=order,
            type=row.type,
            reason=row.reason,
            items=[cs.RequestedItem(order_item=item, quantity=1)],
            by=by,
            buyer_statement=row.buyer_statement,
            requested_amount_fen=amount,
            platform_case_id=row.aftersale_id,
            applied_at=row.applied_at,
        )

    if requested is None:
        return asking(None)
    try:
        with transaction.atomic():
            return asking(requested)
    except InvalidInput as exc:
        if exc.field != "requested_amount_fen":
            raise
        return asking(None)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], Any]


def converge(case: Case, row: ParsedRow, *, by: Actor, max_steps: int = 10) -> list[str]:
    """Take the steps the platform has already taken, one service at a time, until the case
    is where the row says it is (never back: a case ahead of the row stays)."""
    taken: list[str] = []
    for _step in range(max_steps):
        case = Case.objects.get(pk=case.pk)
        step = next_step(case, row, by=by)
        if step is None:
            break
        step.run()
        taken.append(step.name)
    return taken


def next_step(case: Case, row: ParsedRow, *, by: Actor) -> Step | None:
    """The one service call that brings the case a step closer to the row, or None."""
    status = case.status
    label = row.status_text
    if status in TERMINAL_STATUSES or row.stage == Stage.PENDING:
        return None
    if row.stage == Stage.CLOSED:
        if can_withdraw(case):
            return Step("withdraw", lambda: cs.withdraw_case(case=case, by=by))
        if can_close(case) and status == CaseStatus.REJECTED:
            note = f"抖店后台：{label}"
            return Step("close", lambda: cs.close_case(case=case, note=note, by=by))
        return None
    if row.stage == Stage.REJECTED:
        if can_reject(case):
            return Step(
                "reject",
                lambda: cs.reject_case(
                    case=case,
                    reason_code="agreed_other_solution",
                    note=f"商家已在抖店后台拒绝（{label}）",
                    by=by,
                ),
            )
        return None
    # From here the platform has agreed.
    if status in (CaseStatus.PENDING_REVIEW, CaseStatus.AWAITING_EVIDENCE):
        note = f"抖店后台已同意（{label}）"
        return Step("approve", lambda: cs.approve_case(case=case, note=note, by=by))
    if status == CaseStatus.AWAITING_RETURN:
        if case.return_status == ReturnStatus.AWAITING_SHIPMENT and row.return_tracking:
            carrier = carrier_for(row.return_carrier)
            return Step(
                "return_shipped",
                lambda: cs.record_return_shipment(
                    case=case,
                    carrier=carrier.code if carrier else (row.return_carrier or "unknown"),
                    tracking_number=row.return_tracking,
                    by=by,
                ),
            )
        if row.stage >= Stage.BUYER_SHIPPED:
            return Step("return_received", lambda: cs.receive_return(case=case, by=by))
        return None
    if status == CaseStatus.AWAITING_SHIPMENT and case.type in _RECEIVED_TYPES:
        return _to_buyer_step(case, row, by)
    if status == CaseStatus.AWAITING_BUYER_RECEIPT:
        reship = _reship_step(case, row, by)
        if reship is not None:
            return reship
        if row.stage >= Stage.DONE:
            return Step("buyer_received", lambda: cs.confirm_buyer_receipt(case=case, by=by))
        return None
    if row.stage < Stage.BUYER_SHIPPED:
        return None
    if status == CaseStatus.AWAITING_INSPECTION:
        return Step(
            "inspected",
            lambda: cs.inspect_return(
                case=case,
                result="pass",
                condition="good",
                notes=f"抖店后台已确认收货（{label}）",
                by=by,
            ),
        )
    if status == CaseStatus.PENDING_FINAL_REVIEW:
        note = f"抖店后台已同意（{label}）"
        return Step(
            "final_approve", lambda: cs.approve_after_inspection(case=case, note=note, by=by)
        )
    if (
        status == CaseStatus.AWAITING_REFUND
        and case.type in REFUND_TYPES | {CaseType.EXCHANGE}
        and row.stage >= Stage.DONE
    ):
        decision = RefundDecision.objects.filter(case=case).first()
        if decision is None:
            return Step("refund", lambda: _refund(case, row, by))
        execution = RefundExecution.objects.filter(decision=decision).first()
        if execution is not None and execution.status in (
            ExecutionStatus.PENDING,
            ExecutionStatus.FAILED,
        ):
            return Step("refund_executed", lambda: cs.execute_refund(execution=execution, by=by))
        return None
    return None


def _carrier_code(value: str) -> str:
    carrier = carrier_for(value)
    return carrier.code if carrier else (value or "unknown")


def _to_buyer_step(case: Case, row: ParsedRow, by: Actor) -> Step | None:
    """The merchant shipped the replacement, the resend (补寄) or the repaired goods in the
    back-office: the parcel with the row's 换货物流单号, through the case's service. An
    exchange's replacement passes the quality check first (R4.3); the back-office shipped it,
    so the check is recorded as the platform's, saying so."""
    if row.stage < Stage.BUYER_SHIPPED or not row.exchange_tracking:
        return None
    carrier = _carrier_code(row.exchange_carrier)
    number = row.exchange_tracking
    label = row.status_text
    if case.type == CaseType.EXCHANGE:
        latest = case.quality_checks.order_by("-checked_at", "-pk").first()
        if latest is None or not latest.passed:
            return Step(
                "quality_checked",
                lambda: cs.record_quality_check(
                    case=case,
                    quality_ok=True,
                    packaging_intact=True,
                    notes=f"商家已在抖店后台发出换货商品（{label}），未在本系统质检",
                    by=by,
                ),
            )
        return Step(
            "replacement_shipped",
            lambda: cs.ship_replacement(case=case, carrier=carrier, tracking_number=number, by=by),
        )
    if case.type == CaseType.RESEND:
        return Step(
            "items_resent",
            lambda: cs.resend_items(case=case, carrier=carrier, tracking_number=number, by=by),
        )
    return Step(
        "repaired_goods_shipped",
        lambda: cs.return_repaired(
            case=case,
            carrier=carrier,
            tracking_number=number,
            repair_notes=f"抖店后台已寄回维修商品（{label}）",
            by=by,
        ),
    )


def _reship_step(case: Case, row: ParsedRow, by: Actor) -> Step | None:
    """A later export names another 换货物流单号 than the parcel on its way: the merchant
    sent it again (or corrected the number) in the back-office. Once: the same number
    again finds the new parcel the latest."""
    number = row.exchange_tracking
    if not number or row.stage < Stage.BUYER_SHIPPED:
        return None
    latest = (
        Shipment.objects.filter(case=case, kind__in=cs.BUYER_SHIPMENT_KINDS)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None or latest.tracking_number.strip().lower() == number.strip().lower():
        return None
    carrier = _carrier_code(row.exchange_carrier) if row.exchange_carrier else latest.carrier
    note = f"抖店后台换货物流单号已改为 {number}（原 {latest.tracking_number}）"
    return Step(
        "reshipped",
        lambda: cs.reship_to_buyer(
            case=case, carrier=carrier, tracking_number=number, note=note, by=by
        ),
    )


def _refund(case: Case, row: ParsedRow, by: Actor) -> None:
    """The platform refunded what the row says: the goods amount and the shipping, within
    our caps (a refund above them refuses the whole row)."""
    cs.refund_case(
        case=case,
        goods_amount_fen=row.refund_goods_fen,
        shipping_amount_fen=row.refund_shipping_fen or 0,
        return_postage_fen=0,
        reason=f"抖店后台已退款（{row.status_text}）",
        by=by,
    )


# --- The error sheet -------------------------------------------------------------------------


def error_sheet(job: ImportJob, *, language: str) -> bytes:
    """The refused rows as a workbook: row number, column, reason, then the row as it was
    (fix it there and upload the sheet again)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误行" if language.startswith("zh") else "Refused rows")
    zh = language.startswith("zh")
    head = ["行号", "列", "原因"] if zh else ["Row", "Column", "Reason"]
    sheet.append([*head, *C.HEADERS])
    for error in job.row_errors.order_by("row_number").iterator(chunk_size=1000):
        for item in error.problems:
            sheet.append(
                [error.row_number, item["column"], item["zh" if zh else "en"], *error.values]
            )
    out = BytesIO()
    book.save(out)
    return out.getvalue()
