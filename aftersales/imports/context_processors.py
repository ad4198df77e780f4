"""Whether the top bar offers the import: to a supervisor or shop admin of some shop."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aftersales.shops.services import actor_for_user

from .services import IMPORT_ROLES


def import_link(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = getattr(request, "actor", None) or actor_for_user(user)
    return {"imports_nav": bool(set(actor.shop_roles.values()) & IMPORT_ROLES)}
