"""What the workbench keeps of its own: failed logins, for the lockout, and the reply
templates agents pick from when they write to the buyer."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LoginAttempt(models.Model):
    """One login attempt for a username from an address.

    A row in the database rather than a cache entry: several web processes (and machines)
    then see the same count, and a restart does not forget an attack in progress.
    """

    username = models.CharField(_("username"), max_length=150)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    attempted_at = models.DateTimeField(_("attempted at"))

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        indexes = [
            models.Index(
                fields=["username", "ip_address", "-attempted_at"], name="login_attempt_recent"
            ),
            models.Index(fields=["attempted_at"], name="login_attempt_prune"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"{self.username}@{self.ip_address} {outcome} {self.attempted_at:%Y-%m-%d %H:%M}"


# Shown under the text field in the admin; `replies.VARIABLES` is the list the code fills in.
REPLY_VARIABLES_HELP = _(
    "Variables: {case_id} case number, {order_id} platform order number, {amount} refund "
    "amount in yuan (the decided refund, else what the items allow), {requested_amount} "
    "amount the buyer asked for in yuan, {deadline} the next deadline, {shop} shop name."
)


class ReplyTemplate(models.Model):
    """A ready-made message to the buyer that agents pick on the case page or in the queue's
    bulk bar (R3.5). Edited in the admin.

    A row without a shop is the installation's default, offered to every shop. A shop's own
    row with the same code replaces the default for that shop only; an inactive one hides the
    default there too. The text is Chinese with {variables} (see `workbench.replies`): it is
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
