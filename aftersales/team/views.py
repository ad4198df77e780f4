"""Team pages (R9): the supervisor view, duty switches, reassignment, bulk actions, staff and
API keys.

Who may do what, per shop (the role in the shop the page or the case belongs to):

| page                          | agent | supervisor | shop admin | auditor |
|-------------------------------|-------|------------|------------|---------|
| GET /team/                    | 403   | yes        | yes        | 403     |
| /team/duty/ (own switches)    | yes   | yes        | 403 (*)    | 403     |
| POST /team/duty/ someone else | 403   | yes        | yes        | 403     |
| POST /team/reassign/          | 403   | yes        | yes        | 403     |
| POST /team/bulk/ approve, msg | yes   | yes        | yes        | 403     |
| POST /team/bulk/ assign       | skip  | yes        | yes        | 403     |
| /team/staff/, /team/api-keys/ | 403   | 403        | yes        | 403     |

(*) Shop admins do not take cases, so they have no switch of their own.

A shop the user does not belong to is a 404 (its existence does not leak), as is another
shop's case; anonymous users are sent to the login page. Cases are always fetched through
`cases.fetch.get_case_for_actor(..., write=True)`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.cases import services as case_services
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case
from aftersales.cases.transitions import can_approve
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound, PermissionDenied
from aftersales.policy.services import approvable_by_policy
from aftersales.shops.choices import WRITE_ROLES, Role
from aftersales.shops.models import ApiKey, Membership, Shop
from aftersales.shops.services import actor_for_user, create_api_key, revoke_api_key
from aftersales.sla.models import ClockState, SlaClock
from aftersales.team import replies

from . import services
from .forms import (
    AddMemberForm,
    ApiKeyForm,
    BulkForm,
    CreateMemberForm,
    DisplayNameForm,
    SkillsForm,
)
from .metrics import agent_numbers, resolved_without_a_person
from .models import Duty, StaffProfile

ADMIN_ROLES = frozenset({Role.ADMIN})
PERIODS = (7, 30)


# --- Helpers ---------------------------------------------------------------------------------


def _shop_for(request: HttpRequest, roles: frozenset[str]) -> tuple[Shop, Actor]:
    """The shop the page is about, from `shop` in the query or form, and the actor.

    A shop the user is not a member of is 404; one where their role is not enough is 403.
    Without `shop`, the first (lowest id) shop where the role is enough.
    """
    actor = _actor(request)
    raw = request.POST.get("shop") or request.GET.get("shop")
    if raw:
        shop_id = _int_or_none(raw)
        if shop_id is None:
            raise Http404
        role = actor.role_in(shop_id)
        if role is None:
            raise Http404
        if role not in roles:
            raise DjangoPermissionDenied
    else:
        allowed = sorted(s for s, r in actor.shop_roles.items() if r in roles)
        if not allowed:
            raise DjangoPermissionDenied
        shop_id = allowed[0]
    return Shop.objects.get(pk=shop_id), actor


def _actor(request: HttpRequest) -> Actor:
    """The logged-in user as an actor, scoped to their shops (views are login_required)."""
    return actor_for_user(cast(AbstractBaseUser, request.user))


def _shops_with(actor: Actor, roles: frozenset[str]) -> list[Shop]:
    ids = [s for s, r in actor.shop_roles.items() if r in roles]
    return list(Shop.objects.filter(pk__in=ids).order_by("pk"))


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _int_or_none(raw: str | None) -> int | None:
    """A positive whole number in ASCII digits, or None ("²" is a digit to Python)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)


def _member_user(shop: Shop, user_id: int | None) -> Any:
    """A member of the shop by id, or 404: another shop's people are not ours to touch."""
    if user_id is None:
        raise Http404
    membership = Membership.objects.filter(shop=shop, user_id=user_id).select_related("user")
    found = membership.first()
    if found is None:
        raise Http404
    return found.user


# --- The supervisor view ---------------------------------------------------------------------


@dataclass
class StaffRow:
    user: Any
    role: str
    role_label: str
    on_duty: bool
    can_take_cases: bool
    skills: list[str]
    is_senior: bool
    open_cases: int
    breached_cases: int
    skills_form: Any = None
    name_form: Any = None


def person_name(user: Any) -> str:
    """How the pages name a person: their display name, else their username."""
    return str(user.get_full_name() or user.get_username())


def _staff_rows(shop: Shop) -> list[StaffRow]:
    members = list(
        Membership.objects.filter(shop=shop).select_related("user").order_by("user__username")
    )
    user_ids = [m.user_id for m in members]
    duties = dict(
        Duty.objects.filter(shop=shop, user_id__in=user_ids).values_list("user_id", "on_duty")
    )
    profiles = {p.user_id: p for p in StaffProfile.objects.filter(user_id__in=user_ids)}
    loads = (
        Case.objects.filter(shop=shop, assignee_id__in=user_ids)
        .exclude(status__in=TERMINAL_STATUSES)
        .values("assignee_id")
        .annotate(
            n=Count("pk", distinct=True),
            breached=Count(
                "pk",
                distinct=True,
                filter=Q(clocks__breached_at__isnull=False, clocks__is_buyer_clock=False)
                & ~Q(clocks__state=ClockState.STOPPED),
            ),
        )
    )
    by_user = {row["assignee_id"]: row for row in loads}
    rows = []
    for m in members:
        profile = profiles.get(m.user_id)
        load = by_user.get(m.user_id, {})
        rows.append(
            StaffRow(
                user=m.user,
                role=m.role,
                role_label=m.get_role_display(),
                on_duty=duties.get(m.user_id, False),
                can_take_cases=m.role in services.ASSIGNABLE_ROLES,
                skills=list(profile.skills) if profile else [],
                is_senior=bool(profile and profile.is_senior),
                open_cases=load.get("n", 0),
                breached_cases=load.get("breached", 0),
            )
        )
    return rows


def _urgent_clocks(shop: Shop, now: Any) -> list[dict[str, Any]]:
    """The merchant's live clocks that are breached or at risk, most urgent first."""
    clocks = (
        SlaClock.objects.filter(shop=shop, is_buyer_clock=False)
        .exclude(state=ClockState.STOPPED)
        .filter(Q(breached_at__isnull=False) | Q(state=ClockState.RUNNING, at_risk_at__lte=now))
        .select_related("case", "case__assignee")
        .order_by("due_at", "pk")[:200]
    )
    rows = []
    for clock in clocks:
        breached = clock.breached_at is not None or (
            clock.state == ClockState.RUNNING and clock.due_at <= now
        )
        left = clock.due_at - now if clock.state == ClockState.RUNNING else None
        rows.append({"clock": clock, "case": clock.case, "breached": breached, "left": left})
    return rows


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The supervisor view: urgent cases, workload, numbers, duty and reassignment."""
    shop, actor = _shop_for(request, services.LEAD_ROLES)
    days = _int_or_none(request.GET.get("days"))
    days = days if days in PERIODS else PERIODS[0]
    now = timezone.now()
    urgent = _urgent_clocks(shop, now)
    staff = _staff_rows(shop)
    unassigned = (
        Case.objects.filter(shop=shop, assignee__isnull=True)
        .exclude(status__in=TERMINAL_STATUSES)
        .count()
    )
    context = {
        "nav": "team",
        "shop": shop,
        "shops": _shops_with(actor, services.LEAD_ROLES),
        "is_admin": actor.role_in(shop.pk) == Role.ADMIN,
        "days": days,
        "periods": PERIODS,
        "urgent": urgent,
        "breached_count": sum(1 for r in urgent if r["breached"]),
        "at_risk_count": sum(1 for r in urgent if not r["breached"]),
        "staff": staff,
        "assignable": [s for s in staff if s.role in WRITE_ROLES],
        "unassigned": unassigned,
        "numbers": agent_numbers(shop=shop, start=now - timedelta(days=days), end=now),
        "resolved_automatically": resolved_without_a_person(shop, now - timedelta(days=days), now),
        "next": request.get_full_path(),
    }
    return render(request, "team/dashboard.html", context)


# --- Duty ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def duty(request: HttpRequest) -> HttpResponse:
    """Your own on-duty switch in each shop where you take cases; POST also lets a
    supervisor or admin switch anyone in their shop (fields `shop`, `user`, `on_duty`)."""
    actor = _actor(request)
    if request.method == "POST":
        if not request.POST.get("shop"):
            raise BadRequest("no shop")  # the page's forms always name it
        shop, actor = _shop_for(request, frozenset(Role.values))
        target_id = _int_or_none(request.POST.get("user")) or request.user.pk
        if target_id != request.user.pk and actor.role_in(shop.pk) not in services.LEAD_ROLES:
            raise DjangoPermissionDenied
        if target_id == request.user.pk and actor.role_in(shop.pk) not in (
            services.ASSIGNABLE_ROLES | services.LEAD_ROLES
        ):
            raise DjangoPermissionDenied
        target = _member_user(shop, target_id)
        on_duty = request.POST.get("on_duty") == "1"
        try:
            services.set_on_duty(user=target, shop=shop, on_duty=on_duty, by=actor)
        except PermissionDenied as error:
            raise DjangoPermissionDenied from error
        except DomainError as error:
            messages.error(request, error.render(_current_language()))
        else:
            text = (
                _("%(name)s is now on duty in %(shop)s.")
                if on_duty
                else _("%(name)s is now off duty in %(shop)s.")
            )
            messages.success(request, text % {"name": person_name(target), "shop": shop.name})
        return redirect(_next_url(request, "team:duty"))

    shops = _shops_with(actor, services.ASSIGNABLE_ROLES)
    if not shops:
        raise DjangoPermissionDenied
    duties = dict(
        Duty.objects.filter(user_id=actor.user_id or 0, shop__in=shops).values_list(
            "shop_id", "on_duty"
        )
    )
    rows = [{"shop": s, "on_duty": duties.get(s.pk, False)} for s in shops]
    return render(request, "team/duty.html", {"nav": "team", "rows": rows})


def _current_language() -> str:
    return translation.get_language() or "zh-hans"


# --- Reassignment ----------------------------------------------------------------------------


@login_required
@require_POST
def reassign(request: HttpRequest) -> HttpResponse:
    """Give one case to someone else in its shop (fields `case_id`, `assignee_id`)."""
    actor = _actor(request)
    raw_case_id = (request.POST.get("case_id") or "").strip()
    case_id = _int_or_none(raw_case_id)
    # The number is typed on the form: a wrong one is said there, whether it is missing or
    # another shop's (the two read the same, so ids do not leak).
    try:
        if case_id is None:
            raise NotFound
        case = get_case_for_actor(actor, case_id, write=True)
    except NotFound:
        if raw_case_id:
            text = _("There is no case %(case)s in your shops.") % {"case": raw_case_id[:20]}
        else:
            text = _("Give the case number.")
        messages.error(request, text)
        return redirect(_next_url(request, "team:dashboard"))
    except PermissionDenied as error:
        raise DjangoPermissionDenied from error
    if actor.role_in(case.shop_id) not in services.LEAD_ROLES:
        raise DjangoPermissionDenied
    assignee_id = _int_or_none(request.POST.get("assignee_id"))
    assignee = get_user_model().objects.filter(pk=assignee_id).first() if assignee_id else None
    default = f"/team/?shop={case.shop_id}"
    if assignee is None:
        messages.error(request, _("Choose who gets the case."))
        return redirect(_next_url(request, default))
    try:
        services.reassign(case=case, to_user=assignee, by=actor)
    except DomainError as error:
        messages.error(request, error.render(_current_language()))
    else:
        messages.success(
            request,
            _("Case %(case)s is now assigned to %(name)s.")
            % {"case": case.pk, "name": person_name(assignee)},
        )
    return redirect(_next_url(request, default))


# --- Bulk actions ----------------------------------------------------------------------------

# Why a case was skipped, as shown to the user.
SKIP_REASONS = {
    "not_found": gettext_lazy("not found"),
    "read_only": gettext_lazy("your role can only read it"),
    "not_permitted": gettext_lazy("only a supervisor or shop admin can assign"),
    "not_allowed_by_policy": gettext_lazy("the policy does not allow approving it"),
    "wrong_status": gettext_lazy("not awaiting review"),
    "does_not_fit": gettext_lazy("the message does not fit the case now"),
    "refused": gettext_lazy("refused"),
}
BULK_ACTIONS = {
    "approve": gettext_lazy("Approve"),
    "assign": gettext_lazy("Assign"),
    "message": gettext_lazy("Send a templated message"),
}


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to many cases; the queue posts here.

    Form fields:
    - `case_ids`: a case id, repeated once per selected case (at most 500);
    - `action`: `approve`, `assign` or `message`;
    - `assignee_id`: the user to assign to (`assign` only);
    - `template`: the code of a reply template (`team.replies`) one of the user's
      shops offers (`message` only); a case whose shop does not offer it is refused;
    - `next` (optional): where the "back" link of the result page goes.

    Each case is fetched with `get_case_for_actor(..., write=True)` (another shop's id is
    counted as not found and never touched) and handled in its own transaction, so one
    refusal does not undo the others. `approve` approves only cases awaiting review whose
    latest policy decision supports it (`approvable_by_policy`). Malformed input is a 400
    and changes nothing. The page lists what was done and what was skipped, and why.
    """
    actor = _actor(request)
    if not any(role in WRITE_ROLES for role in actor.shop_roles.values()):
        raise DjangoPermissionDenied
    write_shops = [shop for shop, role in actor.shop_roles.items() if role in WRITE_ROLES]
    form = BulkForm(
        request.POST,
        template_codes={code for code, _name in replies.choices_for_shops(write_shops)},
    )
    if not form.is_valid():
        problem = form.non_field_errors()[0] if form.non_field_errors() else _("Invalid request.")
        return render(
            request, "team/bulk_result.html", {"nav": "team", "problem": problem}, status=400
        )
    action = form.cleaned_data["action"]
    template = form.cleaned_data.get("template") or ""
    assignee = None
    if action == "assign":
        # A missing user is refused per case like a non-member, so ids do not leak.
        assignee = get_user_model().objects.filter(pk=form.cleaned_data["assignee_id"]).first()

    done: list[int] = []
    skipped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case_id in form.cleaned_data["case_ids"]:
        outcome, detail = _bulk_one(actor, case_id, action, assignee, template)
        if outcome == "done":
            done.append(case_id)
        else:
            skipped[outcome].append({"pk": case_id, "detail": detail})
    context = {
        "nav": "team",
        "action": action,
        "action_label": BULK_ACTIONS[action],
        "done": done,
        "skipped": [
            {"reason": SKIP_REASONS[code], "code": code, "cases": cases}
            for code, cases in skipped.items()
        ],
        "skipped_count": sum(len(cases) for cases in skipped.values()),
        "next": _next_url(request, "/"),
    }
    return render(request, "team/bulk_result.html", context)


def _bulk_one(
    actor: Actor, case_id: int, action: str, assignee: Any, template: str
) -> tuple[str, str]:
    """Do the action to one case. Returns ("done", "") or (skip reason, detail)."""
    try:
        case = get_case_for_actor(actor, case_id, write=True)
    except NotFound:
        return "not_found", ""
    except PermissionDenied:
        return "read_only", ""
    try:
        if action == "approve":
            if not can_approve(case):
                return "wrong_status", ""
            if not approvable_by_policy(case):
                return "not_allowed_by_policy", ""
            case_services.approve_case(case=case, by=actor)
        elif action == "assign":
            if actor.role_in(case.shop_id) not in services.LEAD_ROLES:
                return "not_permitted", ""
            if assignee is None:
                return "refused", _("The assignee is not a member of this shop.")
            services.reassign(case=case, to_user=assignee, by=actor)
        else:
            misfit = services.template_misfit(case, template)
            if misfit is not None:
                return "does_not_fit", str(misfit)
            services.send_templated_message(case=case, template=template, by=actor)
    except PermissionDenied:
        return "not_permitted", ""
    except DomainError as error:
        return "refused", error.render(_current_language())
    return "done", ""


# --- Staff (shop admins) ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest) -> HttpResponse:
    """Members of the shop with their roles, skills and duty; add or create a member.

    POST with `form=add` (username, role) or `form=create` (username, password1, password2,
    role).
    """
    shop, actor = _shop_for(request, ADMIN_ROLES)
    add_form = AddMemberForm(prefix="add")
    create_form = CreateMemberForm(prefix="create")
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        try:
            if which == "add":
                add_form = AddMemberForm(request.POST, prefix="add")
                if add_form.is_valid():
                    services.add_existing_member(
                        shop=shop, user=add_form.user, role=add_form.cleaned_data["role"], by=actor
                    )
                    messages.success(
                        request,
                        _("%(name)s is a member of %(shop)s.")
                        % {"name": person_name(add_form.user), "shop": shop.name},
                    )
                    return redirect(f"/team/staff/?shop={shop.pk}")
            elif which == "create":
                create_form = CreateMemberForm(request.POST, prefix="create")
                if create_form.is_valid():
                    data = create_form.cleaned_data
                    services.create_staff_user(
                        shop=shop,
                        username=data["username"],
                        password=data["password1"],
                        role=data["role"],
                        display_name=data["display_name"],
                        by=actor,
                    )
                    messages.success(
                        request,
                        _("%(name)s can now log in and work in %(shop)s.")
                        % {"name": data["display_name"] or data["username"], "shop": shop.name},
                    )
                    return redirect(f"/team/staff/?shop={shop.pk}")
            else:
                raise BadRequest("unknown form")  # the page posts `add` or `create`
        except DomainError as error:
            messages.error(request, error.render(_current_language()))
        status = 400
    rows = _staff_rows(shop)
    for row in rows:
        row.skills_form = SkillsForm(
            initial={"skills": row.skills, "is_senior": row.is_senior},
            prefix=f"m{row.user.pk}",
        )
        row.name_form = DisplayNameForm(
            initial={"display_name": row.user.first_name}, prefix=f"n{row.user.pk}"
        )
    context = {
        "nav": "team",
        "shop": shop,
        "shops": _shops_with(actor, ADMIN_ROLES),
        "rows": rows,
        "add_form": add_form,
        "create_form": create_form,
    }
    return render(request, "team/staff.html", context, status=status)


@login_required
@require_POST
def staff_skills(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set one member's skills and seniority (form prefix `m<user id>`)."""
    shop, actor = _shop_for(request, ADMIN_ROLES)
    member = _member_user(shop, user_id)
    form = SkillsForm(request.POST, prefix=f"m{user_id}")
    if not form.is_valid():
        messages.error(request, _("Choose skills from the list."))
    else:
        try:
            services.set_skills(
                user=member,
                shop=shop,
                skills=form.cleaned_data["skills"],
                is_senior=form.cleaned_data["is_senior"],
                by=actor,
            )
        except DomainError as error:
            messages.error(request, error.render(_current_language()))
        else:
            messages.success(
                request, _("Saved the skills of %(name)s.") % {"name": person_name(member)}
            )
    return redirect(f"/team/staff/?shop={shop.pk}")


@login_required
@require_POST
def staff_name(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set one member's display name (form prefix `n<user id>`)."""
    shop, actor = _shop_for(request, ADMIN_ROLES)
    member = _member_user(shop, user_id)
    form = DisplayNameForm(request.POST, prefix=f"n{user_id}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    else:
        try:
            services.set_display_name(
                shop=shop, user=member, display_name=form.cleaned_data["display_name"], by=actor
            )
        except DomainError as error:
            messages.error(request, error.render(_current_language()))
        else:
            messages.success(
                request, _("Saved the display name of %(name)s.") % {"name": member.get_username()}
            )
    return redirect(f"/team/staff/?shop={shop.pk}")


# --- API keys (shop admins) ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The shop's API keys; POST creates one and shows its raw value on this response only."""
    shop, actor = _shop_for(request, ADMIN_ROLES)
    form = ApiKeyForm()
    new_key = None
    status = 200
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            key, raw = create_api_key(
                shop=shop, name=form.cleaned_data["name"], role=form.cleaned_data["role"], by=actor
            )
            new_key = {"key": key, "raw": raw}
            form = ApiKeyForm()
        else:
            status = 400
    keys = ApiKey.objects.filter(shop=shop).order_by("-created_at", "-pk")
    context = {
        "nav": "team",
        "shop": shop,
        "shops": _shops_with(actor, ADMIN_ROLES),
        "keys": keys,
        "form": form,
        "new_key": new_key,
    }
    response = render(request, "team/api_keys.html", context, status=status)
    # The raw key is on this page once: no cache may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke_key(request: HttpRequest, key_id: int) -> HttpResponse:
    actor = _actor(request)
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None or actor.role_in(key.shop_id) is None:
        raise Http404
    if actor.role_in(key.shop_id) != Role.ADMIN:
        raise DjangoPermissionDenied
    if key.revoked_at is None:
        revoke_api_key(key=key, by=actor)
        messages.success(request, _("The key %(prefix)s… is revoked.") % {"prefix": key.prefix})
    return redirect(f"/team/api-keys/?shop={key.shop_id}")
