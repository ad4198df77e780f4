"""What the analytics app records: the exports people asked for (R8.7, R6.5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    OVERVIEW = "overview", _("Overview")
    CASES = "cases", _("Case list")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class Export(models.Model):
    """One Excel export: who asked, for which shops and filter, how far it got, the file.

    Written by a background task (`tasks.run_export_task`); the audit trail of every shop in
    it records the export when it is done (who, when, what filter, how many rows, whether
    personal data was in clear).
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    shop_ids = models.JSONField(_("shops"), default=list)
    # The shops whose buyers' contact data the requester's role may see in clear.
    clear_shop_ids = models.JSONField(default=list)
    filters = models.JSONField(_("filter"), default=dict)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(upload_to="exports/", max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_requester")]

    def __str__(self) -> str:
        return f"export {self.pk} {self.kind}"

    @property
    def progress(self) -> float | None:
        if not self.total_rows:
            return None
        return min(1.0, self.rows_written / self.total_rows)
