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
from django.db.models import Q
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


# Shown under the text field in the admin; `replies.VARIABLES` is the list the code fills in.
REPLY_VARIABLES_HELP = _(
    "Variables: {case_id} the platform's after-sale number (else the order number), "
    "{order_id} platform order number, {amount} refund amount in yuan (the decided refund, "
    "else what the items allow), {requested_amount} amount the buyer asked for in yuan, "
    "{refund_progress} where the refund stands, with its amount (asked for, submitted, paid), "
    "{deadline} the next deadline, {reply_by} “在 <the next deadline> 前”, or “尽快” when none "
    "runs, {shop} shop name."
)


class ReplyTemplate(models.Model):
    """A ready-made message to the buyer that agents pick on the case page or in the queue's
    bulk bar (R3.5). Edited in the admin.

    A row without a shop is the installation's default, offered to every shop. A shop's own
    row with the same code replaces the default for that shop only; an inactive one hides the
    default there too. The text is Chinese with {variables} (see `team.replies`): it is
    what the buyer reads on a Chinese platform, whatever the agent's screen language, and it
    is data, so it is not a translatable string.
    """

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shop"),
        help_text=_(
            "Empty: the default for every shop. A shop's own template with the same "
            "code replaces the default for that shop."
        ),
    )
    code = models.SlugField(
        _("template code"),
        max_length=50,
        help_text=_("Stays the same when the wording changes; recorded with each message sent."),
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What agents choose from."))
    text = models.TextField(_("text"), help_text=REPLY_VARIABLES_HELP)
    position = models.PositiveSmallIntegerField(
        _("position"), default=100, help_text=_("Lower numbers come first.")
    )
    is_active = models.BooleanField(_("offered"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        # Made by the workbench app, which kept the templates before the team did.
        db_table = "workbench_replytemplate"
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["position", "code", "shop_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "code"], name="reply_template_unique_shop_code"
            ),
            # NULLs are distinct in a unique constraint: the defaults need their own.
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(shop__isnull=True),
                name="reply_template_unique_default_code",
                violation_error_message=_("A default template with this code already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.shop.name if self.shop is not None else _('default')})"
