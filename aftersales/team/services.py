"""Team services (R9): duty, skills, automatic and manual assignment, staff, messages.

Like every service here: keyword-only, an acting `by`, one transaction, an audit event in
that transaction. Views check roles to choose what to show; the services check them again,
so a script or a future endpoint cannot skip the rule.

Lock order, to stay free of deadlocks on PostgreSQL: a shop's `Duty` rows (in pk order)
before the case row. `assign_automatically` and `reassign` both follow it; the case
services lock only cases, and `set_on_duty` only one duty row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases.choices import TERMINAL_STATUSES, ReturnStatus
from aftersales.cases.models import Case
from aftersales.cases.services import assign_case, lock_case, message_buyer
from aftersales.catalog.choices import Category
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput, PermissionDenied
from aftersales.core.limits import (
    DISPLAY_NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    check_length,
)
from aftersales.shops.choices import Role
from aftersales.shops.models import Membership, Shop
from aftersales.shops.services import add_member
from aftersales.team import replies

from .models import Duty, StaffProfile

# Who takes cases: agents and supervisors (R9.2). Shop admins and auditors do not.
ASSIGNABLE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})
# Who manages the team: assigns, reassigns, sets anyone's duty and skills.
LEAD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _check_lead(by: Actor, shop_id: int) -> None:
    if not by.is_unscoped and by.role_in(shop_id) not in LEAD_ROLES:
        raise PermissionDenied(_("Only a supervisor or shop admin can do this."))


def _role_of(user: Any, shop_id: int) -> str | None:
    return (
        Membership.objects.filter(user=user, shop_id=shop_id).values_list("role", flat=True).first()
    )


# --- Duty and skills -------------------------------------------------------------------------


@transaction.atomic
def set_on_duty(*, user: Any, shop: Shop, on_duty: bool, by: Actor) -> Duty:
    """Put a person on or off duty in one shop. People switch their own; a supervisor or
    shop admin switches anyone's in their shop. Only agents and supervisors take cases.

    Switching to the state it already has changes nothing and records nothing.
    """
    if not (by.user_id == user.pk or by.is_unscoped):
        _check_lead(by, shop.pk)
    if _role_of(user, shop.pk) not in ASSIGNABLE_ROLES:
        raise InvalidInput(_("Only agents and supervisors of this shop take cases."))
    now = timezone.now()
    duty, created = Duty.objects.select_for_update(no_key=True).get_or_create(
        user=user, shop=shop, defaults={"on_duty": on_duty, "changed_at": now}
    )
    was_on_duty = False if created else duty.on_duty
    if was_on_duty == on_duty:
        return duty
    if not created:
        duty.on_duty = on_duty
        duty.changed_at = now
        duty.save(update_fields=["on_duty", "changed_at"])
    record_event(
        shop_id=shop.pk,
        type="duty_changed",
        by=by,
        before={"on_duty": was_on_duty},
        after={"on_duty": on_duty},
        payload={"user": user.pk, "username": user.get_username()},
    )
    return duty


@transaction.atomic
def set_skills(
    *,
    user: Any,
    shop: Shop,
    skills: Iterable[str],
    by: Actor,
    is_senior: bool | None = None,
) -> StaffProfile:
    """Set a member's skills (catalog categories) and, if given, their seniority.

    Skills and seniority belong to the person (see `models`); the change is recorded in
    the chain of `shop`, whose supervisor or admin made it, and the person must work there.
    """
    _check_lead(by, shop.pk)
    if _role_of(user, shop.pk) is None:
        raise InvalidInput(_("This person is not a member of the shop."))
    wanted = sorted(set(skills))
    unknown = [s for s in wanted if s not in Category.values]
    if unknown:
        raise InvalidInput(_("Unknown skill: %(skill)s."), skill=", ".join(unknown))
    profile, _created = StaffProfile.objects.select_for_update(no_key=True).get_or_create(user=user)
    before = {"skills": list(profile.skills), "is_senior": profile.is_senior}
    profile.skills = wanted
    if is_senior is not None:
        profile.is_senior = is_senior
    after = {"skills": wanted, "is_senior": profile.is_senior}
    if before == after:
        return profile
    profile.save(update_fields=["skills", "is_senior", "updated_at"])
    record_event(
        shop_id=shop.pk,
        type="staff_skills_changed",
        by=by,
        before=before,
        after=after,
        payload={"user": user.pk, "username": user.get_username()},
    )
    return profile


# --- Assignment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One on-duty person as automatic assignment sees them."""

    user_id: int
    load: int  # open cases assigned in this shop
    skills: frozenset[str]
    is_senior: bool
    last_assigned_at: datetime | None


def choose_assignee(
    candidates: Sequence[Candidate], *, categories: Iterable[str], vip: bool
) -> Candidate | None:
    """Pick who gets the case (R9.2, R2.8). A pure function; the rules, in order:

    1. A VIP buyer's case goes to senior staff, if any senior is on duty.
    2. Among those, people with a skill matching one of the case's item categories, if any.
    3. Among those, the least loaded (open cases assigned in this shop).
    4. Ties: whoever was assigned least recently (never assigned first), then the lowest
       user id. Equal agents therefore take turns.

    Skill and seniority narrow the pool rather than weigh against load: that is what
    "the least loaded with a matching skill" asks. A skilled agent with many open cases
    still gets the electronics case while others idle; supervisors see that on /team/.
    """
    pool = list(candidates)
    if not pool:
        return None
    if vip:
        seniors = [c for c in pool if c.is_senior]
        pool = seniors or pool
    wanted = set(categories)
    skilled = [c for c in pool if c.skills & wanted]
    pool = skilled or pool
    return min(
        pool,
        key=lambda c: (
            c.load,
            c.last_assigned_at is not None,
            c.last_assigned_at or datetime.min.replace(tzinfo=UTC),
            c.user_id,
        ),
    )


def open_loads(shop_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    """Open cases (status not completed or closed) assigned to each person in one shop.

    Load is counted per shop: each shop's team is balanced on its own, and assigning a
    shop's case never reads another shop's cases.
    """
    rows = (
        Case.objects.filter(shop_id=shop_id, assignee_id__in=list(user_ids))
        .exclude(status__in=TERMINAL_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    return dict(rows)


@transaction.atomic
def assign_automatically(*, case: Case, by: Actor) -> Case:
    """Give a newly arrived case to the right person on duty in its shop (R9.2).

    The shop's on-duty `Duty` rows are locked first, in pk order, so two cases arriving at
    once are assigned one after the other: the second sees the first's assignment in the
    loads and the first's `last_assigned_at`, and loads stay balanced. Different shops
    never wait on each other. The case itself is then locked and assigned through
    `cases.services.assign_case` (which records `case_assigned`).

    A case that already has an assignee (a redelivered message, a manual assignment first)
    or is finished is left as it is. If nobody is on duty, the case stays unassigned and
    nothing is recorded: the missing `case_assigned` is the record, and every `duty_changed`
    event is on the shop's chain, so "nobody was on duty when it arrived" can be shown
    from the trail without adding an event to every case that arrives at night. The case
    waits in the queue's unassigned bucket and on /team/, where a supervisor assigns it.
    """
    duties = list(
        # no_key: we change only last_assigned_at, never a key; other rows referencing
        # the duty (none today) would not be blocked.
        Duty.objects.select_for_update(no_key=True)
        .filter(shop_id=case.shop_id, on_duty=True)
        .order_by("pk")
    )
    case = lock_case(case)
    if case.assignee_id is not None or case.status in TERMINAL_STATUSES:
        return case
    members = {
        user_id: (role, username)
        for user_id, role, username in Membership.objects.filter(
            shop_id=case.shop_id,
            role__in=ASSIGNABLE_ROLES,
            user_id__in=[d.user_id for d in duties],
            user__is_active=True,
        ).values_list("user_id", "role", "user__username")
    }
    duties = [d for d in duties if d.user_id in members]
    if not duties:
        return case
    # A high-risk plan names its handlers (R6.4: roles or usernames): those on duty get it.
    handlers = plan_handlers(case)
    named = [d for d in duties if handlers & set(members[d.user_id])]
    if named:
        duties = named

    user_ids = [d.user_id for d in duties]
    profiles = {p.user_id: p for p in StaffProfile.objects.filter(user_id__in=user_ids)}
    loads = open_loads(case.shop_id, user_ids)
    candidates = [
        Candidate(
            user_id=d.user_id,
            load=loads.get(d.user_id, 0),
            skills=frozenset(getattr(profiles.get(d.user_id), "skills", None) or ()),
            is_senior=getattr(profiles.get(d.user_id), "is_senior", False),
            last_assigned_at=d.last_assigned_at,
        )
        for d in duties
    ]
    categories = set(case.items.values_list("order_item__sku__product__category", flat=True))
    vip = case.order.buyer.vip_level > 0
    chosen = choose_assignee(candidates, categories=categories, vip=vip)
    assert chosen is not None
    duty = next(d for d in duties if d.user_id == chosen.user_id)
    duty.last_assigned_at = timezone.now()
    duty.save(update_fields=["last_assigned_at"])
    assignee = get_user_model().objects.get(pk=chosen.user_id)
    return assign_case(case=case, assignee=assignee, by=by)


def plan_handlers(case: Case) -> frozenset[str]:
    """The handlers (roles or usernames) the high-risk plan of the case's latest policy
    decision names (R6.4); empty when no plan applies."""
    from aftersales.policy.services import latest_decision

    decision = latest_decision(case)
    plan = (decision.payload.get("high_risk_plan") if decision else None) or {}
    return frozenset(str(h) for h in plan.get("handlers", []))


@transaction.atomic
def reassign(*, case: Case, to_user: Any, by: Actor) -> Case:
    """Manually give a case to someone else in its shop (R9.2). Supervisors and shop admins
    only; the assignee must be a member who may work cases (checked by `assign_case`).

    The assignee's duty row, if any, is locked before the case (the module's lock order)
    and marked as just assigned, so automatic assignment counts the turn.
    """
    _check_lead(by, case.shop_id)
    duty = (
        Duty.objects.select_for_update(no_key=True)
        .filter(shop_id=case.shop_id, user_id=to_user.pk)
        .first()
    )
    case = assign_case(case=case, assignee=to_user, by=by)
    if duty is not None:
        duty.last_assigned_at = timezone.now()
        duty.save(update_fields=["last_assigned_at"])
    return case


# --- Messages --------------------------------------------------------------------------------


# Templates that ask the buyer to send the goods back: they fit a case only while it waits for
# the buyer's parcel (issue 14: a bulk reminder reached a buyer who had shipped already).
RETURN_SHIPMENT_TEMPLATES = frozenset({"return_reminder", "return_address"})


def template_misfit(case: Case, template: str) -> Any:
    """Why the template does not fit the case as it is now, or None if it fits."""
    if (
        template in RETURN_SHIPMENT_TEMPLATES
        and case.return_status != ReturnStatus.AWAITING_SHIPMENT
    ):
        if case.return_status == ReturnStatus.NOT_REQUIRED:
            return _("The case needs no return.")
        return _("The buyer has already sent the goods back.")
    return None


@transaction.atomic
def send_templated_message(*, case: Case, template: str, by: Actor) -> Case:
    """Send a templated message to the buyer with its filled-in text (R3.5, R12.1), through
    the one message service (`cases.services.message_buyer`).

    `template` is a code; the case's shop's own wording wins over the default, and a code
    the shop does not offer (unknown, switched off) is refused, as is a template that does
    not fit the case any more (`template_misfit`).
    """
    message = replies.template_for(case.shop_id, template)
    if message is None:
        raise InvalidInput(_("Unknown message template."))
    case = lock_case(case)
    misfit = template_misfit(case, template)
    if misfit is not None:
        raise Conflict(misfit)
    return message_buyer(case=case, text=replies.fill(message, case), template=template, by=by)


# --- Staff -----------------------------------------------------------------------------------


@transaction.atomic
def create_staff_user(
    *,
    shop: Shop,
    username: str,
    password: str,
    role: str,
    by: Actor,
    display_name: str = "",
) -> Membership:
    """Create a login for a new member of the shop and add them with a role and the name
    the pages show for them (else the username). The form has validated the password
    against the installation's password rules."""
    _check_admin(by, shop.pk)
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."))
    username = username.strip()
    if not username:
        raise InvalidInput(_("A username is required."))
    check_length(username=(username, USERNAME_MAX_LENGTH), password=(password, PASSWORD_MAX_LENGTH))
    display_name = _clean_display_name(display_name)
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("That username is taken."))
    user = user_model.objects.create_user(
        username=username, password=password, first_name=display_name
    )
    return add_member(shop=shop, user=user, role=role, by=by)


@transaction.atomic
def set_display_name(*, shop: Shop, user: Any, display_name: str, by: Actor) -> Any:
    """Set the name the pages show for a member (the queue, the team pages, the case page);
    empty shows the username. The person's login stays the same."""
    _check_admin(by, shop.pk)
    if _role_of(user, shop.pk) is None:
        raise InvalidInput(_("This person is not a member of the shop."))
    display_name = _clean_display_name(display_name)
    before = user.first_name
    if before == display_name:
        return user
    user.first_name = display_name
    user.save(update_fields=["first_name"])
    record_event(
        shop_id=shop.pk,
        type="staff_renamed",
        by=by,
        before={"display_name": before},
        after={"display_name": display_name},
        payload={"user": user.pk, "username": user.get_username()},
    )
    return user


def _clean_display_name(display_name: str) -> str:
    display_name = " ".join(display_name.split())
    check_length(display_name=(display_name, DISPLAY_NAME_MAX_LENGTH))
    return display_name


@transaction.atomic
def add_existing_member(*, shop: Shop, user: Any, role: str, by: Actor) -> Membership:
    """Add an existing login to the shop with a role, or change a member's role."""
    _check_admin(by, shop.pk)
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."))
    if by.user_id == user.pk:
        # An admin demoting themselves could leave the shop with no one to manage it.
        raise InvalidInput(_("You cannot change your own role."))
    return add_member(shop=shop, user=user, role=role, by=by)


def _check_admin(by: Actor, shop_id: int) -> None:
    if not by.is_unscoped and by.role_in(shop_id) != Role.ADMIN:
        raise PermissionDenied(_("Only a shop admin can manage staff."))
