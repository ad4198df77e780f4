"""Admin for the Douyin adapter: the operator's view of links, pushes, operations and calls.

Pushes, operations, attempts and API calls are records: read-only, never deleted. The one
action is "retry failed operations", which goes through the same service as the API.
Buyer message templates are the one thing an admin edits freely (R3.5).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.core.actors import Actor
from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin, ReadOnlyInline
from aftersales.core.errors import DomainError
from aftersales.policy.document import default_document

from .choices import OperationStatus
from .mapping import PLATFORM_REASON_TO_REASON, REJECT_REASON_WORDING
from .models import (
    ApiCallLog,
    BuyerMessageTemplate,
    DouyinAftersale,
    DouyinShopLink,
    InboundMessage,
    OutboxAttempt,
    OutboxOperation,
    SyncCursor,
)
from .notifications import check_template
from .outbox import retry_failed_operations


class LinkForm(forms.ModelForm):
    app_secret = forms.CharField(widget=forms.PasswordInput(render_value=True))
    gateway_url = forms.URLField(assume_scheme="https")

    class Meta:
        model = DouyinShopLink
        fields = (
            "shop",
            "app_key",
            "app_secret",
            "platform_shop_id",
            "gateway_url",
            "sign_method",
            "receiver_address_id",
            "return_address",
            "is_active",
        )


EVIDENCE_KINDS = {"photo": _("Photo"), "video": _("Video")}


@admin.register(DouyinShopLink)
class DouyinShopLinkAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    form = LinkForm
    list_display = (
        "shop",
        "app_key",
        "platform_shop_id",
        "gateway_url",
        "sign_method",
        "is_active",
    )
    readonly_fields = ("token_expires_at", "created_at")

    def get_urls(self) -> list[URLPattern]:
        # Before the model's own URLs: "<path:object_id>/" would take "reason-codes/".
        reason_codes = path(
            "reason-codes/",
            self.admin_site.admin_view(self.reason_codes_view),
            name="douyin_reason_codes",
        )
        return [reason_codes, *super().get_urls()]

    def reason_codes_view(self, request: HttpRequest) -> HttpResponse:
        """The buyer's reasons and the merchant's reject reasons, read-only: what each code
        means, who is responsible, the evidence the default policy asks for, and the
        platform's code or wording it maps to. For any staff user (they are not shop data)."""
        evidence = default_document().get("evidence", {})
        douyin_codes: dict[str, list[int]] = {}
        for number, code in PLATFORM_REASON_TO_REASON.items():
            douyin_codes.setdefault(code, []).append(number)
        reasons = [
            {
                "code": reason.code,
                "label": reason.label,
                "platform_label": reason.platform_label,
                "douyin_codes": ", ".join(str(n) for n in douyin_codes.get(reason.code, [])),
                "responsible": reason.responsible.label,
                "needs_evidence": reason.needs_evidence,
                "policy_evidence": [
                    EVIDENCE_KINDS.get(kind, kind) for kind in evidence.get(reason.code, [])
                ],
            }
            for reason in REASONS.values()
        ]
        reject_reasons = [
            {
                "code": reason.code,
                "label": reason.label,
                "douyin_wording": REJECT_REASON_WORDING.get(reason.code, ("",))[0],
                "needs_evidence": reason.needs_evidence,
            }
            for reason in REJECT_REASONS.values()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reason codes"),
            "opts": self.model._meta,
            "reasons": reasons,
            "reject_reasons": reject_reasons,
        }
        return TemplateResponse(request, "admin/douyin/reason_codes.html", context)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "tag",
        "msg_id",
        "aftersale_id",
        "status",
        "deliveries",
        "attempts",
    )
    list_filter = ("status", "tag")
    search_fields = ("msg_id", "aftersale_id")
    date_hierarchy = "received_at"


class AttemptInline(ReadOnlyInline):
    model = OutboxAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "log_id", "error")


@admin.register(OutboxOperation)
class OutboxOperationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "case", "kind", "status", "attempts", "synced_at", "last_error")
    list_filter = ("status", "kind")
    search_fields = ("idempotency_key",)
    inlines = [AttemptInline]
    actions = ["retry_failed"]

    @admin.action(description=_("Retry the failed operations of these cases"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[OutboxOperation]) -> None:
        # The admin is the installation operator's tool and is not scoped by shop.
        user = request.user
        assert user.is_authenticated  # the admin site lets no one in otherwise
        actor = Actor(kind="user", label=user.get_username(), user=user, is_unscoped=True)
        cases = {op.case for op in queryset.filter(status=OperationStatus.FAILED)}
        for case in cases:
            try:
                retry_failed_operations(case=case, by=actor)
            except DomainError as exc:
                self.message_user(request, exc.render("zh-hans"), messages.WARNING)
        self.message_user(request, _("Queued again: %(n)d cases.") % {"n": len(cases)})


@admin.register(ApiCallLog)
class ApiCallLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "at",
        "method",
        "http_status",
        "code",
        "sub_code",
        "log_id",
        "duration_ms",
        "attempt",
    )
    list_filter = ("method", "code")
    search_fields = ("log_id",)


@admin.register(DouyinAftersale)
class DouyinAftersaleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "aftersale_id",
        "case",
        "platform_status",
        "refund_status",
        "update_time",
        "synced_at",
    )
    search_fields = ("aftersale_id", "order_id")


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("link", "last_window_end", "last_run_at", "last_run_items")


class TemplateForm(forms.ModelForm):
    class Meta:
        model = BuyerMessageTemplate
        fields = ("shop", "event", "text", "is_active")

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        try:
            check_template(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return text


@admin.register(BuyerMessageTemplate)
class BuyerMessageTemplateAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    form = TemplateForm
    list_display = ("event", "shop", "is_active", "text", "updated_at")
    list_filter = ("event", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("shop", "event") if obj is not None else ()
