"""The group robot form: it checks shapes; `services` checks hosts, roles and secrets."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import services
from .models import AlertKind
from .robots import RobotKind


class RobotForm(forms.Form):
    kind = forms.ChoiceField(label=_("Robot"), choices=RobotKind.choices)
    name = forms.CharField(label=_("Name"), max_length=services.NAME_MAX_LENGTH)
    webhook_url = forms.CharField(
        label=_("Webhook URL"),
        max_length=services.URL_MAX_LENGTH,
        required=False,
        help_text=_("Copied from the robot's settings in the group. Never shown again in full."),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=services.SECRET_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("DingTalk: the SEC… string of 加签; Feishu: the key of 签名校验; WeCom: none."),
    )
    alert_kinds = forms.MultipleChoiceField(
        label=_("Alerts it carries"),
        choices=AlertKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
