from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aftersales.shops.services import actor_for_user

from .services import notifications_for


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    """The unread count beside "Reminders" in the workbench's top bar (one indexed count)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = getattr(request, "actor", None) or actor_for_user(user)
    return {"unread_notifications": notifications_for(actor).filter(read_at__isnull=True).count()}
