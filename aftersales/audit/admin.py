"""Admin for the audit trail: look, never touch (R6.2).

Nobody can add, change or delete an audit event here; the model refuses it too, and on
PostgreSQL so does a trigger. Use `aftersales verify_audit` to check the hash chains.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


def _pretty(value: Any) -> str:
    return format_html(
        '<pre style="margin:0;white-space:pre-wrap">{}</pre>',
        json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True),
    )


if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic in its model; Django's class takes no type
    # arguments at run time.
    _AuditEventModelAdmin = admin.ModelAdmin[AuditEvent]
else:
    _AuditEventModelAdmin = admin.ModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(_AuditEventModelAdmin):
    list_display = ("seq", "shop", "type", "case", "actor_kind", "actor_label", "created_at")
    list_filter = ("shop", "type", "actor_kind")
    list_select_related = ("shop", "case")
    search_fields = ("type", "actor_label", "case__platform_case_id")
    ordering = ("shop", "-seq")
    # The table only grows; counting it on every page view is the slow part of the admin.
    show_full_result_count = False
    fields = (
        "shop",
        "seq",
        "case",
        "type",
        "actor_kind",
        "actor_label",
        "actor_user",
        "created_at",
        "before_pretty",
        "after_pretty",
        "payload_pretty",
        "prev_hash",
        "hash",
    )
    readonly_fields = ("before_pretty", "after_pretty", "payload_pretty")

    @admin.display(description=_("before"))
    def before_pretty(self, obj: AuditEvent) -> str:
        return _pretty(obj.before)

    @admin.display(description=_("after"))
    def after_pretty(self, obj: AuditEvent) -> str:
        return _pretty(obj.after)

    @admin.display(description=_("details"))
    def payload_pretty(self, obj: AuditEvent) -> str:
        return _pretty(obj.payload)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
