"""What the workbench keeps of its own: failed logins, for the lockout."""

from __future__ import annotations

from django.db import models
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
