"""What the records app keeps: which orders had their buyers' personal data minimised after
the retention period (R6.2). Never deleted: PROTECT, read-only in the admin."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Minimisation(models.Model):
    """One order whose personal data (and that of its cases and messages) was minimised:
    when, under which rule and period, and how many texts were changed."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    rule = models.JSONField(_("rule"), default=list)
    years = models.PositiveSmallIntegerField(_("retention period (years)"))
    last_activity_at = models.DateTimeField(_("last activity"))
    texts_changed = models.PositiveIntegerField(_("texts changed"), default=0)
    at = models.DateTimeField(_("minimised at"))

    class Meta:
        verbose_name = _("personal data minimisation")
        verbose_name_plural = _("personal data minimisations")
        indexes = [models.Index(fields=["shop", "-at"], name="minimisation_shop_at")]
