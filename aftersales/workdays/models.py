"""The admin's corrections to the Chinese working-day calendar (R2.4).

The tables were created by the `sla` app and keep their names.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    """A year whose official schedule an admin imported in full; it replaces the package."""

    year = models.PositiveIntegerField(_("year"), unique=True)
    note = models.CharField(_("source"), max_length=255, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        db_table = "sla_calendaryear"
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class HolidayOverride(models.Model):
    """One day that is, or is not, a working day (a holiday, or a make-up working day 调休)."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        db_table = "sla_holidayoverride"
        verbose_name = _("holiday override")
        verbose_name_plural = _("holiday overrides")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_working_day else '休'} {self.name}"
