from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoredBuyerMessage(models.Model):
    """A message to the buyer of a case with no platform channel (a shop with no platform
    link, a case opened by hand): kept for the staff to pass on, never lost (R3.5)."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="stored_buyer_messages"
    )
    text = models.TextField(_("text"))
    cause = models.CharField(_("cause"), max_length=64)  # the case event that said it
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("stored buyer message")
        verbose_name_plural = _("stored buyer messages")
        indexes = [models.Index(fields=["case", "created_at"], name="stored_msg_case_time")]

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.text[:40]}"
