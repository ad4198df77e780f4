"""What the back-office import records (R13.3): each upload and how it went, the after-sales
it has brought in (the row key that makes a second import change nothing), and the rows it
could not take with their reasons. Nothing here is ever deleted (R6.2): the rows reference
each other and the shop with PROTECT, and the admin shows them read-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded export file of one shop, imported by a background task."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    # A person (the page, the API with a session) or an API key (then only its label).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        verbose_name=_("uploading user"),
    )
    uploaded_by_label = models.CharField(_("uploaded by"), max_length=150)
    file = models.FileField(_("stored file"), upload_to="imports/", max_length=200)
    file_name = models.CharField(_("file"), max_length=255)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("cases created"), default=0)
    updated = models.PositiveIntegerField(_("cases updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    failed = models.PositiveIntegerField(_("rows refused"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("back-office import")
        verbose_name_plural = _("back-office imports")
        indexes = [models.Index(fields=["shop", "-created_at"], name="import_job_shop_created")]

    def __str__(self) -> str:
        return f"import {self.pk} {self.file_name}"

    @property
    def progress(self) -> float | None:
        if not self.total_rows:
            return None
        return min(1.0, self.rows_done / self.total_rows)


class ImportedAftersale(models.Model):
    """The key of one imported row: the shop's after-sale id, the case it became and the
    fingerprint of the row last applied. The same row again is skipped; a changed one
    moves the case forward."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    aftersale_id = models.CharField(_("after-sale id"), max_length=64)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )
    digest = models.CharField(_("row fingerprint"), max_length=64)
    status_text = models.CharField(_("platform status"), max_length=32)
    job = models.ForeignKey(
        ImportJob, on_delete=models.PROTECT, related_name="+", verbose_name=_("last import")
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("imported after-sale")
        verbose_name_plural = _("imported after-sales")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "aftersale_id"], name="imported_aftersale_unique"
            )
        ]


class ImportRowError(models.Model):
    """A row the import could not take: where, what is wrong (column and reason, in both
    languages) and the row as the file had it, for the error sheet."""

    job = models.ForeignKey(
        ImportJob, on_delete=models.PROTECT, related_name="row_errors", verbose_name=_("import")
    )
    row_number = models.PositiveIntegerField(_("row"))
    aftersale_id = models.CharField(_("after-sale id"), max_length=64, blank=True)
    problems = models.JSONField(_("problems"), default=list)
    values = models.JSONField(_("values in the file"), default=list)

    class Meta:
        verbose_name = _("refused row")
        verbose_name_plural = _("refused rows")
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_error_job_row")]
