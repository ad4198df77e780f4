"""API authentication: integrators by per-shop key, browsers by session. Both yield an Actor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyHeader
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from aftersales.core.actors import Actor
from aftersales.core.errors import PermissionDenied
from aftersales.shops.services import actor_for_api_key, actor_for_user


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"
    default_message = _("The CSRF token is missing or wrong. Reload the page and try again.")


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return actor_for_api_key(key) if key else None


class SessionActorAuth(APIKeyCookie):
    """Django's session (with CSRF on writes), scoped to the user's shop memberships.

    CSRF is checked only for a logged-in browser: a request with no session (an anonymous
    caller, or an integrator whose key was wrong or revoked) is unauthenticated, 401, not a
    CSRF failure. A failed check is a JSON error like every other.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        user: Any = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if (
            self.csrf
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise CsrfFailed()
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if key is None:
            return None
        return actor_for_user(request.user)
