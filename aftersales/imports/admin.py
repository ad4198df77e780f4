from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import ImportedAftersale, ImportJob, ImportRowError


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "shop", "file_name", "status", "rows_done", "created", "failed"]
    list_filter = ["status"]


@admin.register(ImportedAftersale)
class ImportedAftersaleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shop", "aftersale_id", "case", "status_text", "updated_at"]
    search_fields = ["aftersale_id"]


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["job", "row_number", "aftersale_id"]
