"""The analytics pages under /analytics/: the overview (R8.1) and its charts (R8.7).

Every page starts from the logged-in person's actor and `scope.scope_for`: their shops only,
another shop is a 404. Charts read their figures from a `<script type="application/json">`
block (`json_script`) through `static/analytics/analytics.js`; no inline script, and a table
beside every chart carries the exact numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user

from .definitions import FIGURES
from .forms import ExportForm, OverviewForm, ReportForm
from .models import ExportStatus
from .overview import DIMENSIONS, Overview, overview
from .platform_metrics import CHANGE, RATE, platform_metrics
from .problems import MIN_CASES, MIN_ORDERS, problem_products
from .scope import scope_for
from .services import export_file_name, export_filters, get_export_for_actor, request_export


def report_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Logged-in people only; the request gets its actor; another shop is a 404."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
            return redirect_to_login(request.get_full_path())
        request.actor = actor_for_user(request.user)  # type: ignore[attr-defined]
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.render("en")) from exc

    return wrapper


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined,no-any-return]


def shop_choices(actor: Actor) -> list[tuple[int, str]]:
    return list(
        Shop.objects.filter(pk__in=list(actor.shop_roles)).order_by("pk").values_list("pk", "name")
    )


def chart_data(ov: Overview) -> dict[str, Any]:
    """What the charts draw, with their words in the page's language."""
    return {
        "trend": {
            "days": [row.day.isoformat() for row in ov.days if row.day],
            "series": [
                {
                    "name": _("After-sales rate"),
                    "values": [_percent_value(row.after_sales_rate) for row in ov.days],
                },
                {
                    "name": _("Refund rate (orders)"),
                    "values": [_percent_value(row.refund_rate) for row in ov.days],
                },
            ],
        },
        "reasons": [
            {"name": row.label, "value": row.cases, "party": row.responsible} for row in ov.reasons
        ],
        "parties": [{"name": row.label, "value": row.cases} for row in ov.responsible],
        "sla": [
            {"name": row.label, "value": _percent_value(row.rate), "total": row.total}
            for row in ov.sla
            if row.total
        ],
        "words": {"percent": "%", "cases": _("cases")},
    }


def _percent_value(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


@require_GET
@report_view
def overview_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    shops = shop_choices(actor)
    data = request.GET.copy()
    if not data:
        data.update({"period": OverviewForm.default_period, "compare": "on"})
    form = OverviewForm(data, shops=shops)
    if not form.is_valid():
        return render(
            request,
            "analytics/overview.html",
            {"form": form, "nav": "analytics", "figures": FIGURES},
            status=400,
        )
    scope = scope_for(actor, form.get_cuts())
    by = form.cleaned_data.get("by") or ""
    ov = overview(scope, form.get_period(), compare=form.cleaned_data["compare"], by=by)
    params = request.GET.copy()
    params.pop("by", None)
    return render(
        request,
        "analytics/overview.html",
        {
            "form": form,
            "nav": "analytics",
            "ov": ov,
            "figures": FIGURES,
            "charts": chart_data(ov),
            "dimension": DIMENSIONS.get(by),
            "cuts": scope.cuts.as_params(),
            "query": params.urlencode(),
            "export_params": [
                (name, value.isoformat() if hasattr(value, "isoformat") else str(value))
                for name, value in form.cleaned_data.items()
                if name != "compare" and value not in (None, "", False)
            ],
        },
    )


@require_POST
@report_view
def start_export(request: HttpRequest) -> HttpResponse:
    """Ask for an Excel export of the overview or of the case list with the page's filter."""
    actor = actor_of(request)
    form = ExportForm(request.POST, shops=shop_choices(actor))
    if not form.is_valid():
        return HttpResponse(_("The export's filter is not valid."), status=400)
    try:
        export = request_export(
            kind=form.cleaned_data["kind"],
            filters=export_filters(
                period=form.get_period(),
                cuts=form.get_cuts(),
                by=form.cleaned_data.get("by") or "",
                period_key=form.cleaned_data["period"],
            ),
            by=actor,
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return HttpResponse(exc.render(_language()), status=exc.status)
    return redirect("analytics:export", pk=export.pk)


def _language() -> str:
    return translation.get_language() or "zh-hans"


@require_GET
@report_view
def export_page(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_export_for_actor(actor_of(request), pk)
    return render(
        request, "analytics/export.html", {"export": export, "nav": "analytics", **_status(export)}
    )


@require_GET
@report_view
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status fragment htmx polls until the file is ready."""
    export = get_export_for_actor(actor_of(request), pk)
    return render(request, "analytics/_export_status.html", {"export": export, **_status(export)})


def _status(export: Any) -> dict[str, Any]:
    return {
        "working": export.status in {ExportStatus.PENDING, ExportStatus.RUNNING},
        "percent": None if export.progress is None else round(export.progress * 100),
    }


@require_GET
@report_view
def download_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    export = get_export_for_actor(actor_of(request), pk)
    if export.status != ExportStatus.DONE:
        raise Http404("not ready")
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export_file_name(export),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@require_GET
@report_view
def products_page(request: HttpRequest) -> HttpResponse:
    """Problem products (R8.2): flagged by a confidence bound, each with its likely cause."""
    actor = actor_of(request)
    data = request.GET.copy()
    if not data:
        data["period"] = "90d"
    form = ReportForm(data, shops=shop_choices(actor))
    context: dict[str, Any] = {"form": form, "nav": "analytics"}
    if not form.is_valid():
        return render(request, "analytics/products.html", context, status=400)
    period = form.get_period()
    findings = problem_products(scope_for(actor, form.get_cuts()), period)
    context.update(
        period=period,
        flagged=[f for f in findings if f.flagged],
        others=[f for f in findings if not f.flagged],
        min_orders=MIN_ORDERS,
        min_cases=MIN_CASES,
    )
    return render(request, "analytics/products.html", context)


def _metric_value(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return round(value * 100, 2) if unit == RATE else round(value, 2)


@require_GET
@report_view
def platform_page(request: HttpRequest) -> HttpResponse:
    """The platform's own service metrics, by the definition in force on each day."""
    actor = actor_of(request)
    data = request.GET.copy()
    if not data:
        data["period"] = "90d"
    form = ReportForm(data, shops=shop_choices(actor))
    context: dict[str, Any] = {"form": form, "nav": "analytics", "change": CHANGE}
    if not form.is_valid():
        return render(request, "analytics/platform.html", context, status=400)
    period = form.get_period()
    reports = platform_metrics(scope_for(actor, form.get_cuts()), period)
    charts = {
        report.metric: {
            "series": [
                {
                    "name": str(version.label),
                    "unit": "%" if version.unit == RATE else _("h"),
                    "points": [
                        [part.first.isoformat(), _metric_value(value.value, version.unit)]
                        for v, part, value in report.trend
                        if v == version
                    ],
                }
                for version in dict.fromkeys(v for v, _p, _v in report.trend)
            ]
        }
        for report in reports
    }
    context.update(period=period, reports=reports, charts={"metrics": charts})
    return render(request, "analytics/platform.html", context)
