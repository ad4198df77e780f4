from typing import Any

from django.contrib import admin

from .calendar import forget_calendar
from .models import CalendarYear, HolidayOverride


class CalendarEditMixin:
    """Changing a holiday or a year applies at once in this process (others re-read within
    a minute)."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        forget_calendar()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        forget_calendar()


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(CalendarEditMixin, admin.ModelAdmin):
    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarEditMixin, admin.ModelAdmin):
    list_display = ["year", "note", "imported_at"]
