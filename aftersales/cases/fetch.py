"""The one permission-checked way to reach cases. Another shop's case is simply not found."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound, PermissionDenied
from aftersales.shops.choices import WRITE_ROLES

from .models import Case


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
