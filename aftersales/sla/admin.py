from typing import TYPE_CHECKING

from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import DeadlineExtension, SlaClock

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic in its model; Django's class takes no type
    # arguments at run time.
    _SlaClockModelAdmin = admin.ModelAdmin[SlaClock]
    _DeadlineExtensionModelAdmin = admin.ModelAdmin[DeadlineExtension]
else:
    _SlaClockModelAdmin = _DeadlineExtensionModelAdmin = admin.ModelAdmin


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdminMixin, _SlaClockModelAdmin):
    list_display = ["case", "kind", "state", "due_at", "breached_at"]
    list_filter = ["kind", "state", "shop"]


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdminMixin, _DeadlineExtensionModelAdmin):
    list_display = ["clock", "hours", "reason", "extended_by", "extended_at"]
