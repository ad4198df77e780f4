"""Admin for the team's skills and duty: view only. They change through the team pages'
services (`set_skills`, `set_on_duty`), which check the role and record the change. The reply
templates agents send to buyers an admin edits freely (R3.5)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import Duty, ReplyTemplate, StaffProfile
from .replies import VARIABLES, variables_in


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


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ("shop", "code", "name", "text", "position", "is_active")

    def clean_text(self) -> str:
        """Refuse a text the buyer would receive with a hole in it. (A text saved some other
        way still renders: `replies.render` leaves what it cannot fill as written.)"""
        text: str = self.cleaned_data["text"]
        try:
            unknown = variables_in(text) - VARIABLES
        except ValueError as exc:
            raise forms.ValidationError(
                _("A brace is not closed or not opened: write {{ and }} for a brace itself.")
            ) from exc
        if unknown:
            raise forms.ValidationError(
                _("Unknown variables: %(names)s."),
                params={"names": ", ".join("{" + name + "}" for name in sorted(unknown))},
            )
        return text


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """Defaults (no shop) and each shop's own wording. To stop offering a default, untick
    "offered" on it, or add the shop's own row with the same code unticked."""

    form = ReplyTemplateForm
    # Names are Chinese and wrap anywhere: few columns beside them, or they shrink to one
    # character a line. The time of the last edit is on the change page.
    list_display = ("name", "code", "shop", "position", "is_active")
    list_display_links = ("name",)
    # The shop filter's empty choice is the installation's defaults.
    list_filter = ("shop", "is_active")
    empty_value_display = _("Default for every shop")
    search_fields = ("code", "name", "text")
    list_select_related = ("shop",)
    ordering = ("shop__name", "position", "code")
    readonly_fields = ("updated_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A shop's own row may be deleted (the default applies again); a default may only be
        switched off, so the code stays known and old messages keep their meaning."""
        if obj is not None and obj.shop_id is None:
            return False
        return super().has_delete_permission(request, obj)
