"""The report forms: a period and the cuts, from the query string (400 when malformed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import CaseType
from aftersales.cases.reasons import REASON_CHOICES
from aftersales.catalog.choices import Category
from aftersales.core.errors import InvalidInput
from aftersales.orders.choices import OrderChannel

from .models import ExportKind, ImprovementKind
from .overview import DIMENSION_CHOICES
from .periods import (
    PRESET_CHOICES,
    PRESETS,
    Period,
    custom_period,
    preset_period,
    shanghai_today,
)
from .scope import Cuts

ANY: list[tuple[str, Any]] = [("", _("All"))]


class ReportForm(forms.Form):
    """Period and cuts shared by every report."""

    period = forms.ChoiceField(label=_("Period"), choices=PRESET_CHOICES, required=False)
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    shop = forms.TypedChoiceField(label=_("Shop"), coerce=int, required=False, empty_value=None)
    category = forms.ChoiceField(
        label=_("Category"), choices=ANY + Category.choices, required=False
    )
    product = forms.IntegerField(label=_("Product"), required=False, min_value=1)
    sku = forms.IntegerField(label=_("SKU"), required=False, min_value=1)
    reason = forms.ChoiceField(label=_("Reason"), choices=ANY + REASON_CHOICES, required=False)
    type = forms.ChoiceField(label=_("Case type"), choices=ANY + CaseType.choices, required=False)
    agent = forms.IntegerField(label=_("Agent"), required=False, min_value=1)
    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=32)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ANY + OrderChannel.choices, required=False
    )
    live_room = forms.CharField(label=_("Live room"), required=False, max_length=32)

    default_period = "30d"

    def __init__(self, data: Any = None, *, shops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = ANY + [(str(pk), name) for pk, name in shops]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("period"):
            cleaned["period"] = self.default_period
        if cleaned["period"] == "custom":
            try:
                custom_period(cleaned.get("start"), cleaned.get("end"))
            except InvalidInput as exc:
                raise forms.ValidationError(exc.render(get_language() or "zh-hans")) from exc
        return cleaned

    def get_period(self, today: date | None = None) -> Period:
        key = self.cleaned_data["period"]
        if key in PRESETS:
            return preset_period(key, today=today or shanghai_today())
        return custom_period(self.cleaned_data["start"], self.cleaned_data["end"])

    def get_cuts(self) -> Cuts:
        data = self.cleaned_data
        return Cuts(
            shop=data.get("shop"),
            category=data.get("category") or "",
            product=data.get("product"),
            sku=data.get("sku"),
            reason=data.get("reason") or "",
            type=data.get("type") or "",
            agent=data.get("agent"),
            carrier=(data.get("carrier") or "").strip(),
            channel=data.get("channel") or "",
            live_room=(data.get("live_room") or "").strip(),
        )


class OverviewForm(ReportForm):
    compare = forms.BooleanField(label=_("Compare with the period before"), required=False)
    by = forms.ChoiceField(
        label=_("Break down by"), choices=ANY + DIMENSION_CHOICES, required=False
    )


class ExportForm(OverviewForm):
    kind = forms.ChoiceField(choices=ExportKind.choices)


class ImprovementForm(forms.Form):
    product = forms.IntegerField(label=_("Product"), min_value=1)
    kind = forms.ChoiceField(label=_("Kind of change"), choices=ImprovementKind.choices)
    description = forms.CharField(label=_("What changed"), max_length=500)
    changed_on = forms.DateField(label=_("Changed on"))
