"""Whether the top bar offers the access log: to a shop admin or auditor of some shop."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aftersales.shops.services import actor_for_user

from .access import READER_ROLES


def access_log_link(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = getattr(request, "actor", None) or actor_for_user(user)
    return {"access_log_nav": bool(set(actor.shop_roles.values()) & READER_ROLES)}
