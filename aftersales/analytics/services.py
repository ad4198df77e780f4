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
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange
from aftersales.catalog.models import Product
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.orders.choices import Packaging, ShipmentKind
from aftersales.orders.models import Shipment
from aftersales.platforms.adapter import adapter_for_case
from aftersales.shops.choices import REVEAL_ROLES, WRITE_ROLES, Role
from aftersales.shops.services import actor_for_user

from . import workbooks
from .costs import BY as COST_BY
from .costs import costs_by, damage_by_carrier
from .improvements import measure
from .models import (
    Export,
    ExportKind,
    ExportStatus,
    FollowUp,
    GoodCase,
    Improvement,
    ImprovementKind,
    Survey,
)
from .overview import DIMENSIONS, cut_cases, overview
from .periods import Period, custom_period, shanghai_today
from .platform_metrics import platform_metrics
from .problems import problem_products
from .scope import Cuts, Scope, scope_for

logger = logging.getLogger(__name__)

EXPORT_EVENT = "report_exported"
CUT_FIELDS = (
    "shop",
    "category",
    "product",
    "sku",
    "reason",
    "type",
    "agent",
    "carrier",
    "channel",
    "live_room",
)


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


# The queue's query parameters an export of it keeps (R8.7): its filters and buckets, not
# its page.
QUEUE_FILTERS = (
    "q",
    "shop",
    "type",
    "status",
    "category",
    "reason",
    "vip",
    "out_of_sync",
    "assignee",
    "sla",
    "handover",
    "platform_due",
    "sort",
)


def queue_export_filters(params: Any) -> dict[str, str]:
    """The queue's filter as the export stores it: the set parameters among QUEUE_FILTERS,
    as the page's query string gave them (`params`, a QueryDict or a dict)."""
    return {name: str(params.get(name)) for name in QUEUE_FILTERS if params.get(name)}


def queue_cases(actor: Actor, filters: dict[str, Any]) -> QuerySet[Case]:
    """The cases the queue shows the actor under `filters`, through the edge's declared
    filter (`settings.AFTERSALES_CASE_LIST_FILTER`): analytics does not import the
    workbench."""
    cases: QuerySet[Case] = import_string(settings.AFTERSALES_CASE_LIST_FILTER)(actor, filters)
    return cases


def _queue_shop(actor: Actor, filters: dict[str, Any]) -> int | None:
    try:
        return int(filters["shop"]) if filters.get("shop") else None
    except (TypeError, ValueError):
        return None


def _scope_of(actor: Actor, filters: dict[str, Any], kind: str = "") -> Scope:
    if kind == ExportKind.QUEUE:
        # The queue's filter is not the reports' cuts: only its shop narrows the scope.
        return scope_for(actor, Cuts(shop=_queue_shop(actor, filters)))
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
    scope = _scope_of(by, filters, kind)
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
        scope = _scope_of(actor, export.filters, export.kind)
        book = workbooks.new_book()
        if export.kind == ExportKind.QUEUE:
            # Today's queue under the filter, of the export's shops only.
            cases = queue_cases(actor, export.filters).filter(shop_id__in=scope.shop_ids)
            Export.objects.filter(pk=export.pk).update(total_rows=cases.count())
            rows = workbooks.write_cases(
                book,
                cases,
                clear_shop_ids=set(export.clear_shop_ids),
                progress=lambda n: _count_rows(export, n),
            )
        else:
            period = _period_of(export.filters)
            if export.kind == ExportKind.CASES:
                cases = cut_cases(scope).filter(
                    applied_at__gte=period.start, applied_at__lt=period.end
                )
                Export.objects.filter(pk=export.pk).update(total_rows=cases.count())
                rows = workbooks.write_cases(
                    book,
                    cases,
                    clear_shop_ids=set(export.clear_shop_ids),
                    progress=lambda n: _count_rows(export, n),
                )
            elif export.kind == ExportKind.PRODUCTS:
                rows = workbooks.write_products(book, problem_products(scope, period))
            elif export.kind == ExportKind.COSTS:
                tables = [
                    (key, label, costs_by(scope, period, key)) for key, label in COST_BY.items()
                ]
                rows = workbooks.write_costs(
                    book,
                    tables,
                    damage_by_carrier(scope, period),
                    damage_by_carrier(scope, period, by_packaging=True),
                )
            elif export.kind == ExportKind.PLATFORM:
                rows = workbooks.write_platform(book, platform_metrics(scope, period))
            elif export.kind == ExportKind.IMPROVEMENTS:
                effects = [measure(improvement) for improvement in improvements_for(scope)]
                rows = workbooks.write_improvements(book, effects)
            elif export.kind == ExportKind.SATISFACTION:
                library = GoodCase.objects.filter(shop_id__in=scope.shop_ids).order_by("-added_at")
                rows = workbooks.write_satisfaction(
                    book, csat_by_agent(scope, period), list(library)
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
    prefixes: dict[str, str] = {
        ExportKind.CASES: "售后单",
        ExportKind.QUEUE: "售后工作台",
        ExportKind.PRODUCTS: "问题商品",
        ExportKind.COSTS: "售后成本",
        ExportKind.PLATFORM: "平台服务指标",
        ExportKind.IMPROVEMENTS: "改进追踪",
        ExportKind.SATISFACTION: "满意度",
    }
    prefix = prefixes.get(export.kind, "售后数据概览")
    return f"{prefix}-{stamp:%Y-%m-%d %H_%M_%S}.xlsx"


# --- Improvements (R8.4) ---------------------------------------------------------------------

IMPROVEMENT_EVENT = "improvement_recorded"


@transaction.atomic
def record_improvement(
    *, product_id: int, kind: str, description: str, changed_on: date, by: Actor
) -> Improvement:
    """Record a change made to a product on a day, for its effect to be measured."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None or (not by.is_unscoped and product.shop_id not in by.shop_roles):
        raise NotFound(_("Product not found."))
    if not by.is_unscoped and by.role_in(product.shop_id) not in WRITE_ROLES:
        raise PermissionDenied(_("Your role may read the reports but not record changes."))
    if kind not in ImprovementKind.values:
        raise InvalidInput(_("Unknown kind of change."))
    description = description.strip()
    if not description or len(description) > 500:
        raise InvalidInput(_("Say what changed, in at most 500 characters."))
    if changed_on > shanghai_today() + timedelta(days=366):
        raise InvalidInput(_("The day of the change is too far ahead."))
    improvement = Improvement.objects.create(
        shop_id=product.shop_id,
        product=product,
        kind=kind,
        description=description,
        changed_on=changed_on,
        recorded_by=by.label,
        recorded_at=timezone.now(),
    )
    record_event(
        shop_id=product.shop_id,
        type=IMPROVEMENT_EVENT,
        by=by,
        payload={
            "improvement": improvement.pk,
            "product": product.pk,
            "kind": kind,
            "changed_on": changed_on.isoformat(),
            "description": description,
        },
    )
    return improvement


def improvements_for(scope: Scope) -> list[Improvement]:
    return list(
        Improvement.objects.filter(shop_id__in=scope.shop_ids)
        .select_related("product")
        .order_by("-changed_on", "-pk")
    )


# --- Satisfaction (R8.6, R9.3) -----------------------------------------------------------------

SURVEY_CAUSE = "satisfaction_survey"
# A case has ended for the buyer: refunded, goods received, closed, withdrawn.
CASE_ENDS = frozenset(
    {
        CaseEvent.REFUND_EXECUTED,
        CaseEvent.BUYER_RECEIVED,
        CaseEvent.CASE_CLOSED,
        CaseEvent.CASE_WITHDRAWN,
    }
)
LOW_SCORE = 3  # this or lower gets a supervisor's follow-up
COMMENT_MAX_LENGTH = 1000


def survey_text(survey: Survey) -> str:
    """What the buyer reads, in Chinese whatever the staff's screen language."""
    base = settings.AFTERSALES_PUBLIC_BASE_URL
    link = base.rstrip("/") + reverse("analytics:survey", args=[survey.token])
    return f"您的售后已处理完毕。请为本次服务打分（1–5 分），并留下您的意见：{link}"


def offer_survey(change: CaseChange) -> None:
    """In the event's transaction: when a case ends, one survey, sent through the case's
    platform (its message channel for a linked shop; kept for the staff otherwise)."""
    if change.event not in CASE_ENDS:
        return
    case = change.case
    # A case ends once: the events that end it move it into a terminal status, which has no
    # way out (`cases/transitions.py`). One that was not ended before the event has no survey
    # yet: nothing to look up (issue 16); the survey's unique case says the same again.
    first_end = change.previous_status not in TERMINAL_STATUSES and case.status in TERMINAL_STATUSES
    if not first_end and Survey.objects.filter(case_id=case.pk).exists():
        return
    survey = Survey.objects.create(
        shop_id=case.shop_id,
        case_id=case.pk,
        token=secrets.token_urlsafe(32),
        agent_id=case.assignee_id,
        sent_at=timezone.now(),
    )
    adapter_for_case(case).send_to_buyer(case, survey_text(survey), cause=SURVEY_CAUSE)


@transaction.atomic
def answer_survey(*, survey: Survey, score: int, comment: str, by: Actor) -> Survey:
    """The buyer's answer, once. A score of 3 or less opens a follow-up for the supervisor."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.answered_at is not None:
        raise Conflict(_("This survey has already been answered. Thank you."))
    if score not in range(1, 6):
        raise InvalidInput(_("The score is from 1 to 5."))
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidInput(_("A comment is at most %(max)d characters."), max=COMMENT_MAX_LENGTH)
    survey.score, survey.comment, survey.answered_at = score, comment, timezone.now()
    survey.save(update_fields=["score", "comment", "answered_at"])
    if score <= LOW_SCORE:
        FollowUp.objects.create(
            shop_id=survey.shop_id, survey=survey, case_id=survey.case_id, created_at=timezone.now()
        )
    record_event(
        shop_id=survey.shop_id,
        case_id=survey.case_id,
        type="survey_answered",
        by=by,
        payload={"survey": survey.pk, "score": score, "follow_up": score <= LOW_SCORE},
    )
    return survey


FOLLOW_UP_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def get_follow_up_for_actor(actor: Actor, pk: int) -> FollowUp:
    follow_up = FollowUp.objects.filter(pk=pk, shop_id__in=list(actor.shop_roles)).first()
    if follow_up is None:
        raise NotFound(_("Follow-up not found."))
    return follow_up


@transaction.atomic
def record_callback(*, follow_up: FollowUp, note: str, by: Actor) -> FollowUp:
    """The supervisor called the buyer back: what was said, on the record."""
    if by.role_in(follow_up.shop_id) not in FOLLOW_UP_ROLES:
        raise PermissionDenied(_("Follow-ups are for supervisors and shop admins."))
    note = note.strip()
    if not note:
        raise InvalidInput(_("Say what the callback found."))
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.called_back_at is not None:
        raise Conflict(_("The callback is already recorded."))
    follow_up.callback_note = note[:COMMENT_MAX_LENGTH]
    follow_up.called_back_by = by.label
    follow_up.called_back_at = timezone.now()
    follow_up.save(update_fields=["callback_note", "called_back_by", "called_back_at"])
    record_event(
        shop_id=follow_up.shop_id,
        case_id=follow_up.case_id,
        type="callback_recorded",
        by=by,
        payload={"follow_up": follow_up.pk, "note": follow_up.callback_note},
    )
    return follow_up


PACKAGING_EVENT = "packaging_recorded"


@transaction.atomic
def record_packaging(*, case: Case, shipment_id: int, packaging: str, by: Actor) -> Shipment:
    """Record how the order's outbound parcel was packed (the damage-in-transit-by-packaging
    figure reads it, R11.1): from the case page, by a role that works cases."""
    if not by.is_unscoped and by.role_in(case.shop_id) not in WRITE_ROLES:
        raise PermissionDenied(_("Your role may not record how a parcel was packed."))
    if packaging not in Packaging.values:
        raise InvalidInput(_("Unknown packaging."))
    shipment = (
        Shipment.objects.select_for_update()
        .filter(
            pk=shipment_id,
            shop_id=case.shop_id,
            order_id=case.order_id,
            kind=ShipmentKind.OUTBOUND,
        )
        .first()
    )
    if shipment is None:
        raise NotFound(_("Parcel not found."))
    before = shipment.packaging
    shipment.packaging = packaging
    shipment.save(update_fields=["packaging"])
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=PACKAGING_EVENT,
        by=by,
        payload={"shipment": shipment.pk, "packaging": packaging, "before": before},
    )
    return shipment


@transaction.atomic
def add_good_case(*, case: Case, note: str, by: Actor) -> GoodCase:
    """Put a case in the shop's good-case library (any role that works cases)."""
    if by.role_in(case.shop_id) not in WRITE_ROLES:
        raise PermissionDenied(_("Your role may read the reports but not change the library."))
    note = note.strip()
    if not note:
        raise InvalidInput(_("Say why the case is a good example."))
    if GoodCase.objects.filter(case_id=case.pk).exists():
        raise Conflict(_("The case is already in the library."))
    good = GoodCase.objects.create(
        shop_id=case.shop_id,
        case_id=case.pk,
        note=note[:500],
        added_by=by.label,
        added_at=timezone.now(),
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type="good_case_added",
        by=by,
        payload={"note": good.note},
    )
    return good


@dataclass(frozen=True)
class Csat:
    """Satisfaction of answered surveys: CSAT is the share scoring 4 or 5."""

    agent_id: int | None
    label: str
    answered: int
    satisfied: int
    score_sum: int

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    @property
    def average(self) -> float | None:
        return self.score_sum / self.answered if self.answered else None


def csat_by_agent(scope: Scope, period: Period) -> list[Csat]:
    """Per agent (who had the case when it ended), the surveys answered in the period."""
    rows = (
        Survey.objects.filter(
            shop_id__in=scope.shop_ids,
            answered_at__gte=period.start,
            answered_at__lt=period.end,
        )
        .values("agent_id")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(score__gte=4)), total=Sum("score"))
    )
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[r["agent_id"] for r in rows if r["agent_id"]])
        .values_list("pk", "username")
    )
    return sorted(
        (
            Csat(
                agent_id=r["agent_id"],
                label=names.get(r["agent_id"], "—"),
                answered=r["n"],
                satisfied=r["ok"],
                score_sum=r["total"] or 0,
            )
            for r in rows
        ),
        key=lambda c: (c.label == "—", c.label),
    )
