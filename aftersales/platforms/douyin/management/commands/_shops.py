"""Choosing shop links on the command line."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import QuerySet

from aftersales.platforms.douyin.models import DouyinShopLink


def links(shop: str | None) -> QuerySet[DouyinShopLink]:
    """All active links, or the one of `shop` (the shop's pk or its platform shop id)."""
    selected = DouyinShopLink.objects.filter(is_active=True).select_related("shop")
    if shop is None:
        return selected
    by_id = selected.filter(shop_id=int(shop)) if shop.isdigit() else selected.none()
    chosen = by_id or selected.filter(platform_shop_id=shop)
    if not chosen:
        raise CommandError(f"no active Douyin link for shop {shop!r}")
    return chosen
