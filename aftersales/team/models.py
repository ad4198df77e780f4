"""The after-sales team (R9.1): what each person can do, and who is on duty in which shop.

Roles and shop membership already live in `shops.Membership` (agent, supervisor, shop admin,
auditor). This app adds two small things:

- `StaffProfile`: the person's skills and seniority. They belong to the person, not to a
  shop — someone who knows electronics knows it in every shop they work for — so the row is
  one-to-one with the user. Each change is still recorded in the audit chain of the shop
  whose supervisor or admin made it.
- `Duty`: whether the person is taking cases in one shop right now. That is per shop (a
  person can work shop A this morning and shop B this afternoon), so it is one row per
  user and shop. Automatic assignment locks these rows, which is what keeps it fair when
  many cases arrive at once (see `services.assign_automatically`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffProfile(models.Model):
    """A person's skills (catalog categories such as "electronics") and seniority.

    A missing row means no particular skills and not senior; `services.set_skills` creates
    it on first use.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    # A list of `catalog.choices.Category` values; validated by `services.set_skills`.
    skills = models.JSONField(_("skills"), default=list, blank=True)
    is_senior = models.BooleanField(_("senior"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class Duty(models.Model):
    """Whether a person takes new cases in one shop now, and when they last got one.

    No row means off duty. `last_assigned_at` breaks ties between equally loaded people,
    so equal agents take turns instead of the lowest id getting every tie.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="duties",
        verbose_name=_("user"),
    )
    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="duties", verbose_name=_("shop")
    )
    on_duty = models.BooleanField(_("on duty"), default=False)
    changed_at = models.DateTimeField(_("changed at"))
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duties")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="duty_unique_user_shop")
        ]
        indexes = [models.Index(fields=["shop", "on_duty"], name="duty_shop_on_duty")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop_id}: {'on' if self.on_duty else 'off'}"
