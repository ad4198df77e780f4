"""The analytics services: exports (R8.7, R6.5).

Like every service: keyword-only, an actor always, one transaction for each change, the
audit event in it. An export is asked for (`request_export`: the scope checked, the row
written, the task queued after commit), written by the worker (`run_export`: claimed once,
streamed to a file, progress counted as it goes), and recorded on the audit trail of every
shop in it when it is done (who, when, what filter, how many rows, personal data in clear or
masked) in the transaction that makes it downloadable.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.shops.choices import REVEAL_ROLES
from aftersales.shops.services import actor_for_user

from . import workbooks
from .models import Export, ExportKind, ExportStatus
from .overview import DIMENSIONS, cut_cases, overview
from .periods import Period, custom_period
from .scope import Cuts, Scope, scope_for

logger = logging.getLogger(__name__)

EXPORT_EVENT = "report_exported"
CUT_FIELDS = ("shop", "category", "product", "sku", "reason", "type", "agent", "carrier")


def _period_of(filters: dict[str, Any]) -> Period:
    """The days fixed when the export was asked for ("last 7 days" does not move if the
    worker gets to it after midnight)."""
    return custom_period(date.fromisoformat(filters["first"]), date.fromisoformat(filters["last"]))


def export_filters(
    *, period: Period, cuts: Cuts, by: str = "", period_key: str = ""
) -> dict[str, Any]:
    """The filter as it is stored on the export and on the audit trail."""
    return {
        "period": period_key or "custom",
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        **cuts.as_params(),
        **({"by": by} if by else {}),
    }


def _scope_of(actor: Actor, filters: dict[str, Any]) -> Scope:
    cuts = Cuts(**{name: filters[name] for name in CUT_FIELDS if name in filters})
    return scope_for(actor, cuts)


@transaction.atomic
def request_export(*, kind: str, filters: dict[str, Any], by: Actor) -> Export:
    """Ask for an export of the actor's shops; it is written in the background."""
    if kind not in ExportKind.values:
        raise InvalidInput(_("Unknown kind of export."))
    if by.user_id is None:
        raise InvalidInput(_("Exports are for people logged in."))
    if filters.get("by") and filters["by"] not in DIMENSIONS:
        raise InvalidInput(_("Unknown breakdown."))
    scope = _scope_of(by, filters)
    if not scope.shop_ids:
        raise NotFound(_("Shop not found."))
    export = Export.objects.create(
        requested_by_id=int(by.user_id),
        kind=kind,
        shop_ids=list(scope.shop_ids),
        clear_shop_ids=[pk for pk in scope.shop_ids if by.role_in(pk) in REVEAL_ROLES],
        filters=filters,
        created_at=timezone.now(),
    )
    transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: int) -> None:
    from .tasks import run_export_task

    run_export_task.enqueue(export_id)


def get_export_for_actor(actor: Actor, pk: int) -> Export:
    """An export its requester may still see: theirs, and every shop in it still theirs."""
    export = Export.objects.filter(pk=pk, requested_by_id=actor.user_id).first()
    if export is None or not set(export.shop_ids) <= set(actor.shop_roles):
        raise NotFound(_("Export not found."))
    return export


def run_export(*, export: Export) -> Export:
    """Write the export's file (outside any transaction: it may take minutes), then record
    it. Safe to run twice: the claim lets one worker through."""
    claimed = Export.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING
    )
    if claimed != 1:
        return Export.objects.get(pk=export.pk)
    export.refresh_from_db()
    # The requester's shops as they are now: someone who left a shop exports nothing of it.
    actor = actor_for_user(export.requested_by)
    try:
        shop_ids = [pk for pk in export.shop_ids if pk in actor.shop_roles]
        if shop_ids != export.shop_ids:
            raise NotFound(_("Shop not found."))
        scope = _scope_of(actor, export.filters)
        period = _period_of(export.filters)
        book = workbooks.new_book()
        if export.kind == ExportKind.CASES:
            cases = cut_cases(scope).filter(applied_at__gte=period.start, applied_at__lt=period.end)
            Export.objects.filter(pk=export.pk).update(total_rows=cases.count())
            rows = workbooks.write_cases(
                book,
                cases,
                clear_shop_ids=set(export.clear_shop_ids),
                progress=lambda n: _count_rows(export, n),
            )
        else:
            ov = overview(scope, period, compare=True, by=export.filters.get("by", ""))
            rows = workbooks.write_overview(book, ov)
        name = _store(book, export)
    except Exception as exc:  # noqa: BLE001 - any failure is shown on the export, not lost
        logger.exception("export %s failed", export.pk)
        message = exc.render("zh-hans") if hasattr(exc, "render") else str(exc)
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=message[:2000], finished_at=timezone.now()
        )
        return Export.objects.get(pk=export.pk)
    return _record_done(export=export, file_name=name, rows=rows, by=actor)


def _count_rows(export: Export, rows: int) -> None:
    """Progress for the status fragment, outside any transaction so the page sees it."""
    Export.objects.filter(pk=export.pk).update(rows_written=rows)


def _store(book: Any, export: Export) -> str:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "export.xlsx"
        book.save(str(path))
        with path.open("rb") as handle:
            return default_storage.save(f"exports/{uuid.uuid4().hex}.xlsx", File(handle))


@transaction.atomic
def _record_done(*, export: Export, file_name: str, rows: int, by: Actor) -> Export:
    export = Export.objects.select_for_update().get(pk=export.pk)
    export.file.name = file_name
    export.status = ExportStatus.DONE
    export.total_rows = rows
    export.rows_written = rows
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "status", "total_rows", "rows_written", "finished_at"])
    for shop_id in export.shop_ids:
        record_event(
            shop_id=shop_id,
            type=EXPORT_EVENT,
            by=by,
            payload={
                "export": export.pk,
                "kind": export.kind,
                "filter": export.filters,
                "rows": rows,
                "shops": export.shop_ids,
                "personal_data": "clear" if shop_id in export.clear_shop_ids else "masked",
            },
        )
    return export


def export_file_name(export: Export) -> str:
    """As the platform names its own: 售后单-YYYY-MM-DD HH_MM_SS.xlsx, in Shanghai time."""
    stamp = workbooks.shanghai(export.finished_at or export.created_at)
    prefix = "售后单" if export.kind == ExportKind.CASES else "售后数据概览"
    return f"{prefix}-{stamp:%Y-%m-%d %H_%M_%S}.xlsx"
