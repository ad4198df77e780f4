"""Admin for cases and what is recorded against them: read-only.

A case changes only through `aftersales.cases.services` (state machine, row lock, audit
event); refunds, evidence and inspections are records kept at least 3 years (R6.2). So the
admin shows them and changes none of them. The one thing it can add is a cost, and that goes
through `add_cost`, which audits it.

The reason codes (`cases.reasons`) are code, not rows: a read-only page in the platform
adapter's admin lists them with the platform's codes, linked from the admin index.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin, ReadOnlyInline, yuan
from aftersales.core.money import yuan_to_fen
from aftersales.orders.models import Buyer
from aftersales.shops.services import actor_for_user

from .models import (
    Case,
    CaseCost,
    CaseItem,
    Evidence,
    Inspection,
    QualityCheck,
    RefundDecision,
    RefundExecution,
    RefundLine,
)
from .services import add_cost, set_buyer_vip_level

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin and ModelForm generic in their model; Django's classes take
    # no type arguments at run time.
    _CaseModelAdmin = admin.ModelAdmin[Case]
    _RefundDecisionModelAdmin = admin.ModelAdmin[RefundDecision]
    _RefundExecutionModelAdmin = admin.ModelAdmin[RefundExecution]
    _CaseCostModelForm = forms.ModelForm[CaseCost]
    _CaseCostModelAdmin = admin.ModelAdmin[CaseCost]
    _EvidenceModelAdmin = admin.ModelAdmin[Evidence]
else:
    _CaseModelAdmin = admin.ModelAdmin
    _RefundDecisionModelAdmin = admin.ModelAdmin
    _RefundExecutionModelAdmin = admin.ModelAdmin
    _CaseCostModelForm = forms.ModelForm
    _CaseCostModelAdmin = admin.ModelAdmin
    _EvidenceModelAdmin = admin.ModelAdmin

# The admin index links to the reason codes page (CaseAdmin.reason_codes_view). The default
# site's documented hook for its index page; the template extends Django's own.
admin.site.index_template = "admin/cases/site_index.html"


class CaseItemInline(ReadOnlyInline):
    model = CaseItem
    fields = ("order_item", "quantity")


class InspectionInline(ReadOnlyInline):
    model = Inspection
    fields = ("result", "condition", "notes", "inspected_by", "inspected_at")


class QualityCheckInline(ReadOnlyInline):
    model = QualityCheck
    fields = ("quality_ok", "packaging_intact", "notes", "checked_by", "checked_at")


class CaseCostInline(ReadOnlyInline):
    model = CaseCost
    fields = ("kind", "amount", "payer", "note", "recorded_by", "recorded_at")
    readonly_fields = ("amount",)
    amount = yuan("amount_fen", _("amount (yuan)"), ordering=False)


@admin.register(Buyer)
class BuyerAdmin(NoDeleteAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The buyers arrive with their orders from the platform; the one thing a person sets here
    is the VIP level (a shop not on a platform has no other source). Registered by the cases
    app because the level is saved through `set_buyer_vip_level`, which moves the VIP flag
    every case of the buyer carries for the queue in the same transaction."""

    list_display = ("platform_buyer_id", "nickname", "phone_masked", "vip_level", "shop")
    list_filter = ("shop", "vip_level")
    list_select_related = ("shop",)
    search_fields = ("platform_buyer_id", "nickname")
    # The raw `phone` is deliberately absent from every list and form.
    fields = ("shop", "platform_buyer_id", "nickname", "phone_masked", "vip_level")
    readonly_fields = ("shop", "platform_buyer_id", "nickname", "phone_masked")

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: Buyer) -> str:
        return obj.masked_phone

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Buyer, form: forms.ModelForm[Buyer], change: bool
    ) -> None:
        set_buyer_vip_level(obj, form.cleaned_data["vip_level"])


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, _CaseModelAdmin):
    list_display = (
        "number",
        "shop",
        "type",
        "status",
        "refund_status",
        "return_status",
        "dispute_status",
        "priority",
        "order",
        "assignee",
        "applied_at",
    )
    list_filter = (
        "shop",
        "type",
        "status",
        "refund_status",
        "return_status",
        "dispute_status",
        "priority",
    )
    list_select_related = ("shop", "order", "assignee")
    search_fields = (
        "platform_case_id",
        "order__platform_order_id",
        "order__buyer__platform_buyer_id",
    )
    search_help_text = _("Case number, platform case id, platform order id or platform buyer id")
    ordering = ("-applied_at", "-pk")
    show_full_result_count = False
    readonly_fields = ("requested_amount", "audit_trail", "refund")
    fieldsets = (
        (None, {"fields": ("shop", "order", "platform_case_id", "type", "reason", "priority")}),
        (
            _("Status"),
            {"fields": ("status", "refund_status", "return_status", "dispute_status", "assignee")},
        ),
        (
            _("Request"),
            {"fields": ("buyer_statement", "requested_amount", "order_snapshot", "refund")},
        ),
        (
            _("Review"),
            {
                "fields": (
                    "evidence_request_note",
                    "reject_reason",
                    "reject_note",
                    "close_note",
                )
            },
        ),
        (
            _("Times"),
            {
                "fields": (
                    "applied_at",
                    "approved_at",
                    "final_approved_at",
                    "resolved_at",
                    "updated_at",
                    "audit_trail",
                )
            },
        ),
    )
    inlines = [CaseItemInline, InspectionInline, QualityCheckInline, CaseCostInline]
    requested_amount = yuan("requested_amount_fen", _("requested amount (yuan)"))

    @admin.display(description=_("case"), ordering="pk")
    def number(self, obj: Case) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj: Case) -> str:
        url = reverse("admin:audit_auditevent_changelist") + f"?case__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("events of this case"))

    @admin.display(description=_("refund decision"))
    def refund(self, obj: Case) -> str:
        decision = RefundDecision.objects.filter(case=obj).first()
        if decision is None:
            return "-"
        url = reverse("admin:cases_refunddecision_change", args=[decision.pk])
        return format_html('<a href="{}">{}</a>', url, _("refund decision"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Case], search_term: str
    ) -> tuple[QuerySet[Case], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isdigit():
            queryset |= self.model.objects.filter(pk=int(term))
        return queryset, may_have_duplicates


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    fields = ("order_item", "amount")
    readonly_fields = ("amount",)
    amount = yuan("amount_fen", _("amount (yuan)"), ordering=False)


class RefundExecutionInline(ReadOnlyInline):
    model = RefundExecution
    fields = ("idempotency_key", "status", "attempts", "last_error", "executed_at")


@admin.register(RefundDecision)
class RefundDecisionAdmin(ReadOnlyAdminMixin, _RefundDecisionModelAdmin):
    list_display = (
        "case",
        "shop",
        "order",
        "goods_amount",
        "shipping_amount",
        "is_partial",
        "decided_by",
        "decided_at",
    )
    list_filter = ("shop", "is_partial")
    list_select_related = ("case", "shop", "order")
    search_fields = ("case__platform_case_id", "order__platform_order_id")
    show_full_result_count = False
    fields = (
        "shop",
        "case",
        "order",
        "goods_amount",
        "shipping_amount",
        "total",
        "is_partial",
        "reason",
        "decided_by",
        "decided_at",
    )
    readonly_fields = ("goods_amount", "shipping_amount", "total")
    inlines = [RefundLineInline, RefundExecutionInline]
    goods_amount = yuan("goods_amount_fen", _("goods amount (yuan)"))
    shipping_amount = yuan("shipping_amount_fen", _("shipping amount (yuan)"))
    total = yuan("total_fen", _("total (yuan)"), ordering=False)


@admin.register(RefundExecution)
class RefundExecutionAdmin(ReadOnlyAdminMixin, _RefundExecutionModelAdmin):
    list_display = (
        "idempotency_key",
        "shop",
        "amount",
        "status",
        "attempts",
        "external_reference",
        "created_at",
        "executed_at",
    )
    list_filter = ("shop", "status")
    list_select_related = ("shop",)
    search_fields = ("idempotency_key", "external_reference")
    show_full_result_count = False
    fields = (
        "shop",
        "decision",
        "idempotency_key",
        "amount",
        "status",
        "attempts",
        "last_error",
        "external_reference",
        "created_at",
        "executed_at",
    )
    readonly_fields = ("amount",)
    amount = yuan("amount_fen", _("amount (yuan)"))


class CaseCostForm(_CaseCostModelForm):
    amount_yuan = forms.DecimalField(
        label=_("amount (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )

    class Meta:
        model = CaseCost
        fields = ("case", "kind", "payer", "note")


@admin.register(CaseCost)
class CaseCostAdmin(NoDeleteAdminMixin, _CaseCostModelAdmin):
    """Costs are added through `add_cost` (audited) and never changed or deleted."""

    form = CaseCostForm
    list_display = ("case", "shop", "kind", "amount", "payer", "recorded_by", "recorded_at")
    list_filter = ("shop", "kind", "payer")
    list_select_related = ("case", "shop")
    search_fields = ("case__platform_case_id", "note")
    raw_id_fields = ("case",)
    show_full_result_count = False
    amount = yuan("amount_fen", _("amount (yuan)"))

    def has_change_permission(self, request: HttpRequest, obj: CaseCost | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: CaseCost | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("case", "kind", "amount_yuan", "payer", "note")
        return ("shop", "case", "kind", "amount", "payer", "note", "recorded_by", "recorded_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: CaseCost | None = None
    ) -> tuple[str, ...]:
        return ("amount",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: CaseCost, form: CaseCostForm, change: bool
    ) -> None:
        cost = add_cost(
            case=obj.case,
            kind=obj.kind,
            amount_fen=yuan_to_fen(form.cleaned_data["amount_yuan"]),
            payer=obj.payer,
            note=obj.note,
            by=actor_for_user(cast(AbstractBaseUser, request.user)),
        )
        obj.pk = cost.pk
        obj._state.adding = False
        obj._state.db = cost._state.db


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, _EvidenceModelAdmin):
    list_display = (
        "pk",
        "case",
        "source",
        "kind",
        "content_type",
        "size_bytes",
        "uploaded_by",
        "uploaded_at",
    )
    list_filter = ("shop", "source", "kind")
    list_select_related = ("case",)
    search_fields = ("case__platform_case_id", "sha256")
    show_full_result_count = False
    # `file` is shown as its stored name: the file is served (with the case's permission
    # check) by the API, not from a public media URL.
    fields = (
        "shop",
        "case",
        "case_item",
        "inspection",
        "source",
        "kind",
        "content_type",
        "stored_name",
        "original_name",
        "size_bytes",
        "sha256",
        "note",
        "uploaded_by",
        "uploaded_at",
    )
    readonly_fields = ("stored_name",)

    @admin.display(description=_("file"))
    def stored_name(self, obj: Evidence) -> str | None:
        # django-stubs types a FileField read from an instance as Any; it is a FieldFile.
        file: FieldFile = obj.file
        return file.name
