"""What every staff page's view needs, in one place: the decorator that lets only logged-in
people in and gives the request its actor, the actor back from the request, and the language
of the page. It lives in `team` (below imports, records, alerts, disputes, workbench in the
import-linter layers) because it needs only `core` and `shops.services.actor_for_user`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.utils import translation
from django_htmx.http import HttpResponseClientRedirect

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound, PermissionDenied
from aftersales.shops.services import actor_for_user

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def staff_view(view: View) -> View:
    """Logged-in people only; the request gets its actor (`actor_of`). The domain's refusals
    of access become Django's 404 (another shop's object: its existence does not leak) and
    403. An htmx request whose session ended reloads the login page whole instead of
    swapping it into a fragment."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
            return redirect_to_login(request.get_full_path())
        request.actor = actor_for_user(request.user)  # type: ignore[attr-defined]
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.render("en")) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.render("en")) from exc

    return wrapper  # type: ignore[return-value]


def actor_of(request: HttpRequest) -> Actor:
    """The actor `staff_view` gave the request."""
    return request.actor  # type: ignore[attr-defined,no-any-return]


def language() -> str:
    """The page's language (Simplified Chinese unless the request chose another)."""
    return translation.get_language() or "zh-hans"
