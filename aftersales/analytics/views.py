"""The analytics pages under /analytics/: the overview (R8.1) and its Excel exports (R8.7),
problem products (R8.2), the platform's service metrics, improvements (R8.4), costs (R8.5,
R11.1), satisfaction (R8.6, R9.3) and the buyer's survey page.

Every staff page starts from the logged-in person's actor and `scope.scope_for`: their shops only,
another shop is a 404. Charts read their figures from a `<script type="application/json">`
block (`json_script`) through `static/analytics/analytics.js`; no inline script, and a table
beside every chart carries the exact numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from aftersales.cases.choices import CostPayer
from aftersales.cases.fetch import get_case_for_actor
from aftersales.catalog.models import Product
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound
from aftersales.core.replica import reading_reports
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user

from .costs import BY as COST_BY
from .costs import carrier_rates, costs_by, damage_by_carrier
from .definitions import FIGURES
from .forms import ExportForm, ImprovementForm, OverviewForm, ReportForm
from .improvements import MIN_ORDERS as IMPROVEMENT_MIN_ORDERS
from .improvements import WINDOW_DAYS, measure
from .models import ExportStatus, FollowUp, GoodCase, Survey
from .overview import DIMENSIONS, Overview, overview
from .periods import preset_period
from .platform_metrics import CHANGE, RATE, platform_metrics
from .problems import MIN_CASES, MIN_ORDERS, problem_products
from .scope import Cuts, scope_for
from .services import (
    add_good_case,
    answer_survey,
    csat_by_agent,
    export_file_name,
    export_filters,
    get_export_for_actor,
    get_follow_up_for_actor,
    improvements_for,
    record_callback,
    record_improvement,
    request_export,
)


def report_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Logged-in people only; the request gets its actor; another shop is a 404."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
            return redirect_to_login(request.get_full_path())
        request.actor = actor_for_user(request.user)  # type: ignore[attr-defined]
        # A page of figures reads from the replica if there is one; a POST, and the pages
        # that must see what was just written (an export's status), read the primary.
        replica = request.method == "GET" and not getattr(view, "primary_only", False)
        try:
            if replica:
                with reading_reports():
                    return view(request, *args, **kwargs)
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.render("en")) from exc

    return wrapper


def primary_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Below `report_view`: this page reads the primary even for a GET."""
    view.primary_only = True  # type: ignore[attr-defined]
    return view


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


def export_params(form: Any) -> list[tuple[str, str]]:
    """The page's filter as the hidden fields of its export buttons."""
    return [
        (name, value.isoformat() if hasattr(value, "isoformat") else str(value))
        for name, value in form.cleaned_data.items()
        if name != "compare" and value not in (None, "", False)
    ]


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
            "export_params": export_params(form),
            "export_kinds": [
                ("overview", _("Export the overview to Excel")),
                ("cases", _("Export the cases to Excel")),
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
@primary_only
def export_page(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_export_for_actor(actor_of(request), pk)
    return render(
        request, "analytics/export.html", {"export": export, "nav": "analytics", **_status(export)}
    )


@require_GET
@report_view
@primary_only
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
@primary_only
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
        export_params=export_params(form),
        export_kinds=[("products", _("Export the problem products to Excel"))],
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
    context.update(
        period=period,
        reports=reports,
        charts={"metrics": charts},
        export_params=export_params(form),
        export_kinds=[("platform", _("Export the platform metrics to Excel"))],
    )
    return render(request, "analytics/platform.html", context)


@require_http_methods(["GET", "POST"])
@report_view
def improvements_page(request: HttpRequest) -> HttpResponse:
    """Changes made to products and their effect, before against after (R8.4)."""
    actor = actor_of(request)
    form = ImprovementForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                record_improvement(
                    product_id=form.cleaned_data["product"],
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                    changed_on=form.cleaned_data["changed_on"],
                    by=actor,
                )
            except DomainError as exc:
                if isinstance(exc, NotFound):
                    raise
                messages.error(request, exc.render(_language()))
                status = exc.status
            else:
                messages.success(request, _("The change is recorded."))
                return redirect("analytics:improvements")
        else:
            status = 400
    scope = scope_for(actor)
    effects = [measure(improvement) for improvement in improvements_for(scope)]
    products = Product.objects.filter(shop_id__in=scope.shop_ids).order_by("name")[:500]
    return render(
        request,
        "analytics/improvements.html",
        {
            "form": form,
            "nav": "analytics",
            "effects": effects,
            "products": products,
            "window": WINDOW_DAYS,
            "min_orders": IMPROVEMENT_MIN_ORDERS,
            "export_params": [],
            "export_kinds": [("improvements", _("Export the improvements to Excel"))],
        },
        status=status,
    )


# --- Satisfaction (R8.6, R9.3) -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer's page of the survey link: 1–5 and a comment, in Chinese, once. No login:
    the link's token is the buyer's key, and the page shows nothing of the case."""
    survey = Survey.objects.filter(token=token).first()
    if survey is None:
        raise Http404("no such survey")
    error = ""
    with translation.override("zh-hans"):
        if request.method == "POST" and survey.answered_at is None:
            try:
                score = int(request.POST.get("score", ""))
            except ValueError:
                score = 0
            try:
                answer_survey(
                    survey=survey,
                    score=score,
                    comment=request.POST.get("comment", ""),
                    by=Actor.buyer(f"buyer:survey:{survey.pk}"),
                )
            except DomainError as exc:
                error = exc.render("zh-hans")
            else:
                return redirect("analytics:survey", token=token)
        survey.refresh_from_db()
        return render(
            request,
            "analytics/survey.html",
            {"survey": survey, "error": error, "scores": range(1, 6)},
            status=400 if error else 200,
        )


@require_GET
@report_view
def satisfaction_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    data = request.GET.copy()
    if not data:
        data["period"] = "30d"
    form = ReportForm(data, shops=shop_choices(actor))
    context: dict[str, Any] = {"form": form, "nav": "analytics"}
    if not form.is_valid():
        return render(request, "analytics/satisfaction.html", context, status=400)
    scope = scope_for(actor, form.get_cuts())
    period = form.get_period()
    surveys = Survey.objects.filter(shop_id__in=scope.shop_ids)
    context.update(
        export_params=export_params(form),
        export_kinds=[("satisfaction", _("Export the satisfaction figures to Excel"))],
        period=period,
        agents=csat_by_agent(scope, period),
        follow_ups=FollowUp.objects.filter(shop_id__in=scope.shop_ids, called_back_at__isnull=True)
        .select_related("survey")
        .order_by("created_at"),
        answered=surveys.filter(answered_at__gte=period.start, answered_at__lt=period.end).order_by(
            "-answered_at"
        )[:50],
        library=GoodCase.objects.filter(shop_id__in=scope.shop_ids).order_by("-added_at")[:100],
        sent=surveys.filter(sent_at__gte=period.start, sent_at__lt=period.end).count(),
    )
    return render(request, "analytics/satisfaction.html", context)


@require_POST
@report_view
def callback_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    follow_up = get_follow_up_for_actor(actor, pk)
    try:
        record_callback(follow_up=follow_up, note=request.POST.get("note", ""), by=actor)
    except DomainError as exc:
        messages.error(request, exc.render(_language()))
    else:
        messages.success(request, _("The callback is recorded."))
    return redirect("analytics:satisfaction")


@require_POST
@report_view
def good_case_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    try:
        case_id = int(request.POST.get("case", ""))
    except ValueError as exc:
        raise Http404("no such case") from exc
    case = get_case_for_actor(actor, case_id)
    try:
        add_good_case(case=case, note=request.POST.get("note", ""), by=actor)
    except DomainError as exc:
        messages.error(request, exc.render(_language()))
    else:
        messages.success(request, _("The case is in the library."))
    return redirect("analytics:satisfaction")


@require_GET
@report_view
def team_csat(request: HttpRequest) -> HttpResponse:
    """The agents' CSAT of the last 30 days, for the team page (loaded by htmx)."""
    actor = actor_of(request)
    try:
        shop = int(request.GET.get("shop", ""))
    except ValueError as exc:
        raise Http404("no such shop") from exc
    scope = scope_for(actor, Cuts(shop=shop))
    period = preset_period("30d")
    return render(
        request,
        "analytics/_team_csat.html",
        {"agents": csat_by_agent(scope, period), "period": period},
    )


@require_GET
@report_view
def costs_page(request: HttpRequest) -> HttpResponse:
    """What after-sales cost and who paid (R8.5, R11.1)."""
    actor = actor_of(request)
    data = request.GET.copy()
    if not data:
        data["period"] = "30d"
    form = ReportForm(data, shops=shop_choices(actor))
    context: dict[str, Any] = {"form": form, "nav": "analytics"}
    if not form.is_valid():
        return render(request, "analytics/costs.html", context, status=400)
    scope = scope_for(actor, form.get_cuts())
    period = form.get_period()
    tables = [(key, label, costs_by(scope, period, key)) for key, label in COST_BY.items()]
    by_kind = tables[0][2]
    context.update(
        export_params=export_params(form),
        export_kinds=[("costs", _("Export the costs to Excel"))],
        period=period,
        tables=tables,
        total_fen=sum(row.fen for row in by_kind),
        damage=damage_by_carrier(scope, period),
        damage_packaging=damage_by_carrier(scope, period, by_packaging=True),
        carrier_rates=carrier_rates(scope, period),
        charts={
            "costs": {
                "kinds": [row.label for row in by_kind],
                "payers": [
                    {
                        "name": str(label),
                        "values": [round(row.by_payer.get(payer, 0) / 100, 2) for row in by_kind],
                    }
                    for payer, label in CostPayer.choices
                ],
            }
        },
    )
    return render(request, "analytics/costs.html", context)
