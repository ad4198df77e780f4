"""The analytics figures in the REST API (`/api/v1/analytics/…`), mounted by `api/api.py`.

The same functions as the pages, the same scope: an API key reads its one shop, a session
user their shops; another shop is a 404. Rates are fractions (0.0123 = 1.23 %), money is
integer fen, durations are seconds, days are Asia/Shanghai days.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict
from aftersales.core.limits import CARRIER_MAX_LENGTH, CODE_MAX_LENGTH
from aftersales.core.replica import reading_reports

from .definitions import FIGURES
from .models import Export, ExportStatus
from .overview import DIMENSIONS, Overview, overview
from .periods import PRESETS, Period, custom_period, preset_period
from .platform_metrics import platform_metrics
from .problems import finding_as_dict, problem_products
from .scope import Cuts, scope_for
from .services import export_file_name, export_filters, get_export_for_actor, request_export

router = Router(tags=["analytics"])


def from_replica(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The figures are read from the replica if there is one (`core.replica`)."""

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading_reports():
            return endpoint(*args, **kwargs)

    return wrapper


PeriodKey = Literal["today", "7d", "30d", "90d", "custom"]


class ReportQuery(Schema):
    period: PeriodKey = "30d"
    start: date | None = None
    end: date | None = None
    shop: int | None = None
    category: str = Field("", max_length=CODE_MAX_LENGTH)
    product: int | None = None
    sku: int | None = None
    reason: str = Field("", max_length=CODE_MAX_LENGTH)
    type: str = Field("", max_length=CODE_MAX_LENGTH)
    agent: int | None = None
    carrier: str = Field("", max_length=CARRIER_MAX_LENGTH)
    channel: Literal["", "live", "video", "other"] = ""
    live_room: str = Field("", max_length=32)

    def get_period(self) -> Period:
        if self.period in PRESETS:
            return preset_period(self.period)
        return custom_period(self.start, self.end)

    def get_cuts(self) -> Cuts:
        return Cuts(
            shop=self.shop,
            category=self.category,
            product=self.product,
            sku=self.sku,
            reason=self.reason,
            type=self.type,
            agent=self.agent,
            carrier=self.carrier.strip(),
            channel=self.channel,
            live_room=self.live_room.strip(),
        )


class OverviewQuery(ReportQuery):
    compare: bool = True
    by: Literal[
        "",
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
    ] = ""


class ProblemQuery(ReportQuery):
    period: PeriodKey = "90d"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def overview_body(ov: Overview) -> dict[str, Any]:
    """The overview as the API and the export give it."""
    return {
        "period": {
            "first": ov.period.first.isoformat(),
            "last": ov.period.last.isoformat(),
            "days": ov.period.days,
            "time_zone": "Asia/Shanghai",
        },
        "shops": list(ov.scope.shop_ids),
        "cuts": ov.scope.cuts.as_params(),
        "totals": ov.totals.as_dict(),
        "previous": ov.previous.as_dict() if ov.previous else None,
        "days": [row.as_dict() for row in ov.days],
        "reasons": [
            {
                "reason": r.code,
                "label": r.label,
                "responsible": r.responsible,
                "cases": r.cases,
                "share": r.share,
            }
            for r in ov.reasons
        ],
        "responsible": {r.code: {"cases": r.cases, "share": r.share} for r in ov.responsible},
        "times": {
            t.key: {
                "count": t.count,
                "median_seconds": _seconds(t.median),
                "p90_seconds": _seconds(t.p90),
            }
            for t in ov.times
        },
        "sla": {s.kind: {"total": s.total, "met": s.met, "rate": s.rate} for s in ov.sla},
        "by": ov.by or None,
        "breakdown": [row.as_dict() for row in ov.breakdown],
        "definitions": {key: str(f.definition) for key, f in FIGURES.items()},
    }


@router.get("/overview", summary="After-sales rate, refund rate, reasons, times, SLA (R8.1)")
@from_replica
def get_overview(request: HttpRequest, query: Query[OverviewQuery]) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    scope = scope_for(actor, query.get_cuts())
    by = query.by if query.by in DIMENSIONS else ""
    return overview_body(overview(scope, query.get_period(), compare=query.compare, by=by))


@router.get("/problem-products", summary="Products that stand out from their category (R8.2)")
@from_replica
def get_problem_products(request: HttpRequest, query: Query[ProblemQuery]) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    period = query.get_period()
    findings = problem_products(scope_for(actor, query.get_cuts()), period)
    return {
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        "products": [finding_as_dict(f) for f in findings],
    }


def _value_body(value: Any) -> dict[str, Any]:
    return {
        "value": value.value,
        "unit": value.unit,
        "numerator": value.numerator,
        "denominator": value.denominator,
    }


@router.get("/platform-metrics", summary="The platform's own service metrics, versioned")
@from_replica
def get_platform_metrics(request: HttpRequest, query: Query[ProblemQuery]) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    period = query.get_period()
    reports = platform_metrics(scope_for(actor, query.get_cuts()), period)
    return {
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        "metrics": {
            report.metric: {
                "parts": [
                    {
                        "version": version.name,
                        "effective_from": version.effective_from.isoformat(),
                        "effective_to": (
                            version.effective_to.isoformat() if version.effective_to else None
                        ),
                        "definition": str(version.definition),
                        "first": part.first.isoformat(),
                        "last": part.last.isoformat(),
                        **_value_body(value),
                        "cases": [{"case": m.key, "effect": m.effect} for m in value.cases],
                        "agents": [
                            {"agent": m.key, "name": m.label, "cases": m.count, "effect": m.effect}
                            for m in value.agents
                        ],
                    }
                    for version, part, value in report.parts
                ],
                "weeks": [
                    {"version": v.name, "first": p.first.isoformat(), **_value_body(value)}
                    for v, p, value in report.trend
                ],
            }
            for report in reports
        },
    }


# --- Exports (R8.7, R6.5): start, poll, download ---------------------------------------------

ExportKindKey = Literal[
    "overview", "cases", "products", "costs", "platform", "improvements", "satisfaction"
]


class ExportIn(OverviewQuery):
    kind: ExportKindKey


def export_body(export: Export) -> dict[str, Any]:
    done = export.status == ExportStatus.DONE
    return {
        "id": export.pk,
        "kind": export.kind,
        "status": export.status,
        "filter": export.filters,
        "rows_written": export.rows_written,
        "total_rows": export.total_rows,
        "error": export.error or None,
        "created_at": export.created_at.isoformat(),
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "poll": f"/api/v1/analytics/exports/{export.pk}",
        "download": f"/api/v1/analytics/exports/{export.pk}/download" if done else None,
    }


@router.post("/exports", response={202: dict}, summary="Start an Excel export of a report")
def start_export(request: HttpRequest, body: ExportIn) -> tuple[int, dict[str, Any]]:
    """Written in the background; poll the `poll` address until `status` is `done`, then
    fetch `download`. For people logged in (an export belongs to the person who asked)."""
    actor: Actor = request.auth  # type: ignore[attr-defined]
    export = request_export(
        kind=body.kind,
        filters=export_filters(
            period=body.get_period(),
            cuts=body.get_cuts(),
            by=body.by if body.by in DIMENSIONS else "",
            period_key=body.period,
        ),
        by=actor,
    )
    return 202, export_body(export)


@router.get("/exports/{export_id}", summary="An export's progress")
def get_export(request: HttpRequest, export_id: int) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    return export_body(get_export_for_actor(actor, export_id))


@router.get("/exports/{export_id}/download", summary="The export's xlsx file, when done")
def download_export(request: HttpRequest, export_id: int) -> HttpResponseBase:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    export = get_export_for_actor(actor, export_id)
    if export.status != ExportStatus.DONE:
        raise Conflict(_("The export is not ready yet."))
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export_file_name(export),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
