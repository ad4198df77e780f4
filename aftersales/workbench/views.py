"""Workbench pages: the queue, the case page and its actions, login and logout.

Every case is reached through `get_case_for_actor`: another shop's case is a 404, and an
auditor's attempt to change one is a 403. Views check form shapes and call services; a
service's refusal (`DomainError`) is shown as a message and nothing is changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.analytics.models import ExportKind
from aftersales.analytics.services import queue_export_filters, request_export
from aftersales.audit.models import AuditEvent
from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.services import refundable_lines
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound
from aftersales.core.money import fen_to_yuan
from aftersales.disputes.views import panel_context as dispute_panel
from aftersales.incidents.services import incidents_of_case
from aftersales.orders.choices import ShipmentKind
from aftersales.platforms.adapter import PlatformAdapter, adapter_for_case
from aftersales.platforms.kuaidi100.services import with_tracking
from aftersales.policy.services import latest_decision
from aftersales.shops.choices import WRITE_ROLES
from aftersales.shops.models import Membership, Shop
from aftersales.signals import views as signal_views
from aftersales.sla.models import ClockState
from aftersales.sla.services import is_at_risk, time_left
from aftersales.team import replies
from aftersales.team.services import ASSIGNABLE_ROLES, LEAD_ROLES
from aftersales.team.web import actor_of, language, staff_view

from . import display, figures, queue
from .actions import ACTIONS_BY_NAME, Action, available_actions, facts_for
from .forms import ActionForm, LoginForm, QueueFilterForm
from .queue_rows import render_rows
from .services import BuyerContact, can_reveal, reveal_buyer_contact

# --- Access ----------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "workbench/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


# --- The queue -------------------------------------------------------------------------------


@require_GET
@staff_view
def queue_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    shops = list(
        Shop.objects.filter(pk__in=list(actor.shop_roles))
        .order_by("name")
        .values_list("pk", "name")
    )
    form = QueueFilterForm(request.GET, shops=shops)
    filters = form.filters()
    out_of_sync = queue.out_of_sync_ids(actor)
    base = queue.filtered(actor, filters, out_of_sync=out_of_sync, now=now)
    counts = queue.bucket_counts(base, actor, now, few=queue.searching(filters))
    bucketed = queue.in_buckets(base, actor, filters, now)
    bucket = _single_bucket(filters)
    count = counts[bucket] if bucket else queue.count_of(bucketed)
    page = queue.page_of(
        bucketed,
        filters.get("page") or 1,
        count,
        sort=filters.get("sort") or "",
        shop_ids=list(actor.shop_roles),
    )
    rows = queue.rows_for(page.cases, now, out_of_sync=out_of_sync)
    query = request.GET.copy()
    query.pop("page", None)
    bucket_links = _bucket_links(request, filters, counts)
    bulk = _bulk_context(actor)
    show_shop = len(shops) > 1
    context = {
        "nav": "queue",
        "form": form,
        "rows": rows,
        "page": page,
        "counts": counts,
        "handover_count": queue.count_text(counts["handover"]),
        "bucket_links": bucket_links,
        "query": query.urlencode(),
        "refresh_url": request.get_full_path(),
        "show_shop": show_shop,
        "out_of_sync_count": len(out_of_sync),
        "searching": queue.searching(filters),
        # The Excel export of the list as filtered now (R8.7): the filters as hidden fields.
        "export_params": sorted(queue_export_filters(request.GET).items()),
        **bulk,
        # The rows' markup (`queue_rows.py`), written in Python: through the template engine
        # it cost ~1 ms a row (issue 16).
        "rows_html": render_rows(
            rows,
            can_bulk=bulk["can_bulk"],
            show_shop=show_shop,
            searching=queue.searching(filters),
        ),
    }
    if getattr(request, "htmx", False):
        return render(request, "workbench/_queue_rows.html", context)
    return render(request, "workbench/queue.html", context)


@require_POST
@staff_view
def export_queue(request: HttpRequest) -> HttpResponse:
    """Ask for an Excel export of the queue as filtered (R8.7); the export page shows its
    progress and its download."""
    try:
        export = request_export(
            kind=ExportKind.QUEUE, filters=queue_export_filters(request.POST), by=actor_of(request)
        )
    except NotFound:
        raise  # another shop's: a 404, as for its pages
    except DomainError as exc:
        messages.error(request, exc.render(language()))
        return redirect("workbench:queue")
    return redirect("analytics:export", pk=export.pk)


def _bulk_context(actor: Actor) -> dict[str, Any]:
    """What the queue's bulk bar offers this person: approving and messaging for anyone who
    may change cases, assigning only for supervisors and shop admins (the bulk view checks
    all of it again, per case). The templates are those of the shops they may write in."""
    write_shops = [shop for shop, role in actor.shop_roles.items() if role in WRITE_ROLES]
    can_bulk = bool(write_shops)
    lead_shops = [shop for shop, role in actor.shop_roles.items() if role in LEAD_ROLES]
    assignees = (
        Membership.objects.filter(shop_id__in=lead_shops, role__in=ASSIGNABLE_ROLES)
        .select_related("user", "shop")
        .order_by("shop__name", "user__username")
        if lead_shops
        else []
    )
    return {
        "can_bulk": can_bulk,
        "bulk_assignees": assignees,
        "bulk_templates": replies.choices_for_shops(write_shops) if can_bulk else [],
    }


def _single_bucket(filters: dict[str, Any]) -> str | None:
    """The bucket whose count is already known, when the buckets chosen are just that one."""
    chosen = [
        v
        for v in (
            filters.get("assignee"),
            filters.get("sla"),
            filters.get("handover") and "handover",
        )
        if v
    ]
    if len(chosen) > 1:
        return None
    return chosen[0] if chosen else "all"


def _bucket_links(
    request: HttpRequest, filters: dict[str, Any], counts: dict[str, int]
) -> list[dict[str, Any]]:
    """The bucket tabs: each keeps the other filters and sets its own pair."""
    none = {"assignee": "", "sla": "", "handover": ""}
    buckets = [
        ("all", queue.all_bucket_label(filters), none),
        ("mine", _("Mine"), {**none, "assignee": "mine"}),
        ("unassigned", _("Unassigned"), {**none, "assignee": "unassigned"}),
        ("at_risk", _("At risk"), {**none, "sla": "at_risk"}),
        ("breached", _("Breached"), {**none, "sla": "breached"}),
        # Handed over by the bot (R10.1): waits for a person's answer.
        ("handover", _("Handed over by the bot"), {**none, "handover": "on"}),
    ]
    chosen = {**filters, "handover": "on" if filters.get("handover") else ""}
    links = []
    for key, label, values in buckets:
        query = request.GET.copy()
        query.pop("page", None)
        for name, value in values.items():
            if value:
                query[name] = value
            else:
                query.pop(name, None)
        current = all((chosen.get(n) or "") == v for n, v in values.items())
        links.append(
            {
                "key": key,
                "label": label,
                "count": counts[key],
                # "999+" past the cap (`queue.COUNT_CAP`), with the words in its tooltip.
                "count_text": queue.count_text(counts[key]),
                "count_title": queue.count_title(counts[key]),
                "url": "?" + query.urlencode(),
                "current": current,
            }
        )
    return links


# --- The case page ---------------------------------------------------------------------------


@require_GET
@staff_view
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_actor(actor_of(request), pk)
    return render(request, "workbench/case.html", case_context(request, case))


def case_context(
    request: HttpRequest,
    case: Case,
    *,
    contact: BuyerContact | None = None,
    bound: ActionForm | None = None,
) -> dict[str, Any]:
    """The case page. `bound` is an action's form as the agent sent it, refused: it is shown
    in place of a fresh one, open, with what was typed and the errors beside the fields."""
    actor = actor_of(request)
    now = timezone.now()
    writable = actor.role_in(case.shop_id) in WRITE_ROLES
    lines = refundable_lines(case)
    decision = latest_decision(case)
    execution = (
        RefundExecution.objects.select_related("decision").filter(decision__case=case).first()
    )
    clocks = []
    for clock in case.clocks.order_by("started_at", "pk"):
        left = time_left(clock, now)
        clocks.append(
            {
                "clock": clock,
                "seconds_left": None if left is None else int(left.total_seconds()),
                "left_text": display.duration(None if left is None else int(left.total_seconds())),
                "at_risk": is_at_risk(clock, now),
                "breached": clock.breached_at is not None
                or (clock.state == ClockState.RUNNING and clock.due_at <= now),
            }
        )
    events = list(
        AuditEvent.objects.filter(case=case)
        .order_by("-seq")
        .only("seq", "type", "actor_label", "before", "after", "payload", "created_at", "case_id")
    )
    platform = adapter_for_case(case)
    timeline = [
        {
            "event": e,
            "label": display.event_label(e.type),
            "details": display.event_details(e, explain_error=platform.explain_error),
            "kind": e.type,
        }
        for e in events
    ]
    conversation = [t for t in timeline if t["kind"] in {"buyer_message_sent", "note_added"}]
    evidence = [
        {"evidence": e, "url": reverse("api-v1:evidence_file", args=[case.pk, e.pk])}
        for e in case.evidence.order_by("pk")
    ]
    platform_sync = _platform_sync(case, platform)
    actions: list[tuple[Action, ActionForm]] = []
    if writable:
        facts = facts_for(case, actor, platform_linked=platform.linked)
        for action in available_actions(case, actor, facts=facts):
            if bound is not None and bound.action_name == action.name:
                actions.append((action, bound))
            else:
                actions.append((action, _action_form(action, case)))
    trace_language = "zh" if language().startswith("zh") else "en"
    return {
        "nav": "queue",
        "case": case,
        "order": case.order,
        "buyer": case.order.buyer,
        "contact": contact,
        "signals": signal_views.case_panel(actor, case),
        "case_incidents": incidents_of_case(case),
        "can_reveal": can_reveal(actor, case),
        "item_rows": figures.item_rows(lines),
        "refundable": fen_to_yuan(sum(line.refundable_fen for line in lines)),
        "refund_decided": execution is not None,
        "return_label": figures.return_label(case),
        "amount_words": figures.amount_words(case),
        "decision": decision,
        "recommendation": display.RECOMMENDATIONS.get(decision.recommendation, "")
        if decision
        else "",
        "complexity": display.COMPLEXITY.get(decision.complexity, "") if decision else "",
        "trace": [
            {"rule": hit["rule"], "requirement": hit["requirement"], "text": hit[trace_language]}
            for hit in (decision.payload.get("trace", []) if decision else [])
        ],
        "return_payer": display.PAYERS.get(decision.payload.get("return_shipping_payer", ""), "")
        if decision
        else "",
        "missing_evidence": [
            display.EVIDENCE_KINDS.get(k, k)
            for k in (decision.payload.get("missing_evidence", []) if decision else [])
        ],
        "execution": execution,
        "execution_error_explanation": platform.explain_error(execution.last_error)
        if execution
        else "",
        "clocks": clocks,
        "timeline": timeline,
        "conversation": conversation,
        "evidence": evidence,
        "inspections": list(case.inspections.order_by("pk").prefetch_related("photos")),
        "quality_checks": list(case.quality_checks.order_by("pk")),
        "costs": list(case.costs.order_by("pk")),
        "shipments": with_tracking(list(case.shipments.order_by("pk"))),
        # The order's own parcel, with its history, and what was asked to stop it (R3.1).
        "outbound_parcels": list(
            case.order.shipments.filter(kind=ShipmentKind.OUTBOUND)
            .prefetch_related("history")
            .order_by("pk")
        ),
        "interceptions": [
            op for op in (platform_sync or {}).get("operations", []) if op.is_interception
        ],
        "writable": writable,
        "lifecycle_actions": [(a, f) for a, f in actions if a.group == "lifecycle"],
        "record_actions": [(a, f) for a, f in actions if a.group == "record"],
        "conversation_actions": {a.name: f for a, f in actions if a.group == "conversation"},
        "platform_linked": platform.linked,
        "platform_sync": platform_sync,
        "platform_actions": [(a, f) for a, f in actions if a.group == "platform"],
        "message_template_texts": _message_template_texts(case) if writable else {},
        "dispute": dispute_panel(
            case, actor, platform_sync["platform_deadline"] if platform_sync else None
        ),
    }


def _platform_sync(case: Case, platform: PlatformAdapter) -> dict[str, Any] | None:
    """What the platform has been told about the case (the adapter's `sync_state`), with
    words for its state. None for a case that did not come from a platform."""
    if not case.platform_case_id:
        return None
    state = platform.sync_state(case)
    return {
        "state": state.state,
        "label": display.SYNC_STATES.get(state.state, state.state),
        "reason": state.reason,
        "reason_explanation": state.reason_explanation,
        "holds_up": state.holds_up,
        "operations": state.operations,
        "out_of_sync": state.out_of_sync,
        "drift": state.drift,
        "platform_status": state.platform_status,
        "platform_deadline": state.platform_deadline,
    }


def _message_template_texts(case: Case) -> dict[str, str]:
    """Each template's text filled in for this case, by code: choosing a template on the page
    puts its text in the message box (case.js), where the agent may still edit it."""
    variables = replies.variables_for(case)
    return {
        t.code: replies.fill(t, case, variables=variables)
        for t in replies.templates_for(case.shop_id)
    }


def _action_form(action: Action, case: Case) -> ActionForm:
    return action.form_class(case=case, action=action.name)


@require_POST
@staff_view
def case_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    action = ACTIONS_BY_NAME.get(name)
    if action is None:
        raise Http404("unknown action")
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    page = reverse("workbench:case", args=[case.pk])
    form = action.form_class(request.POST, request.FILES, case=case, action=action.name)
    anchor = "#platform-sync" if action.group == "platform" else "#actions"
    if action not in available_actions(case, actor):
        messages.error(request, _("This action is not possible for the case as it is now."))
        return redirect(page + anchor)
    if not form.is_valid():
        _refused(request, form)
        return _with_refused_form(request, case, form, status=400)
    files = [f for key in request.FILES for f in request.FILES.getlist(key)]
    try:
        action.perform(case, actor, form.cleaned_data, files)
    except DomainError as exc:
        form.add_refusal(exc.field, exc.render(language()))
        _refused(request, form)
        return _with_refused_form(request, case, form, status=exc.status)
    messages.success(request, str(action.done))
    return redirect(page)


def _refused(request: HttpRequest, form: ActionForm) -> None:
    """Each error also at the top of the page, with its field's name."""
    for field_name, errors in form.errors.items():
        label = form.fields[field_name].label if field_name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _with_refused_form(
    request: HttpRequest, case: Case, form: ActionForm, *, status: int
) -> HttpResponse:
    """The case page again, nothing changed, the refused form open as the agent filled it
    in: an amount typed for a partial refund is never replaced by the full one."""
    case = Case.objects.select_related("order__buyer", "shop").get(pk=case.pk)
    context = case_context(request, case, bound=form)
    context["next_url"] = reverse("workbench:case", args=[case.pk])
    return render(request, "workbench/case.html", context, status=status)


@require_POST
@staff_view
def retry_platform_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the case's failed platform operations again (R13.1), as the API's
    `POST /api/v1/cases/{id}/sync/retry`: writers only, nothing failed is a message."""
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    page = reverse("workbench:case", args=[case.pk]) + "#platform-sync"
    try:
        adapter_for_case(case).retry_failed(case=case, by=actor)
    except DomainError as exc:
        messages.error(request, exc.render(language()))
        return redirect(page)
    messages.success(request, _("The failed platform operations are queued again."))
    return redirect(page)


@require_POST
@staff_view
def reveal_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the buyer's phone and address to a supervisor or admin, on the record (R6.5)."""
    case = get_case_for_actor(actor_of(request), pk)
    contact = reveal_buyer_contact(case=case, by=actor_of(request))
    context = case_context(request, case, contact=contact)
    if getattr(request, "htmx", False):
        return render(request, "workbench/_buyer.html", context)
    return render(request, "workbench/case.html", context)
