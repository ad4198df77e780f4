"""API authentication: integrators by per-shop key, browsers by session. Both yield an Actor."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader
from ninja.security.apikey import APIKeyCookie

from aftersales.core.actors import Actor
from aftersales.shops.services import actor_for_api_key, actor_for_user


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return actor_for_api_key(key) if key else None


class SessionActorAuth(APIKeyCookie):
    """Django's session (with CSRF on writes), scoped to the user's shop memberships."""

    from django.conf import settings as _settings

    param_name = _settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user: Any = request.user
        if user.is_authenticated and user.is_active:
            return actor_for_user(user)
        return None
