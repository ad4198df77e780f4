"""Admin for the team's skills and duty: view only. They change through the team pages'
services (`set_skills`, `set_on_duty`), which check the role and record the change."""

from __future__ import annotations

from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import Duty, StaffProfile


@admin.register(StaffProfile)
class StaffProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "skills", "is_senior", "updated_at")
    list_filter = ("is_senior",)
    search_fields = ("user__username",)
    list_select_related = ("user",)


@admin.register(Duty)
class DutyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "shop", "on_duty", "changed_at", "last_assigned_at")
    list_filter = ("shop", "on_duty")
    search_fields = ("user__username", "shop__name")
    list_select_related = ("user", "shop")
