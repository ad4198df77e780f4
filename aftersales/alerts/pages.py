"""What the staff pages of the bad-day apps share (incidents, signals, alerts): the login
check, the actor, another shop as a 404, a refusal as a message on the page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.utils import translation
from django_htmx.http import HttpResponseClientRedirect

from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user


def staff_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Logged-in staff only; the request gets its actor; another shop's object is a 404."""

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

    return wrapper


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined,no-any-return]


def refusal(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, error.render(translation.get_language() or "zh-hans"))


def shops_of(actor: Actor, roles: frozenset[str] | None = None) -> list[Shop]:
    ids = [s for s, role in actor.shop_roles.items() if roles is None or role in roles]
    return list(Shop.objects.filter(pk__in=ids).order_by("pk"))


def chosen_shop(request: HttpRequest, shops: list[Shop]) -> Shop:
    """The shop of `?shop=` (or the form's `shop`) among `shops`, else the first; none is a 404."""
    raw = request.POST.get("shop") or request.GET.get("shop") or ""
    if raw:
        for shop in shops:
            if str(shop.pk) == raw:
                return shop
        raise Http404("shop")
    if not shops:
        raise Http404("shop")
    return shops[0]
