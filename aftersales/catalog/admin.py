"""Admin for products and SKUs: reference data the merchant may correct (category, shelf
life, high-risk flag). A product stays in its shop, and a SKU takes its product's shop."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from aftersales.core.admin import NoDeleteAdminMixin, yuan

from .models import Product, Sku


class SkuInline(NoDeleteAdminMixin, admin.TabularInline):
    model = Sku
    extra = 0
    can_delete = False
    fields = ("platform_sku_id", "spec", "list_price")
    readonly_fields = ("platform_sku_id", "spec", "list_price")
    list_price = yuan("list_price_fen", _("list price (yuan)"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "shop", "platform_product_id", "category", "is_high_risk")
    list_filter = ("shop", "category", "is_high_risk")
    list_select_related = ("shop",)
    search_fields = ("name", "platform_product_id")
    fields = ("shop", "platform_product_id", "name", "category", "shelf_life_days", "is_high_risk")
    inlines = [SkuInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Moving a product to another shop would hand its orders' history to that shop.
        return ("shop", "platform_product_id") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "category" in form.changed_data:
            # The cases of its items carry the category for the queue's filter (issue 16);
            # in the admin's transaction, so both change together.
            import_string(settings.AFTERSALES_PRODUCT_CATEGORY_CHANGED)(obj.pk)


class SkuForm(forms.ModelForm):
    class Meta:
        model = Sku
        fields = ("product", "platform_sku_id", "spec", "list_price_fen")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        product = cleaned.get("product")
        if product is not None and self.instance.pk is None:
            # `shop` is not a form field, so Django skips the (shop, platform_sku_id) unique
            # check; make it here rather than fail with an IntegrityError on save.
            self.instance.shop_id = product.shop_id
            taken = Sku.objects.filter(
                shop_id=product.shop_id, platform_sku_id=cleaned.get("platform_sku_id")
            ).exists()
            if taken:
                raise forms.ValidationError(
                    {"platform_sku_id": _("This shop already has a SKU with this id.")}
                )
        return cleaned


@admin.register(Sku)
class SkuAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    form = SkuForm
    list_display = ("platform_sku_id", "product", "spec", "list_price", "shop")
    list_filter = ("shop",)
    list_select_related = ("product", "shop")
    search_fields = ("platform_sku_id", "product__name", "product__platform_product_id")
    raw_id_fields = ("product",)
    fields = ("product", "platform_sku_id", "spec", "list_price_fen", "shop")
    list_price = yuan("list_price_fen", _("list price (yuan)"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None:
            return ("product", "platform_sku_id", "shop")
        return ("shop",)

    def save_model(self, request: HttpRequest, obj: Sku, form: Any, change: bool) -> None:
        # The shop is always the product's: a SKU can never point across shops.
        obj.shop_id = obj.product.shop_id
        super().save_model(request, obj, form, change)
