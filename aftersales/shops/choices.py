from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    DOUYIN = "douyin", _("Douyin")


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Shop admin")
    AUDITOR = "auditor", _("Auditor")


# Roles that may change cases; the auditor only reads (R6.2 "sees the complete record").
WRITE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
# Who may see a buyer's phone number and address unmasked, on a case page or in an export
# (R6.5, 个人信息保护法).
REVEAL_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
