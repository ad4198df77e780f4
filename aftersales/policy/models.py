"""Policy versions per shop and the decisions they made (R6.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PolicyVersionLocked(Exception):
    """A version that has taken effect is history: it cannot be edited or removed."""


class PolicyVersionQuerySet(models.QuerySet["PolicyVersion"]):
    """Bulk updates and deletes (the admin's "delete selected") keep the same rule."""

    def update(self, **kwargs: Any) -> int:
        if self.filter(effective_from__lte=timezone.now()).exists():
            raise PolicyVersionLocked("an effective policy version cannot be edited")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(effective_from__lte=timezone.now()).exists():
            raise PolicyVersionLocked("an effective policy version cannot be deleted")
        return super().delete()


class PolicyVersion(models.Model):
    """A shop's overrides of the default policy, in force from `effective_from`."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="policies",
        verbose_name=_("shop"),
    )
    number = models.PositiveIntegerField(_("version"))
    effective_from = models.DateTimeField(_("effective from"))
    document = models.TextField(_("overrides (TOML)"))
    document_sha256 = models.CharField(_("SHA-256 of the document"), max_length=64)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="policy_version_unique")
        ]
        indexes = [models.Index(fields=["shop", "-effective_from"], name="policy_shop_effective")]

    def __str__(self) -> str:
        # For people (the admin's lists and messages); `label` is the machine's name.
        return _("%(shop)s, version %(number)s") % {"shop": self.shop, "number": self.number}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = PolicyVersion.objects.get(pk=self.pk)
            if stored.is_effective:
                raise PolicyVersionLocked("an effective policy version cannot be edited")
            if self.effective_from < timezone.now() - timedelta(minutes=1):
                raise PolicyVersionLocked("a policy version cannot be moved into the past")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.is_effective:
            raise PolicyVersionLocked("an effective policy version cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def label(self) -> str:
        return f"shop{self.shop_id}v{self.number}"

    @property
    def is_effective(self) -> bool:
        return self.effective_from <= timezone.now()


class PolicyDecision(models.Model):
    """What the policy recommended for a case, with its full explanation."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="policy_decisions",
        verbose_name=_("case"),
    )
    policy_version = models.CharField(_("policy version"), max_length=64)
    recommendation = models.CharField(_("recommendation"), max_length=32)
    complexity = models.CharField(_("complexity"), max_length=8)
    auto_approve = models.BooleanField(_("automatic"), default=False)
    payload = models.JSONField(_("decision"))
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("policy decision")
        verbose_name_plural = _("policy decisions")
        indexes = [models.Index(fields=["case", "-decided_at"], name="policy_decision_case")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.recommendation} ({self.policy_version})"
