from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import DeadlineExtension, SlaClock


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "kind", "state", "due_at", "breached_at"]
    list_filter = ["kind", "state", "shop"]


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["clock", "hours", "reason", "extended_by", "extended_at"]
