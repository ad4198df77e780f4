"""Whose numbers a report may show: the actor's shops, narrowed by the cuts asked for.

Every report and export starts from `scope_for`, the analytics' one permission check: a
person reads the reports of the shops they are a member of, in any role (the figures are the
team's own work); a shop they do not belong to is a 404, like a case of another shop. The
cuts only narrow further; an id of another shop's product or person simply matches nothing,
because every query is also filtered by the scope's shops.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.shops.models import Shop


@dataclass(frozen=True)
class Cuts:
    """What a report is narrowed to. Empty means "all"."""

    shop: int | None = None
    category: str = ""
    product: int | None = None
    sku: int | None = None
    reason: str = ""
    type: str = ""
    agent: int | None = None
    carrier: str = ""
    channel: str = ""  # orders.choices.OrderChannel
    live_room: str = ""  # the platform's live room id

    def as_params(self) -> dict[str, Any]:
        """The cuts that are set, as query parameters (and as the export's recorded filter)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class Scope:
    shop_ids: tuple[int, ...]
    cuts: Cuts

    @property
    def shops(self) -> list[Shop]:
        return list(Shop.objects.filter(pk__in=self.shop_ids).order_by("pk"))


def scope_for(actor: Actor, cuts: Cuts | None = None) -> Scope:
    """The shops the actor may read, or the one shop cut to; another shop is NotFound."""
    cuts = cuts or Cuts()
    if actor.is_unscoped:
        allowed = tuple(Shop.objects.order_by("pk").values_list("pk", flat=True))
    else:
        allowed = tuple(sorted(actor.shop_roles))
    if cuts.shop is not None:
        if cuts.shop not in allowed:
            raise NotFound(_("Shop not found."))
        return Scope(shop_ids=(cuts.shop,), cuts=cuts)
    return Scope(shop_ids=allowed, cuts=cuts)
