"""The inbox of SLA warnings and escalations (R2.7): at-risk warnings go to the assignee,
breaches to the shop's supervisors; each person reads their own here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from aftersales.shops.services import actor_for_user

from .services import mark_notifications_read, notifications_for

PAGE_SIZE = 100


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    actor = actor_for_user(request.user)
    notifications = (
        notifications_for(actor)
        .select_related("case", "case__order", "clock", "shop")
        .order_by("read_at", "-created_at")[:PAGE_SIZE]
    )
    return render(request, "sla/inbox.html", {"nav": "inbox", "notifications": list(notifications)})


@login_required
@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and go to its case (another person's notification is a 404)."""
    actor = actor_for_user(request.user)
    notification = get_object_or_404(notifications_for(actor), pk=pk)
    mark_notifications_read(by=actor, ids=[notification.pk])
    return redirect("workbench:case", pk=notification.case_id)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    mark_notifications_read(by=actor_for_user(request.user))
    return redirect("sla:inbox")
