"""Forms of the incident pages: they check shapes; the services apply the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from aftersales.cases.reasons import REASON_CHOICES
from aftersales.catalog.models import Product
from aftersales.core.limits import NOTE_MAX_LENGTH
from aftersales.orders.carriers import CARRIER_CHOICES
from aftersales.shops.choices import Role
from aftersales.team import replies

from . import services
from .models import IncidentKind

MAX_PRODUCTS = 500


class DeclareForm(forms.Form):
    shop = forms.TypedChoiceField(label=_("Shop"), coerce=int, choices=())
    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentKind.choices)
    title = forms.CharField(label=_("Title"), max_length=services.TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    product = forms.TypedChoiceField(
        label=_("Product"), coerce=int, required=False, empty_value=None, choices=()
    )
    reason = forms.ChoiceField(label=_("Reason"), required=False, choices=())
    carrier = forms.ChoiceField(label=_("Carrier"), required=False, choices=())
    region = forms.CharField(
        label=_("Receiver address begins with"),
        max_length=services.REGION_MAX_LENGTH,
        required=False,
        help_text=_("A province or city as addresses write it, e.g. “浙江省”."),
    )
    keyword = forms.CharField(
        label=_("Buyer's statement contains"),
        max_length=services.KEYWORD_MAX_LENGTH,
        required=False,
    )
    since_days = forms.IntegerField(
        label=_("Cases applied for in the last days"), min_value=0, max_value=90, initial=7
    )
    target_hours = forms.IntegerField(
        label=_("Deadline hours for its cases"),
        min_value=services.MIN_TARGET_HOURS,
        max_value=services.MAX_TARGET_HOURS,
        initial=4,
        help_text=_(
            "While the incident is open, the merchant's deadlines of its cases run at most "
            "this long."
        ),
    )

    def __init__(self, *args: Any, shops: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = [(s.pk, s.name) for s in shops]  # type: ignore[attr-defined]
        products = Product.objects.filter(shop__in=list(shops)).order_by("shop_id", "name")[
            :MAX_PRODUCTS
        ]
        self.fields["product"].choices = [("", "—")] + [(p.pk, p.name) for p in products]  # type: ignore[attr-defined]
        self.fields["reason"].choices = [("", "—")] + [(c, label) for c, label in REASON_CHOICES]  # type: ignore[attr-defined]
        self.fields["carrier"].choices = [("", "—")] + list(CARRIER_CHOICES)  # type: ignore[attr-defined]


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[
            ("message", _("Send a templated message")),
            ("approve", _("Approve")),
            ("assign", _("Assign")),
        ],
    )
    template = forms.ChoiceField(label=_("Message template"), required=False, choices=())
    assignee = forms.TypedChoiceField(
        label=_("Assign to"), coerce=int, required=False, empty_value=None, choices=()
    )

    def __init__(self, *args: Any, shop_id: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "—")] + replies.choices_for_shops([shop_id])  # type: ignore[attr-defined]
        people = (
            get_user_model()
            .objects.filter(
                memberships__shop_id=shop_id, memberships__role__in=[Role.AGENT, Role.SUPERVISOR]
            )
            .order_by("username")
        )
        self.fields["assignee"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (u.pk, u.get_full_name() or u.get_username()) for u in people
        ]


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX_LENGTH, required=False)
    title = forms.CharField(label=_("Title"), max_length=services.TITLE_MAX_LENGTH, required=False)
    target_hours = forms.IntegerField(
        label=_("Deadline hours for its cases"),
        min_value=services.MIN_TARGET_HOURS,
        max_value=services.MAX_TARGET_HOURS,
        required=False,
    )
