"""Products and SKUs a shop sells."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import Category


class Product(models.Model):
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("shop"),
    )
    platform_product_id = models.CharField(_("platform product id"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    is_high_risk = models.BooleanField(_("high-risk"), default=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_product_id"], name="product_unique_platform_id"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="skus",
        verbose_name=_("product"),
    )
    platform_sku_id = models.CharField(_("platform SKU id"), max_length=64)
    spec = models.CharField(_("specification"), max_length=100, blank=True)
    list_price_fen = models.PositiveBigIntegerField(_("list price (fen)"))

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_sku_id"], name="sku_unique_platform_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.spec}".strip()
