from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import CaseType
from aftersales.cases.reasons import REASONS
from aftersales.cases.services import TYPE_ORDER_STATES
from aftersales.orders.models import Order


class FindOrderForm(forms.Form):
    order_number = forms.CharField(label=_("Order number"), max_length=64)
    phone_last4 = forms.RegexField(
        label=_("Last 4 digits of your phone number"),
        regex=r"^\d{4}$",
        max_length=4,
        error_messages={"invalid": _("Enter 4 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class CodeForm(forms.Form):
    order_number = forms.CharField(max_length=64, widget=forms.HiddenInput)
    code = forms.RegexField(
        label=_("Verification code"),
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("Enter the 6-digit code.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,video/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


BUYER_REASONS = [(code, r.label) for code, r in REASONS.items()]


class ApplyForm(forms.Form):
    type = forms.ChoiceField(label=_("What do you want?"))
    reason = forms.ChoiceField(label=_("Reason"), choices=BUYER_REASONS)
    statement = forms.CharField(
        label=_("Describe the problem"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultipleFileField(label=_("Photos or video"), required=False)

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["type"].choices = [  # type: ignore[attr-defined]
            (value, label)
            for value, label in CaseType.choices
            if order.status in TYPE_ORDER_STATES[value]
        ]
        self.items = list(order.items.select_related("sku__product").order_by("pk"))
        for item in self.items:
            self.fields[f"qty_{item.pk}"] = forms.IntegerField(
                label=item.sku.product.name,
                min_value=0,
                max_value=item.quantity,
                initial=0,
                required=False,
            )

    def requested(self) -> list[tuple[Any, int]]:
        return [
            (item, self.cleaned_data.get(f"qty_{item.pk}") or 0)
            for item in self.items
            if (self.cleaned_data.get(f"qty_{item.pk}") or 0) > 0
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.requested():
            raise forms.ValidationError(_("Choose at least one item and its quantity."))
        return data


class EvidenceForm(forms.Form):
    photos = MultipleFileField(label=_("Photos or video"))
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class TrackingForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=32)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ChatForm(forms.Form):
    text = forms.CharField(label=_("Your question"), max_length=500)
