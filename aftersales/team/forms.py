"""Forms of the team pages: they validate shapes; the services apply the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from aftersales.catalog.choices import Category
from aftersales.core.limits import (
    CODE_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    KEY_NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
)
from aftersales.shops.choices import Role


class BulkForm(forms.Form):
    """The queue's bulk bar: one action on many cases. It checks the shape of the request;
    each case is then checked and handled by the services on its own (`views.bulk`)."""

    MAX_CASES = 500
    ACTIONS = ("approve", "assign", "message")

    action = forms.CharField(max_length=CODE_MAX_LENGTH)
    # Read with getlist in `clean`; each id is a whole number of at most 19 digits.
    case_ids = forms.CharField(required=False, max_length=CODE_MAX_LENGTH)
    assignee_id = forms.IntegerField(required=False)
    template = forms.CharField(required=False, max_length=CODE_MAX_LENGTH)

    def __init__(self, data: Any, *, template_codes: set[str]) -> None:
        super().__init__(data)
        self.raw_case_ids: list[str] = data.getlist("case_ids")
        self.template_codes = template_codes

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The first problem is the one shown: the page says one thing to fix.
        action = cleaned.get("action")
        if action not in self.ACTIONS:
            raise forms.ValidationError(_("Choose an action: approve, assign or send a message."))
        if not self.raw_case_ids:
            raise forms.ValidationError(_("Select at least one case."))
        try:
            case_ids = list(dict.fromkeys(int(raw) for raw in self.raw_case_ids if len(raw) <= 19))
            if len(case_ids) < len(set(self.raw_case_ids)):
                case_ids = []
        except ValueError:
            case_ids = []
        if not case_ids or not all(0 < pk < 2**63 for pk in case_ids):
            raise forms.ValidationError(_("Case numbers must be whole numbers."))
        if len(case_ids) > self.MAX_CASES:
            raise forms.ValidationError(
                _("Select at most %(max)s cases at a time.") % {"max": self.MAX_CASES}
            )
        cleaned["case_ids"] = case_ids
        if action == "assign" and cleaned.get("assignee_id") is None:
            raise forms.ValidationError(_("Choose who gets the cases."))
        if action == "message" and cleaned.get("template") not in self.template_codes:
            raise forms.ValidationError(_("Choose a message template."))
        return cleaned


class AddMemberForm(forms.Form):
    """Add an existing login to the shop, or change a member's role."""

    username = forms.CharField(label=_("Username"), max_length=USERNAME_MAX_LENGTH)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active user has that username."))
        self.user = user
        return username


class CreateMemberForm(forms.Form):
    """Create a new login and add it to the shop, with the name the pages show for them."""

    username = forms.CharField(label=_("Username"), max_length=USERNAME_MAX_LENGTH)
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=DISPLAY_NAME_MAX_LENGTH,
        help_text=_("Shown in the queue, on cases and on the team pages, e.g. “小美”."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That username is taken."))
        return username

    def clean(self) -> Any:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class DisplayNameForm(forms.Form):
    """The name the pages show for a member; empty shows the username."""

    display_name = forms.CharField(
        label=_("Display name"), max_length=DISPLAY_NAME_MAX_LENGTH, required=False
    )


class SkillsForm(forms.Form):
    skills = forms.MultipleChoiceField(
        label=_("Skills"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_senior = forms.BooleanField(label=_("Senior"), required=False)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=KEY_NAME_MAX_LENGTH,
        help_text=_("Who uses it, e.g. “ERP” or “BI”."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AUDITOR)
