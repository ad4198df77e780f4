from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import translation

from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin
from aftersales.core.errors import DomainError
from aftersales.shops.services import actor_for_user

from .document import parse_document, validate_override
from .models import PolicyDecision, PolicyVersion
from .services import check_effective_from, publish_policy_version

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin and ModelForm generic in their model; Django's classes
    # take no type arguments at run time.
    _PolicyVersionModelForm = forms.ModelForm[PolicyVersion]
    _PolicyVersionModelAdmin = admin.ModelAdmin[PolicyVersion]
    _PolicyDecisionModelAdmin = admin.ModelAdmin[PolicyDecision]
else:
    _PolicyVersionModelForm = forms.ModelForm
    _PolicyVersionModelAdmin = _PolicyDecisionModelAdmin = admin.ModelAdmin


class PolicyVersionForm(_PolicyVersionModelForm):
    class Meta:
        model = PolicyVersion
        fields = ["shop", "effective_from", "document", "note"]
        widgets = {"document": forms.Textarea(attrs={"rows": 20, "cols": 100})}

    def clean_effective_from(self) -> Any:
        # The service's rule, said on the form rather than as a server error.
        effective_from = self.cleaned_data["effective_from"]
        try:
            check_effective_from(effective_from)
        except DomainError as exc:
            message = exc.render(translation.get_language() or "zh-hans")
            raise forms.ValidationError(message) from exc
        return effective_from

    def clean_document(self) -> str:
        text: str = self.cleaned_data["document"]
        try:
            validate_override(parse_document(text))
        except DomainError as exc:
            message = exc.render(translation.get_language() or "zh-hans")
            raise forms.ValidationError(message) from exc
        return text


@admin.register(PolicyVersion)
class PolicyVersionAdmin(NoDeleteAdminMixin, _PolicyVersionModelAdmin):
    """Shops' policy versions. New versions go through `publish_policy_version` (validated,
    audited); a version cannot be edited here — publish a new one instead (R6.3)."""

    form = PolicyVersionForm
    list_display = ["shop", "number", "effective_from", "note", "created_by", "created_at"]
    list_filter = ["shop"]

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: PolicyVersion, form: PolicyVersionForm, change: bool
    ) -> None:
        version = publish_policy_version(
            shop=obj.shop,
            document=obj.document,
            effective_from=obj.effective_from,
            note=obj.note,
            by=actor_for_user(request.user),
        )
        # The admin announces the saved object by `str(obj)`: make it the published row.
        obj.pk, obj.number, obj.created_by = version.pk, version.number, version.created_by


@admin.register(PolicyDecision)
class PolicyDecisionAdmin(ReadOnlyAdminMixin, _PolicyDecisionModelAdmin):
    list_display = ["case", "recommendation", "complexity", "auto_approve", "policy_version"]
    list_filter = ["recommendation", "complexity", "policy_version"]
    search_fields = ["case__platform_case_id"]
