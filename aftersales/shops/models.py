"""Shops, who works in them, and the API keys integrators use."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import Platform, Role


class Shop(models.Model):
    """One shop on one platform. One installation serves many shops; no shop sees another."""

    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    platform_shop_id = models.CharField(_("platform shop id"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # How many of the shop's incidents are open, kept by the incidents' services in the
    # transaction that opens or closes one: a case's status change, which reads its shop with
    # its lock, asks for the incidents it is a member of only when there is one (issue 16).
    open_incidents = models.PositiveIntegerField(_("open incidents"), default=0)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "platform_shop_id"], name="shop_unique_platform_id"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one shop."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("shop"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="membership_unique_user_shop")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop}: {self.role}"


class ApiKey(models.Model):
    """A per-shop key for an integrator (ERP, BI). Only its SHA-256 is stored."""

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("shop"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
