"""The disputes panel of the case page and its actions, and the supervisor's page `/disputes/`.

The panel is drawn by the workbench's case page (`panel_context`, the template
`disputes/_panel.html`); its forms post here and come back to the case page. Every case is
fetched with `get_case_for_actor` (another shop's case is a 404; an auditor may read, not
write).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound, PermissionDenied
from aftersales.core.limits import NOTE_MAX_LENGTH, PLATFORM_REMARK_MAX_LENGTH, REASON_MAX_LENGTH
from aftersales.core.money import fen_to_yuan, yuan_to_fen
from aftersales.shops.choices import WRITE_ROLES, Role
from aftersales.shops.models import Membership, Shop
from aftersales.shops.services import actor_for_user

from . import services
from .choices import AppealOutcome, InterventionStatus, OfferKind, OfferSide, OfferStatus, Ruling
from .models import EvidencePackage, Intervention, Offer

LEAD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def staff_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        request.actor = actor_for_user(request.user)  # type: ignore[attr-defined]
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.render("en")) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.render("en")) from exc

    return wrapper


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined,no-any-return]


def _language() -> str:
    return translation.get_language() or "zh-hans"


# --- Forms ------------------------------------------------------------------------------------


class YuanInput(forms.CharField):
    """An amount in yuan with at most two decimals, cleaned to fen."""

    def clean(self, value: Any) -> int:  # type: ignore[override]
        text = str(super().clean(value) or "").strip()
        if not text:
            return 0
        try:
            return yuan_to_fen(text)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise forms.ValidationError(_("Enter an amount in yuan, e.g. 12.50.")) from exc


class OfferForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Offer"), choices=OfferKind.choices)
    amount = YuanInput(
        label=gettext_lazy("Amount (yuan)"),
        required=False,
        max_length=16,
        help_text=gettext_lazy("For a partial refund or compensation."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    side = forms.ChoiceField(
        label=gettext_lazy("Offered by"), choices=OfferSide.choices, initial=OfferSide.MERCHANT
    )


class AnswerForm(forms.Form):
    accepted = forms.TypedChoiceField(
        label=gettext_lazy("Answer"),
        choices=[("yes", gettext_lazy("Accepted")), ("no", gettext_lazy("Declined"))],
        coerce=lambda v: v == "yes",
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=REASON_MAX_LENGTH)


class SubmitForm(forms.Form):
    evidence_ids = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Photos to submit"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(
        label=gettext_lazy("What the evidence shows"),
        max_length=PLATFORM_REMARK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, package: EvidencePackage, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        photos = [f for f in package.manifest if f.get("image")]
        self.fields["evidence_ids"].choices = [  # type: ignore[attr-defined]
            (f["evidence_id"], f"{f['name']} · {f['source_label']}") for f in photos
        ]
        self.fields["evidence_ids"].initial = [f["evidence_id"] for f in photos]


class AppealForm(forms.Form):
    statement = forms.CharField(
        label=gettext_lazy("Why the ruling is wrong"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AppealOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (AppealOutcome.UPHELD, AppealOutcome.UPHELD.label),
            (AppealOutcome.REJECTED, AppealOutcome.REJECTED.label),
        ],
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=REASON_MAX_LENGTH)


class SettingsForm(forms.Form):
    handler = forms.TypedChoiceField(
        label=gettext_lazy("Dispute handler"), coerce=int, required=False, empty_value=None
    )
    baseline_per_mille = forms.IntegerField(
        label=gettext_lazy("Industry rejection rate (‰)"), min_value=1, max_value=1000
    )
    warn_multiple = forms.IntegerField(
        label=gettext_lazy("Warn at this multiple of it"), min_value=1, max_value=100
    )

    def __init__(self, *args: Any, shop: Shop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(shop=shop, role__in=list(WRITE_ROLES)).select_related(
            "user"
        )
        self.fields["handler"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (m.user_id, m.user.get_full_name() or m.user.get_username()) for m in members
        ]


# --- The case page's panel ---------------------------------------------------------------------


def panel_context(case: Case, actor: Actor, platform_deadline: datetime | None) -> dict[str, Any]:
    """What the case page's disputes panel shows and offers (R5)."""
    writable = actor.role_in(case.shop_id) in WRITE_ROLES
    offers = list(case.offers.order_by("number"))
    open_offer = next((o for o in offers if o.status == OfferStatus.OPEN), None)
    ticket = services.latest_intervention(case)
    packages = list(case.evidence_packages.order_by("-number"))
    latest_package = packages[0] if packages else None
    appeal = services.latest_appeal(case)
    now = timezone.now()
    can_appeal = (
        writable
        and ticket is not None
        and ticket.ruling in (Ruling.FOR_BUYER, Ruling.PARTIAL)
        and ticket.ruled_at is not None
        and appeal is None
        and now <= ticket.ruled_at + services.APPEAL_WINDOW
    )
    live = ticket is not None and ticket.is_live
    shown = bool(offers or ticket or packages) or case.dispute_status != "none" or writable
    return {
        "shown": shown,
        "writable": writable,
        "offers": [(o, fen_to_yuan(o.amount_fen)) for o in offers],
        "open_offer": open_offer,
        "offer_form": OfferForm()
        if writable and case.status not in ("completed", "closed")
        else None,
        "answer_form": AnswerForm() if writable and open_offer else None,
        "ticket": ticket,
        "ticket_live": live,
        "ticket_late": bool(
            live
            and ticket
            and ticket.evidence_due_at
            and ticket.evidence_submitted_at is None
            and ticket.evidence_due_at < now
        ),
        "packages": packages,
        "submit_form": SubmitForm(package=latest_package)
        if writable and live and latest_package is not None
        else None,
        "latest_package": latest_package,
        "appeal": appeal,
        "appeal_due": ticket.ruled_at + services.APPEAL_WINDOW
        if ticket is not None and ticket.ruled_at
        else None,
        "appeal_form": AppealForm() if can_appeal else None,
        "appeal_outcome_form": AppealOutcomeForm()
        if writable and appeal is not None and appeal.outcome == AppealOutcome.PENDING
        else None,
        "platform_deadline": platform_deadline,
        "suggest_extension": services.suggests_extension(case, platform_deadline, now),
        "ruling_refund": fen_to_yuan(ticket.ruling_refund_fen) if ticket else "0.00",
        "statuses": InterventionStatus,
    }


def _back(case: Case) -> str:
    return reverse("workbench:case", args=[case.pk]) + "#disputes"


def _refusal(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.render(_language()))


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


@require_POST
@staff_view
def make_offer(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    form = OfferForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_back(case))
    try:
        services.make_offer(
            case=case,
            kind=form.cleaned_data["kind"],
            amount_fen=form.cleaned_data["amount"],
            note=form.cleaned_data["note"],
            side=form.cleaned_data["side"],
            counter_to=Offer.objects.filter(case=case, status=OfferStatus.OPEN)
            .exclude(side=form.cleaned_data["side"])
            .first(),
            by=actor,
        )
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The offer is on record."))
    return redirect(_back(case))


@require_POST
@staff_view
def answer_offer(request: HttpRequest, pk: int, offer_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    offer = services.get_offer_for_case(case, offer_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_back(case))
    try:
        services.answer_offer(
            offer=offer,
            accepted=form.cleaned_data["accepted"],
            note=form.cleaned_data["note"],
            by=actor,
        )
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The answer is on record."))
    return redirect(_back(case))


@require_POST
@staff_view
def build_package(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    try:
        services.build_package(case=case, by=actor)
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The evidence package is ready."))
    return redirect(_back(case))


@require_GET
@staff_view
def package_file(request: HttpRequest, pk: int, package_id: int, which: str) -> FileResponse:
    case = get_case_for_actor(actor_of(request), pk)
    package = services.get_package_for_case(case, package_id)
    if which not in ("pdf", "zip"):
        raise Http404("unknown file")
    field = package.pdf if which == "pdf" else package.archive
    response = FileResponse(
        field.open("rb"),
        content_type="application/pdf" if which == "pdf" else "application/zip",
        as_attachment=which == "zip",
        filename=f"case-{case.pk}-package-{package.number}.{which}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_view
def submit_package(request: HttpRequest, pk: int, package_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    package = services.get_package_for_case(case, package_id)
    form = SubmitForm(request.POST, package=package)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_back(case))
    try:
        services.submit_package(
            package=package,
            evidence_ids=form.cleaned_data["evidence_ids"],
            comment=form.cleaned_data["comment"],
            by=actor,
        )
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The evidence is on its way to the platform."))
    return redirect(_back(case))


@require_POST
@staff_view
def file_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    form = AppealForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_back(case))
    try:
        services.file_appeal(case=case, statement=form.cleaned_data["statement"], by=actor)
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The appeal is on record."))
    return redirect(_back(case))


@require_POST
@staff_view
def appeal_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = get_case_for_actor(actor, pk, write=True)
    appeal = services.latest_appeal(case)
    if appeal is None:
        raise Http404("no appeal")
    form = AppealOutcomeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_back(case))
    try:
        services.record_appeal_outcome(
            appeal=appeal,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            by=actor,
        )
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_back(case))
    messages.success(request, _("The appeal's outcome is on record."))
    return redirect(_back(case))


# --- The supervisor's page ---------------------------------------------------------------------


def _lead_shop(actor: Actor, request: HttpRequest) -> Shop:
    """The shop of the page: the one asked for, if the actor leads it; else their first."""
    led = [sid for sid, role in actor.shop_roles.items() if role in LEAD_ROLES]
    wanted = request.GET.get("shop") or request.POST.get("shop")
    if wanted:
        try:
            shop_id = int(wanted)
        except ValueError as exc:
            raise Http404("bad shop") from exc
        if shop_id not in led:
            raise Http404("not your shop")
    elif led:
        shop_id = sorted(led)[0]
    else:
        raise Http404("no shop led")
    return Shop.objects.get(pk=shop_id)


@require_http_methods(["GET", "POST"])
@staff_view
def week_page(request: HttpRequest) -> HttpResponse:
    """This week's intervention tickets against the 30 % and 60 % lines, the rejection guard,
    and the shop's dispute settings (supervisors and shop admins)."""
    actor = actor_of(request)
    shop = _lead_shop(actor, request)
    conf = services.settings_for(shop.pk)
    initial = {
        "handler": conf.handler_id,
        "baseline_per_mille": conf.baseline_per_mille,
        "warn_multiple": conf.warn_multiple,
    }
    form = SettingsForm(request.POST or None, shop=shop, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_dispute_settings(
                    shop_id=shop.pk,
                    by=actor,
                    handler_id=form.cleaned_data["handler"],
                    baseline_per_mille=form.cleaned_data["baseline_per_mille"],
                    warn_multiple=form.cleaned_data["warn_multiple"],
                )
            except DomainError as exc:
                _refusal(request, exc)
            else:
                messages.success(request, _("The dispute settings are saved."))
                return redirect(reverse("disputes:week") + f"?shop={shop.pk}")
        else:
            _form_errors(request, form)
    week = services.week_tickets(shop.pk)
    tickets = list(
        Intervention.objects.filter(
            shop=shop, evidence_due_at__gte=week.start, evidence_due_at__lt=week.end
        )
        .select_related("case", "handler")
        .order_by("evidence_due_at")
    )
    return render(
        request,
        "disputes/week.html",
        {
            "nav": "disputes",
            "shop": shop,
            "week": week,
            "late_percent": round(week.late_share * 100),
            "tickets": tickets,
            "now": timezone.now(),
            "rejections": services.rejection_guard(shop.pk),
            "form": form,
            "warn_multiple": conf.warn_multiple,
        },
    )
