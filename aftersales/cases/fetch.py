"""The one permission-checked way to reach cases. Another shop's case is simply not found."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound, PermissionDenied
from aftersales.orders.models import Buyer, Order, PhoneTail
from aftersales.shops.choices import WRITE_ROLES

from .models import Case

MAX_BUYER_ORDERS = 500  # a buyer search finds the cases of at most this many of their orders
MAX_BUYERS = 50  # a nickname's beginning or a phone's last digits name at most this many
PHONE_TAIL = 4  # a phone is found by the whole number or by its last four digits
PHONE_SEPARATORS = re.compile(r"[\s\-+()]")


def cases_for_actor(actor: Actor) -> QuerySet[Case]:
    """Every case the actor may read: those of the shops they belong to."""
    if actor.is_unscoped:
        return Case.objects.all()
    return Case.objects.filter(shop_id__in=list(actor.shop_roles))


def get_case_for_actor(actor: Actor, pk: int, *, write: bool = False) -> Case:
    """Fetch a case the actor may see, or raise NotFound whether it is missing or foreign.

    With `write=True`, a read-only role (auditor) gets PermissionDenied: they may know the
    case exists, they may not change it.
    """
    case = (
        cases_for_actor(actor).select_related("order", "order__buyer", "shop").filter(pk=pk).first()
    )
    if case is None:
        raise NotFound(_("Case not found."))
    if write and not actor.is_unscoped and actor.role_in(case.shop_id) not in WRITE_ROLES:
        raise PermissionDenied(_("Your role can read this case but not change it."))
    return case


def search_cases(qs: QuerySet[Case], actor: Actor, term: str) -> QuerySet[Case]:
    """Narrow `qs` to a case id, a platform case id, an order id, or a buyer: by their id,
    their nickname (or its beginning), their phone number or its last four digits.

    The buyers and orders are looked up first, each through its own index and only in the
    actor's shops, so the case query gets plain ids: an OR across joined tables would make
    the database read them all. The phone is only compared, never shown: results show it
    masked (R6.5).
    """
    term = term.strip()
    if not term:
        return qs
    orders = Order.objects.all()
    buyers = Buyer.objects.all()
    if not actor.is_unscoped:
        shops = list(actor.shop_roles)
        orders, buyers = orders.filter(shop_id__in=shops), buyers.filter(shop_id__in=shops)
    order_ids = list(orders.filter(platform_order_id=term).values_list("pk", flat=True)[:10])
    buyer_ids = matching_buyer_ids(buyers, term)
    if buyer_ids:
        order_ids += orders.filter(buyer_id__in=buyer_ids).values_list("pk", flat=True)[
            :MAX_BUYER_ORDERS
        ]
    match = Q(platform_case_id=term) | Q(order_id__in=order_ids)
    if term.isdigit() and len(term) < 19:
        match |= Q(pk=int(term))
    return qs.filter(match)


def matching_buyer_ids(buyers: QuerySet[Buyer], term: str) -> list[int]:
    """The buyers a search term names, at most `MAX_BUYERS` for each way of naming them.
    Each lookup has its index (`orders.Buyer.Meta.indexes`)."""
    ids = list(buyers.filter(platform_buyer_id=term).values_list("pk", flat=True)[:1])
    ids += buyers.filter(nickname__startswith=term).values_list("pk", flat=True)[:MAX_BUYERS]
    digits = PHONE_SEPARATORS.sub("", term)
    if digits.isdigit() and len(digits) == PHONE_TAIL:
        ids += (
            buyers.annotate(phone_tail=PhoneTail("phone"))
            .filter(phone_tail=digits)
            .values_list("pk", flat=True)[:MAX_BUYERS]
        )
    elif digits.isdigit() and len(digits) > PHONE_TAIL:
        ids += buyers.filter(phone=digits).values_list("pk", flat=True)[:MAX_BUYERS]
    return list(dict.fromkeys(ids))
