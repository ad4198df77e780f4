"""What the staff pages of the bad-day apps share (incidents, signals, alerts): the login
check and the actor (`team.web`, shared with every staff page), a refusal as a message on
the page, the shops to choose from."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest

from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.shops.models import Shop
from aftersales.team.web import actor_of, language, staff_view

__all__ = ["actor_of", "chosen_shop", "refusal", "shops_of", "staff_view"]


def refusal(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, error.render(language()))


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
