"""Forms of the signal pages: shapes only; the services check roles and limits."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.core.limits import REASON_MAX_LENGTH

from . import services


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(
        label=_("Verdict"), choices=[("confirm", _("Confirm")), ("dismiss", _("Dismiss"))]
    )
    note = forms.CharField(label=_("Note"), max_length=REASON_MAX_LENGTH, required=False)


class RuleForm(forms.Form):
    threshold = forms.IntegerField(
        label=_("Threshold"), min_value=1, max_value=services.MAX_THRESHOLD
    )
    window_days = forms.IntegerField(
        label=_("Days looked back"), min_value=0, max_value=services.MAX_WINDOW_DAYS
    )
    active = forms.BooleanField(label=_("Active"), required=False)
