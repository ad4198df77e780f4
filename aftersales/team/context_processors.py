"""Which team pages the top bar offers: only those the user's roles may open (the table in
`team.views`). An agent opens their duty switch, not the overview; shop admins and auditors
take no cases (R9.2), so they have no duty switch; auditors open neither."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aftersales.shops.services import actor_for_user

from .services import ASSIGNABLE_ROLES, LEAD_ROLES


def team_links(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = getattr(request, "actor", None) or actor_for_user(user)
    roles = set(actor.shop_roles.values())
    return {
        "team_nav": {
            "overview": bool(roles & LEAD_ROLES),
            "duty": bool(roles & ASSIGNABLE_ROLES),
        }
    }
