"""The incident pages (R12.1): `/incidents/` (the shops' incidents and proposals, declaring
one) and `/incidents/<id>/` (its scope, its cases, bulk actions with each case's result,
confirm / dismiss / close, its timeline).

| page                          | agent | supervisor | shop admin | auditor |
|-------------------------------|-------|------------|------------|---------|
| GET /incidents/, /<id>/       | yes   | yes        | yes        | yes     |
| POST declare, act, bulk       | 403   | yes        | yes        | 403     |

Another shop's incident is a 404 like a missing one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.alerts.pages import actor_of, refusal, shops_of, staff_view
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.core.errors import DomainError

from . import services
from .forms import BulkForm, DeclareForm, NoteForm
from .models import IncidentStatus
from .words import bulk_skip_reason, event_label


def _lang() -> str:
    return translation.get_language() or "zh-hans"


@staff_view
@require_http_methods(["GET", "POST"])
def incidents_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    lead_shops = shops_of(actor, services.LEAD_ROLES)
    form = DeclareForm(shops=lead_shops, initial={"since_days": 7, "target_hours": 4})
    status = 200
    if request.method == "POST":
        if not lead_shops:
            raise DjangoPermissionDenied
        form = DeclareForm(request.POST, shops=lead_shops)
        if form.is_valid():
            data = form.cleaned_data
            shop = next(s for s in lead_shops if s.pk == data["shop"])
            try:
                incident = services.declare_incident(
                    shop=shop,
                    kind=data["kind"],
                    title=data["title"],
                    description=data["description"],
                    scope=services.Scope(
                        product_id=data["product"],
                        reason=data["reason"],
                        carrier=data["carrier"],
                        region=data["region"],
                        keyword=data["keyword"],
                    ),
                    since=timezone.now() - timedelta(days=data["since_days"]),
                    target_hours=data["target_hours"],
                    by=actor,
                )
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.render(_lang()))
            else:
                messages.success(request, _("Incident declared."))
                return redirect("incidents:detail", pk=incident.pk)
        status = 400
    incidents = list(
        services.incidents_for_actor(actor)
        .select_related("shop", "product", "sku")
        .order_by("-created_at")[:200]
    )
    live = [i for i in incidents if i.status in (IncidentStatus.PROPOSED, IncidentStatus.OPEN)]
    past = [i for i in incidents if i not in live]
    context = {
        "nav": "incidents",
        "page": "incidents",
        "live": _rows(live),
        "past": _rows(past),
        "form": form,
        "can_declare": bool(lead_shops),
    }
    return render(request, "incidents/list.html", context, status=status)


def _rows(incidents: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "incident": i,
            "scope": services.scope_words(i),
            "cases": services.member_cases(i).count(),
        }
        for i in incidents
    ]


@staff_view
@require_GET
def incident_page(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    incident = services.get_incident_for_actor(actor, pk)
    return render(request, "incidents/detail.html", _detail_context(request, incident))


def _detail_context(request: HttpRequest, incident: Any, **extra: Any) -> dict[str, Any]:
    actor = actor_of(request)
    cases = list(
        services.member_cases(incident)
        .select_related("assignee", "order__buyer")
        .order_by("-applied_at")[:500]
    )
    return {
        "nav": "incidents",
        "page": "incidents",
        "incident": incident,
        "scope": services.scope_words(incident),
        "cases": cases,
        "open_cases": sum(1 for c in cases if c.status not in TERMINAL_STATUSES),
        "is_lead": actor.is_unscoped or actor.role_in(incident.shop_id) in services.LEAD_ROLES,
        "bulk_form": BulkForm(shop_id=incident.shop_id),
        "note_form": NoteForm(),
        "timeline": _timeline(incident),
        **extra,
    }


def _timeline(incident: Any) -> list[dict[str, Any]]:
    return [{"event": e, "label": event_label(e.type)} for e in services.timeline(incident)]


@staff_view
@require_POST
def incident_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    actor = actor_of(request)
    incident = services.get_incident_for_actor(actor, pk)
    form = NoteForm(request.POST)
    if name not in {"confirm", "dismiss", "close"}:
        raise Http404("action")
    if not form.is_valid():
        messages.error(request, _("Check the note: at most 2000 characters."))
        return redirect("incidents:detail", pk=pk)
    data = form.cleaned_data
    try:
        if name == "confirm":
            services.confirm_incident(
                incident=incident, by=actor, title=data["title"], target_hours=data["target_hours"]
            )
            messages.success(request, _("Incident confirmed; its cases have joined."))
        elif name == "dismiss":
            services.dismiss_incident(incident=incident, by=actor, note=data["note"])
            messages.success(request, _("Proposal dismissed."))
        else:
            services.close_incident(incident=incident, by=actor, note=data["note"])
            messages.success(request, _("Incident closed."))
    except DomainError as error:
        if error.status == 403:
            raise DjangoPermissionDenied from error
        refusal(request, error)
    return redirect("incidents:detail", pk=pk)


@staff_view
@require_POST
def incident_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    incident = services.get_incident_for_actor(actor, pk)
    if not (actor.is_unscoped or actor.role_in(incident.shop_id) in services.LEAD_ROLES):
        raise DjangoPermissionDenied
    form = BulkForm(request.POST, shop_id=incident.shop_id)
    problem = ""
    results: list[services.BulkResult] = []
    if form.is_valid():
        data = form.cleaned_data
        assignee = None
        if data["assignee"] is not None:
            assignee = get_user_model().objects.filter(pk=data["assignee"]).first()
        try:
            results = services.apply_bulk(
                incident=incident,
                action=data["action"],
                template=data["template"],
                assignee=assignee,
                by=actor,
            )
        except DomainError as error:
            problem = error.render(_lang())
    else:
        problem = _("Choose an action, and a template or a person where it needs one.")
    rows = [{"result": r, "reason": bulk_skip_reason(r.outcome)} for r in results]
    context = _detail_context(
        request,
        incident,
        bulk_problem=problem,
        bulk_rows=rows,
        bulk_done=sum(1 for r in results if r.outcome == "done"),
        bulk_form=form if problem else BulkForm(shop_id=incident.shop_id),
    )
    return render(request, "incidents/detail.html", context, status=400 if problem else 200)
