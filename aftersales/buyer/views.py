"""The buyer's self-service page (R10.2) and the bot on it (R10.1): mobile first, Chinese by
default, no account. Every page but the access pages needs a buyer session, which names one
order; a case id of another order is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.analytics.models import Survey
from aftersales.analytics.services import LOW_SCORE
from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus, ReturnStatus
from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case
from aftersales.cases.services import (
    Upload,
    record_buyer_evidence,
    record_return_shipment,
    withdraw_case,
)
from aftersales.cases.transitions import can_withdraw
from aftersales.core.errors import DomainError, NotFound, PermissionDenied
from aftersales.disputes import services as disputes
from aftersales.knowledge.models import Conversation, Turn
from aftersales.knowledge.services import answer_buyer, open_handovers
from aftersales.orders.models import Order
from aftersales.shops.choices import Role
from aftersales.shops.models import Membership
from aftersales.shops.services import actor_for_user

from . import access, outlook
from .forms import (
    ApplyForm,
    ChatForm,
    CodeForm,
    EvidenceForm,
    FindOrderForm,
    RatingForm,
    TrackingForm,
)
from .services import (
    apply_for_order,
    buyer_actor,
    can_be_rated,
    issue_link,
    rate_case,
    revoke_links,
)
from .session import case_of_order, close_buyer_session, open_buyer_session, session_order

View = Callable[..., HttpResponse]


def client_address(request: HttpRequest) -> str:
    # The direct peer only: a forwarded-for header is the client's to invent.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def buyer_view(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        order = session_order(request)
        if order is None:
            messages.info(request, _("Please find your order first."))
            return redirect("buyer:start")
        return view(request, order, *args, **kwargs)

    return wrapped


def _refused(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.render(get_language() or "zh-hans"))


# --- Access --------------------------------------------------------------------------------


def start(request: HttpRequest) -> HttpResponse:
    form = FindOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = access.request_code(
                order_number=form.cleaned_data["order_number"],
                phone_last4=form.cleaned_data["phone_last4"],
                address=client_address(request),
            )
        except access.TooManyAttempts as exc:
            return render(
                request,
                "buyer/start.html",
                {"form": form, "error": exc.render(get_language() or "zh-hans")},
                status=429,
            )
        code_form = CodeForm(initial={"order_number": form.cleaned_data["order_number"]})
        return render(
            request, "buyer/code.html", {"form": code_form, "shown_code": outcome.shown_code}
        )
    return render(request, "buyer/start.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        return render(request, "buyer/code.html", {"form": form}, status=400)
    try:
        order = access.verify_code(
            order_number=form.cleaned_data["order_number"],
            code=form.cleaned_data["code"],
            address=client_address(request),
        )
    except (access.AccessRefused, access.TooManyAttempts) as exc:
        status = exc.status
        return render(
            request,
            "buyer/code.html",
            {"form": form, "error": exc.render(get_language() or "zh-hans")},
            status=status,
        )
    open_buyer_session(request, order)
    return redirect("buyer:order")


def link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        access_by_link = access.order_for_link(token)
    except access.AccessRefused as exc:
        return render(
            request,
            "buyer/start.html",
            {"form": FindOrderForm(), "error": exc.render(get_language() or "zh-hans")},
            status=400,
        )
    open_buyer_session(request, access_by_link.order, link_issued_at=access_by_link.issued_at)
    return redirect("buyer:order")


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    close_buyer_session(request)
    return redirect("buyer:start")


# --- The order -----------------------------------------------------------------------------


def _case_view(case: Case) -> dict[str, Any]:
    refund = getattr(case, "refund_decision", None)
    survey = Survey.objects.filter(case_id=case.pk).first()
    offer = disputes.open_offer_to_buyer(case)
    return {
        "case": case,
        "offer": offer,
        "offer_words": disputes.offer_words(offer) if offer is not None else "",
        "status_words": outlook.status_words(case),
        "steps": outlook.next_steps(case),
        "outlook": outlook.policy_outlook(case),
        "timeline": outlook.timeline(case),
        "refund": refund,
        "items": list(case.items.select_related("order_item__sku__product")),
        "can_withdraw": can_withdraw(case),
        "needs_evidence": case.status == CaseStatus.AWAITING_EVIDENCE,
        "needs_tracking": case.status == CaseStatus.AWAITING_RETURN
        and case.return_status == ReturnStatus.AWAITING_SHIPMENT,
        "can_rate": survey.answered_at is None if survey is not None else can_be_rated(case),
        "rating": survey if survey is not None and survey.answered_at is not None else None,
    }


def _chat_turns(order: Order) -> list[Turn]:
    return list(
        Turn.objects.filter(
            conversation__order=order, conversation__channel=Conversation.Channel.PAGE
        ).order_by("-at", "-pk")[:20]
    )[::-1]


@buyer_view
def order_page(request: HttpRequest, order: Order) -> HttpResponse:
    cases = list(
        Case.objects.filter(order=order)
        .select_related("refund_decision")
        .order_by("-applied_at", "-pk")
    )
    return render(
        request,
        "buyer/order.html",
        {
            "order": order,
            "order_items": list(order.items.select_related("sku__product").order_by("pk")),
            "receiver": order.masked_receiver,
            "cases": [_case_view(c) for c in cases],
            "can_apply": not any(c.status not in TERMINAL_STATUSES for c in cases),
            "chat_form": ChatForm(),
            "turns": _chat_turns(order),
            "tracking_form": TrackingForm(),
            "evidence_form": EvidenceForm(),
            "rating_form": RatingForm(),
        },
    )


def _uploads(files: list[Any]) -> list[Upload]:
    return [Upload(stream=f, name=f.name) for f in files]


@buyer_view
def apply(request: HttpRequest, order: Order) -> HttpResponse:
    form = ApplyForm(request.POST or None, request.FILES or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            case = apply_for_order(
                order=order,
                type=form.cleaned_data["type"],
                reason=form.cleaned_data["reason"],
                items=form.requested(),
                statement=form.cleaned_data["statement"],
                uploads=_uploads(form.cleaned_data["photos"]),
                by=buyer_actor(order),
            )
        except DomainError as exc:
            _refused(request, exc)
        else:
            for line in outlook.policy_outlook(case):
                messages.success(request, line)
            return redirect("buyer:order")
    return render(
        request,
        "buyer/apply.html",
        {"form": form, "order": order},
        status=400 if form.errors else 200,
    )


@require_POST
@buyer_view
def add_evidence(request: HttpRequest, order: Order, pk: int) -> HttpResponse:
    case = case_of_order(order, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            record_buyer_evidence(
                case=case,
                uploads=_uploads(form.cleaned_data["photos"]),
                note=form.cleaned_data["note"],
                by=buyer_actor(order),
            )
            messages.success(request, _("Thank you: your photos or video were received."))
        except DomainError as exc:
            _refused(request, exc)
    else:
        messages.error(request, _("Add at least one photo or video."))
    return redirect("buyer:order")


@require_POST
@buyer_view
def add_tracking(request: HttpRequest, order: Order, pk: int) -> HttpResponse:
    case = case_of_order(order, pk)
    form = TrackingForm(request.POST)
    if form.is_valid():
        try:
            record_return_shipment(case=case, by=buyer_actor(order), **form.cleaned_data)
            messages.success(request, _("The tracking number is on record."))
        except DomainError as exc:
            _refused(request, exc)
    else:
        messages.error(request, _("Enter the carrier and the tracking number."))
    return redirect("buyer:order")


@require_POST
@buyer_view
def withdraw(request: HttpRequest, order: Order, pk: int) -> HttpResponse:
    case = case_of_order(order, pk)
    try:
        withdraw_case(case=case, by=buyer_actor(order))
        messages.success(request, _("Your request was withdrawn."))
    except DomainError as exc:
        _refused(request, exc)
    return redirect("buyer:order")


@require_POST
@buyer_view
def answer_offer(request: HttpRequest, order: Order, pk: int, offer_id: int) -> HttpResponse:
    """The buyer accepts or declines the shop's offer (R5.1); accepted, it is carried out at
    once (a refund goes through the capped, exactly-once refund)."""
    case = case_of_order(order, pk)
    accepted = request.POST.get("accepted") == "yes"
    try:
        disputes.answer_offer(
            offer=disputes.get_offer_for_case(case, offer_id),
            accepted=accepted,
            by=buyer_actor(order),
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(
            request,
            _("You accepted the shop's offer.")
            if accepted
            else _("You declined the shop's offer."),
        )
    return redirect("buyer:order")


@require_POST
@buyer_view
def rate(request: HttpRequest, order: Order, pk: int) -> HttpResponse:
    case = case_of_order(order, pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            rate_case(case=case, by=buyer_actor(order), **form.cleaned_data)
            messages.success(request, _("Thank you for your rating."))
        except DomainError as exc:
            _refused(request, exc)
    else:
        messages.error(request, _("Choose a score from 1 to 5."))
    return redirect("buyer:order")


@require_POST
@buyer_view
def chat(request: HttpRequest, order: Order) -> HttpResponse:
    form = ChatForm(request.POST)
    if form.is_valid():
        try:
            answer_buyer(
                order=order,
                text=form.cleaned_data["text"],
                channel=Conversation.Channel.PAGE,
                by=buyer_actor(order),
            )
        except DomainError as exc:
            _refused(request, exc)
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "buyer/_chat.html", {"turns": _chat_turns(order), "chat_form": ChatForm()}
        )
    return redirect("buyer:order")


# --- The staff's side: handovers, low ratings, links ---------------------------------------


@require_POST
@login_required
def staff_link(request: HttpRequest, pk: int) -> HttpResponse:
    """A staff member of the case's shop creates the signed link to send the buyer (R10.2):
    it opens this case's order only, until it expires. Shown once on the case page."""
    actor = actor_for_user(request.user)
    try:
        case = get_case_for_actor(actor, pk, write=True)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.render("en")) from exc
    url = link_url(issue_link(case=case, by=actor), request)
    hours = settings.AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS // 3600
    messages.success(
        request,
        _("Send the buyer this link; it opens this order only, for %(hours)s hours: %(url)s")
        % {"hours": hours, "url": url},
    )
    return redirect("workbench:case", case.pk)


@require_POST
@login_required
def staff_revoke_links(request: HttpRequest, pk: int) -> HttpResponse:
    """A staff member of the case's shop withdraws the links sent for this case's order."""
    actor = actor_for_user(request.user)
    try:
        case = get_case_for_actor(actor, pk, write=True)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.render("en")) from exc
    revoke_links(case=case, by=actor)
    messages.success(
        request, _("The links sent for this order no longer open it; make a new one if needed.")
    )
    return redirect("workbench:case", case.pk)


def link_url(token: str, request: HttpRequest) -> str:
    path = reverse("buyer:link", args=[token])
    base = settings.AFTERSALES_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@login_required
def staff_inbox(request: HttpRequest) -> HttpResponse:
    """What the buyers' side needs from a person: open handovers (every staff member of the
    shop) and ratings of 3 or less (supervisors and shop admins, R8.6)."""
    memberships = Membership.objects.filter(user_id=int(request.user.pk or 0))
    shop_ids = [m.shop_id for m in memberships]
    lead_shops = [m.shop_id for m in memberships if m.role in {Role.SUPERVISOR, Role.ADMIN}]
    if not shop_ids:
        raise Http404
    low = (
        Survey.objects.filter(shop_id__in=lead_shops, score__lte=LOW_SCORE)
        .select_related("case")
        .order_by("-answered_at")[:100]
    )
    return render(
        request,
        "buyer/staff.html",
        {
            "handovers": open_handovers(shop_ids),
            "low_ratings": list(low),
            "is_lead": bool(lead_shops),
        },
    )
