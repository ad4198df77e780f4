"""Shops, staff and API keys."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditChainHead
from aftersales.core.actors import Actor
from aftersales.core.errors import PermissionDenied
from aftersales.core.limits import CODE_MAX_LENGTH, KEY_NAME_MAX_LENGTH, check_length

from .choices import Role
from .models import ApiKey, Membership, Shop

API_KEY_PREFIX = "ask_"


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_shop(*, platform: str, platform_shop_id: str, name: str, by: Actor) -> Shop:
    """Create a shop and the head of its audit chain."""
    check_length(
        name=(name, KEY_NAME_MAX_LENGTH), platform_shop_id=(platform_shop_id, CODE_MAX_LENGTH)
    )
    shop = Shop.objects.create(platform=platform, platform_shop_id=platform_shop_id, name=name)
    AuditChainHead.objects.create(shop=shop)
    record_event(
        shop_id=shop.pk, type="shop_created", by=by, after={"name": name, "platform": platform}
    )
    return shop


@transaction.atomic
def add_member(*, shop: Shop, user: AbstractBaseUser, role: Role | str, by: Actor) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, shop=shop, defaults={"role": role}
    )
    record_event(
        shop_id=shop.pk,
        type="member_added",
        by=by,
        after={"user": user.get_username(), "role": str(role)},
    )
    return membership


@transaction.atomic
def create_api_key(
    *, shop: Shop, name: str, by: Actor, role: str = Role.AGENT
) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    check_length(name=(name, KEY_NAME_MAX_LENGTH))
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        shop=shop, name=name, role=role, prefix=raw[4:12], key_hash=_hash_key(raw)
    )
    record_event(
        shop_id=shop.pk, type="api_key_created", by=by, after={"name": name, "prefix": key.prefix}
    )
    return key, raw


@transaction.atomic
def revoke_api_key(*, key: ApiKey, by: Actor) -> ApiKey:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    record_event(shop_id=key.shop_id, type="api_key_revoked", by=by, after={"prefix": key.prefix})
    return key


def actor_for_user(user: AbstractBaseUser | AnonymousUser) -> Actor:
    """The actor for a logged-in person, scoped to the shops they belong to."""
    if not user.is_authenticated:
        # Views reach here only behind a login; an anonymous actor would read as "no shops".
        raise PermissionDenied(_("Log in or send a valid API key."))
    roles = dict(Membership.objects.filter(user_id=user.pk).values_list("shop_id", "role"))
    return Actor(kind="user", label=user.get_username(), user=user, shop_roles=roles)


def actor_for_api_key(raw: str) -> Actor | None:
    """The actor for an integrator's key, scoped to that key's shop; None if unknown."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    # On every API call: three columns by the unique hash, no model object.
    key = (
        ApiKey.objects.filter(key_hash=_hash_key(raw), revoked_at__isnull=True)
        .values_list("prefix", "shop_id", "role")
        .first()
    )
    if key is None:
        return None
    prefix, shop_id, role = key
    return Actor(kind="api_key", label=f"api-key:{prefix}", shop_roles={shop_id: role})
