"""Connecting a shop to the open platform."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput
from aftersales.shops.models import Shop

from .choices import SignMethod
from .models import PRODUCTION_GATEWAY, DouyinShopLink


@transaction.atomic
def link_shop(
    *,
    shop: Shop,
    app_key: str,
    app_secret: str,
    platform_shop_id: str,
    by: Actor,
    gateway_url: str = PRODUCTION_GATEWAY,
    sign_method: str = SignMethod.MD5,
    receiver_address_id: str = "",
    return_address: str = "",
) -> DouyinShopLink:
    """Create or change the shop's Douyin connection; tokens start over."""
    if not app_key.strip() or not app_secret.strip() or not platform_shop_id.strip():
        raise InvalidInput(_("App key, app secret and platform shop id are required."))
    if sign_method not in SignMethod.values:
        raise InvalidInput(_("Unknown sign method."))
    link, created = DouyinShopLink.objects.update_or_create(
        shop=shop,
        defaults={
            "app_key": app_key.strip(),
            "app_secret": app_secret.strip(),
            "platform_shop_id": platform_shop_id.strip(),
            "gateway_url": gateway_url.strip(),
            "sign_method": sign_method,
            "receiver_address_id": receiver_address_id.strip(),
            "return_address": return_address.strip(),
            "access_token": "",
            "refresh_token": "",
            "token_expires_at": None,
            "is_active": True,
        },
    )
    record_event(
        shop_id=shop.pk,
        type="douyin_linked" if created else "douyin_link_changed",
        by=by,
        # Never the secret: the audit trail is read by auditors.
        after={
            "app_key": link.app_key,
            "platform_shop_id": link.platform_shop_id,
            "gateway_url": link.gateway_url,
            "sign_method": link.sign_method,
        },
    )
    return link
