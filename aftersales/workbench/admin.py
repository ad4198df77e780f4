"""Admin for the workbench: the login attempts behind the lockout (the operator can see who is
being locked out, and unlock someone by deleting their recent failures)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import LoginAttempt


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
