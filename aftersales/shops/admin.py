"""Admin for shops, staff memberships and API keys.

Shops and memberships are created through their services, so each gets its audit event
(and a shop its audit chain head). API keys are shown read-only: the raw key exists only
once, when `create_api_key` returns it, and only its SHA-256 is stored.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin

from .models import ApiKey, Membership, Shop
from .services import actor_for_user, add_member, create_shop

admin.site.site_header = _("After-sales (售后) administration")
admin.site.site_title = _("After-sales administration")


class MembershipInline(NoDeleteAdminMixin, admin.TabularInline):
    model = Membership
    extra = 0
    can_delete = False
    fields = ("user", "role")
    readonly_fields = ("user", "role")
    verbose_name_plural = _("memberships (change them on the membership page)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Shop)
class ShopAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "platform", "platform_shop_id", "created_at")
    list_filter = ("platform",)
    search_fields = ("name", "platform_shop_id")
    fields = ("platform", "platform_shop_id", "name", "created_at")
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # There is no audited rename service yet, so a shop is fixed once created.
        return False

    def save_model(self, request: HttpRequest, obj: Shop, form: Any, change: bool) -> None:
        # Through the service: it creates the audit chain head and the `shop_created` event.
        shop = create_shop(
            platform=obj.platform,
            platform_shop_id=obj.platform_shop_id,
            name=obj.name,
            by=actor_for_user(cast(AbstractBaseUser, request.user)),
        )
        obj.pk = shop.pk
        obj.created_at = shop.created_at
        obj._state.adding = False
        obj._state.db = shop._state.db


@admin.register(Membership)
class MembershipAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("user", "shop", "role")
    list_filter = ("shop", "role")
    list_select_related = ("user", "shop")
    search_fields = ("user__username", "shop__name")
    raw_id_fields = ("user",)
    fields = ("user", "shop", "role")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Only the role changes; moving a membership to another user or shop would be a
        # different membership.
        return ("user", "shop") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        # `add_member` creates or updates the role and writes `member_added` to the audit trail.
        membership = add_member(
            shop=obj.shop,
            user=obj.user,
            role=obj.role,
            by=actor_for_user(cast(AbstractBaseUser, request.user)),
        )
        obj.pk = membership.pk
        obj._state.adding = False
        obj._state.db = membership._state.db


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "shop", "prefix", "role", "created_at", "revoked_at")
    list_filter = ("shop", "role", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("shop",)
    search_fields = ("name", "prefix")
    fields = ("shop", "name", "prefix", "role", "key_hash", "created_at", "revoked_at", "note")
    readonly_fields = ("note",)

    @admin.display(description=_("note"))
    def note(self, obj: ApiKey) -> str:
        return str(
            _(
                "Keys are created with aftersales.shops.services.create_api_key, which shows "
                "the raw key once; only its SHA-256 is stored here. Revoke with revoke_api_key. "
                "Keys cannot be edited here."
            )
        )
