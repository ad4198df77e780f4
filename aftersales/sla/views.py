"""The inbox of SLA warnings and escalations (R2.7): at-risk warnings go to the assignee,
breaches to the shop's supervisors; each person reads their own here, one row per case (a
case's clocks each warn and breach on their own), the case with the newest reminder first,
with the shop each is from, and a count per shop and kind to filter by."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.shops.services import actor_for_user

from .models import Notification
from .services import mark_notifications_read, notifications_for, reminder_counts, reminder_groups

PAGE_SIZE = 100  # cases
# The kinds to filter by, in the summary's short words.
FILTERS = [(Notification.Kind.AT_RISK, _("At risk")), (Notification.Kind.BREACHED, _("Breached"))]


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    actor = actor_for_user(request.user)
    counts = reminder_counts(actor)
    shop_id = _int_or_none(request.GET.get("shop"))
    if shop_id not in {c.shop_id for c in counts}:
        shop_id = None  # a shop of someone else's, or none: all of one's own
    kind = request.GET.get("kind")
    if kind not in Notification.Kind.values:
        kind = None
    groups = reminder_groups(actor, shop_id=shop_id, kind=kind, limit=PAGE_SIZE)
    context = {
        "nav": "inbox",
        "groups": groups,
        "counts": counts,
        "shop_id": shop_id,
        "kind": kind,
        "kinds": FILTERS,
        "page_size": PAGE_SIZE,
    }
    return render(request, "sla/inbox.html", context)


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@login_required
@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the case's reminders read and go to it (another person's reminder is a 404)."""
    actor = actor_for_user(request.user)
    notification = get_object_or_404(notifications_for(actor), pk=pk)
    mark_notifications_read(by=actor, case_id=notification.case_id)
    return redirect("workbench:case", pk=notification.case_id)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    mark_notifications_read(by=actor_for_user(request.user))
    return redirect("sla:inbox")
