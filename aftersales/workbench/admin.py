"""Admin for the workbench: the login attempts behind the lockout (the operator can see who is
being locked out, and unlock someone by deleting their recent failures), and the reply
templates agents send to buyers, which an admin edits freely (R3.5)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import LoginAttempt, ReplyTemplate
from .replies import VARIABLES, variables_in


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("attempted_at", "username", "ip_address", "succeeded")
    list_filter = ("succeeded",)
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempted_at"
    readonly_fields = ("username", "ip_address", "succeeded", "attempted_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
