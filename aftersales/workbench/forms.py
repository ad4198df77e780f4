"""Forms of the workbench. They check shapes (400s); the services check the rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import Truncator, format_lazy
from django.utils.translation import gettext_lazy as _

from aftersales.cases import services as case_services
from aftersales.cases.choices import (
    CaseStatus,
    CaseType,
    CostKind,
    CostPayer,
    InspectionResult,
    ItemCondition,
)
from aftersales.cases.models import Case
from aftersales.cases.reasons import (
    REASON_CHOICES,
    REJECT_REASON_CHOICES,
    REJECT_REASONS,
    reject_reasons_for_stage,
    review_stage_of,
)
from aftersales.catalog.choices import Category
from aftersales.core.limits import FILE_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, SEARCH_MAX_LENGTH
from aftersales.core.money import fen_to_yuan, yuan_to_fen
from aftersales.orders.carriers import CARRIER_CHOICES
from aftersales.orders.choices import Packaging
from aftersales.sla.models import ClockState
from aftersales.team import replies

from . import lockout, widgets

# --- Logging in ------------------------------------------------------------------------------


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the lockout counts by. Behind a proxy this is the proxy's address unless
    the proxy rewrites REMOTE_ADDR; the lockout is then per username, which still holds."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


class LoginForm(AuthenticationForm):
    """Django's login form with the lockout in front of the password check."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "Too many failed attempts for this user from your address. "
            "Try again in %(minutes)d minutes."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        password = self.fields["password"]
        assert isinstance(password, forms.CharField)
        password.max_length = PASSWORD_MAX_LENGTH
        password.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        ip = client_ip(self.request)
        attempt = None
        if username:
            if password:
                # Checked and counted in one step, before the password (see lockout).
                attempt, until = lockout.reserve_attempt(username, ip)
            else:
                until = lockout.locked_until(username, ip)
            if until is not None:
                minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))
                raise ValidationError(
                    self.error_messages["locked"], code="locked", params={"minutes": minutes}
                )
        try:
            cleaned = super().clean()
        except ValidationError:
            if attempt is not None:
                lockout.attempt_failed(attempt)
            raise
        if attempt is not None:
            lockout.attempt_succeeded(attempt)
        else:
            lockout.record_attempt(username, ip, succeeded=True)
        return cleaned


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of the form, to give it choices known only per request."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


# --- The queue -------------------------------------------------------------------------------

OPEN = ""
ALL = "all"
SORT_PLATFORM_DEADLINE = "platform_deadline"


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string. A bad value is ignored, not an error.
    Its widgets are written in Python (`widgets.py`) with Django's markup: through the
    template renderer the form cost ~7 ms of every queue page (issue 16)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=widgets.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Case or order no., buyer, phone"),
                "title": _(
                    "Looks in every status: a case or order number, a buyer's id, nickname "
                    "(or its beginning), phone number or its last 4 digits."
                ),
            }
        ),
    )
    shop = forms.TypedChoiceField(
        label=_("Shop"), required=False, coerce=int, empty_value=None, widget=widgets.Select
    )
    type = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Type"),
        required=False,
        choices=[("", _("All types")), *CaseType.choices],
    )
    status = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Open")), (ALL, _("All statuses")), *CaseStatus.choices],
    )
    category = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *Category.choices],
    )
    reason = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Reason"),
        required=False,
        choices=[("", _("All reasons")), *REASON_CHOICES],
    )
    vip = forms.BooleanField(widget=widgets.CheckboxInput, label=_("VIP only"), required=False)
    out_of_sync = forms.BooleanField(
        widget=widgets.CheckboxInput, label=_("Out of sync with the platform"), required=False
    )
    assignee = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Assignee"),
        required=False,
        choices=[("", _("Anyone")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))],
    )
    sla = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Time limit"),
        required=False,
        choices=[("", _("Any")), ("at_risk", _("At risk")), ("breached", _("Breached"))],
    )
    handover = forms.BooleanField(
        widget=widgets.CheckboxInput, label=_("Handed over by the bot"), required=False
    )
    # The platform's own timers (R5.2): what it does by itself if the shop does nothing.
    platform_due = forms.BooleanField(
        widget=widgets.CheckboxInput, label=_("Platform deadline within 24 h"), required=False
    )
    sort = forms.ChoiceField(
        widget=widgets.Select,
        label=_("Sort"),
        required=False,
        choices=[
            ("", _("Most urgent first")),
            (SORT_PLATFORM_DEADLINE, _("Platform deadline (soonest first)")),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, shops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "shop").choices = [("", _("All shops")), *shops]

    def filters(self) -> dict[str, Any]:
        """The valid values; an invalid field counts as not given."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields}
        for name in self.errors:
            data[name] = None
        return data


# --- Case actions ----------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos or videos in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,video/*"}))
        kwargs.setdefault("max_length", FILE_NAME_MAX_LENGTH)  # of each file's name
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class YuanField(forms.DecimalField):
    """An amount typed in yuan, cleaned to integer fen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> int | None:
        amount = super().clean(value)
        return None if amount is None else yuan_to_fen(amount)


class ActionForm(forms.Form):
    """A form acting on one case. Ids carry the action's name, so many forms share a page."""

    # The service's parameter names for the form's fields, where they differ: a service's
    # refusal that names its parameter is shown beside the field (`add_refusal`).
    service_fields: dict[str, str] = {}

    def __init__(self, *args: Any, case: Case, action: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{action}-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.case = case
        self.action_name = action

    def add_refusal(self, field: str | None, message: str) -> None:
        """Put a service's refusal beside the field it is about, else above the form."""
        name = self.service_fields.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)


class EmptyForm(ActionForm):
    pass


class NoteForm(ActionForm):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequestEvidenceForm(ActionForm):
    note = forms.CharField(
        label=_("What the buyer should provide"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CloseForm(ActionForm):
    note = forms.CharField(
        label=_("Why the case is closed"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConvertForm(ActionForm):
    note = forms.CharField(
        label=_("Why the exchange becomes a refund"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonSelect(forms.Select):
    """The reject reasons, each option saying whether it needs evidence (case.js reads it)."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        reason = REJECT_REASONS.get(str(value))
        if reason is not None and reason.needs_evidence:
            option["attrs"]["data-needs-evidence"] = "true"
        return option


class RejectForm(ActionForm):
    """Offers the reasons of the case's review; a reason the platform refuses without evidence
    is refused here too, before anything is decided (the service checks it again)."""

    reason_code = forms.ChoiceField(
        label=_("Reject reason"),
        choices=REJECT_REASON_CHOICES,
        widget=ReasonSelect(
            attrs={
                "data-evidence-hint": _(
                    "This reason needs evidence: the platform refuses the rejection without "
                    "a photo or screenshot. Choose one on the case or upload one."
                )
            }
        ),
        help_text=_("Reasons marked “evidence required” need a photo or screenshot."),
    )
    note = forms.CharField(
        label=_("Explanation to the buyer"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    evidence = forms.TypedMultipleChoiceField(
        label=_("Evidence already on the case"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    uploads = MultipleFileField(label=_("Upload evidence"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "reason_code").choices = [
            (
                r.code,
                format_lazy("{} ({})", r.label, _("evidence required"))
                if r.needs_evidence
                else r.label,
            )
            for r in reject_reasons_for_stage(review_stage_of(self.case.status))
        ]
        evidence = _choice_field(self, "evidence")
        evidence.choices = [
            (e.pk, f"#{e.pk} {e.get_source_display()} · {e.original_name or e.get_kind_display()}")
            for e in self.case.evidence.order_by("pk")
        ]
        if not evidence.choices:
            del self.fields["evidence"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        reason = REJECT_REASONS.get(cleaned.get("reason_code") or "")
        if (
            reason is not None
            and reason.needs_evidence
            and not cleaned.get("evidence")
            and not cleaned.get("uploads")
        ):
            self.add_error(
                "reason_code",
                _(
                    "“%(reason)s” needs evidence: choose or upload a photo or screenshot. "
                    "The platform refuses this rejection without it."
                )
                % {"reason": reason.label},
            )
        return cleaned


class ShipmentForm(ActionForm):
    # The platform's carrier codes (orders/carriers.py), shown by name.
    carrier = forms.ChoiceField(
        label=_("Carrier"), choices=[("", _("Choose a carrier")), *CARRIER_CHOICES]
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)


class RepairShipmentForm(ShipmentForm):
    repair_notes = forms.CharField(
        label=_("What was repaired"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


PACKAGE_CHOICES = [("", _("Not checked")), ("yes", _("Intact")), ("no", _("Opened or damaged"))]


class InspectForm(ActionForm):
    result = forms.ChoiceField(
        label=_("Result"), choices=InspectionResult.choices, widget=forms.RadioSelect
    )
    condition = forms.ChoiceField(label=_("Condition of the goods"), choices=ItemCondition.choices)
    package_intact = forms.ChoiceField(
        label=_("Packaging and seals"), choices=PACKAGE_CHOICES, required=False
    )
    notes = forms.CharField(
        label=_("Inspection notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photos = MultipleFileField(label=_("Photos"), required=False)

    def clean_package_intact(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("package_intact") or "")


class RefundForm(ActionForm):
    """The refund, in its parts (R3.2–R3.4, R4.4). Unbound, it offers the case's defaults:
    what the buyer asked for, the policy's shipping and return postage. A field with nothing
    to refund (no shipping paid; return postage the merchant does not pay) is left out."""

    goods_amount = YuanField(label=_("Goods refund (yuan)"))
    shipping_amount = YuanField(label=_("Shipping refund (yuan)"), required=False)
    return_postage = YuanField(label=_("Buyer's return postage (yuan)"), required=False)
    reason = forms.CharField(
        label=_("Reason (required for a partial refund)"),
        required=False,
        max_length=500,
    )
    service_fields = {
        "goods_amount_fen": "goods_amount",
        "shipping_amount_fen": "shipping_amount",
        "return_postage_fen": "return_postage",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.defaults = case_services.refund_defaults(self.case)
        caps = {
            "goods_amount": self.defaults.goods_cap_fen,
            "shipping_amount": self.defaults.shipping_refundable_fen,
            "return_postage": self.defaults.return_postage_cap_fen,
        }
        if self.defaults.shipping_paid_fen == 0:
            del self.fields["shipping_amount"]
        if self.defaults.return_postage_cap_fen == 0:
            del self.fields["return_postage"]
        for name, field in self.fields.items():
            if name in caps:
                # The total in the confirmation is added up from these (case.js).
                field.widget.attrs.update({"data-refund-part": "", "max": fen_to_yuan(caps[name])})
        if not self.is_bound:
            self.initial = {
                "goods_amount": fen_to_yuan(self.defaults.goods_fen),
                "shipping_amount": fen_to_yuan(self.defaults.shipping_fen),
                "return_postage": fen_to_yuan(self.defaults.return_postage_cap_fen),
            }

    def typed_fen(self, *names: str) -> int | None:
        """The sum of these parts as the form holds them now (typed, or offered); None if
        one does not read as an amount."""
        total = 0
        for name in names:
            if name not in self.fields:
                continue
            value = self[name].value()
            try:
                total += yuan_to_fen(str(value or "").strip() or "0")
            except (TypeError, ValueError):
                return None
        return total

    @property
    def confirm_template(self) -> str:
        """The question before sending, with `{amount}` where case.js puts the total typed."""
        return str(_("Refund ¥%(amount)s to the buyer? This cannot be undone.")) % {
            "amount": "{amount}"
        }

    @property
    def confirm_question(self) -> str:
        total = self.typed_fen(*REFUND_PARTS)
        if total is None:
            return str(_("Refund this amount to the buyer? This cannot be undone."))
        return self.confirm_template.replace("{amount}", fen_to_yuan(total))

    @property
    def difference_templates(self) -> dict[str, str]:
        """How the goods and shipping typed compare with what the buyer asked for (which,
        as on the platform, includes shipping); `{amount}` for the difference."""
        return {
            "more": str(_("%(amount)s yuan more than the buyer asked for."))
            % {"amount": "{amount}"},
            "less": str(_("%(amount)s yuan less than the buyer asked for."))
            % {"amount": "{amount}"},
            "same": str(_("Exactly what the buyer asked for.")),
        }

    @property
    def difference_text(self) -> str:
        typed = self.typed_fen("goods_amount", "shipping_amount")
        requested = self.defaults.requested_fen
        if typed is None or requested <= 0:
            return ""
        templates = self.difference_templates
        if typed == requested:
            return templates["same"]
        kind = "more" if typed > requested else "less"
        return templates[kind].replace("{amount}", fen_to_yuan(abs(typed - requested)))


REFUND_PARTS = ("goods_amount", "shipping_amount", "return_postage")


class QualityCheckForm(ActionForm):
    quality_ok = forms.BooleanField(label=_("Quality checked and intact"), required=False)
    packaging_intact = forms.BooleanField(label=_("Packaging intact"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class TechnicalSupportForm(ActionForm):
    notes = forms.CharField(
        label=_("What was tried with the buyer"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    resolved = forms.BooleanField(label=_("The problem is solved"), required=False)


class ExtendForm(ActionForm):
    clock = forms.ChoiceField(label=_("Deadline"))
    hours = forms.IntegerField(label=_("Extend by (hours)"), min_value=1, max_value=360)
    reason = forms.CharField(label=_("Reason"), max_length=500)
    message_to_buyer = forms.CharField(
        label=_("Message to the buyer"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        live = self.case.clocks.filter(
            state__in=[ClockState.RUNNING, ClockState.PAUSED],
            is_buyer_clock=False,
            breached_at__isnull=True,
            due_at__gt=timezone.now(),
        ).order_by("due_at")
        _choice_field(self, "clock").choices = [(c.kind, c.get_kind_display()) for c in live]


class CostForm(ActionForm):
    kind = forms.ChoiceField(label=_("Kind of cost"), choices=CostKind.choices)
    amount = YuanField(label=_("Amount (yuan)"), min_value=Decimal("0.01"))
    payer = forms.ChoiceField(label=_("Paid by"), choices=CostPayer.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class PackagingForm(ActionForm):
    """How the order's outbound parcel was packed (R11.1: damage in transit by packaging)."""

    service_fields = {"shipment": "shipment_id"}

    shipment = forms.TypedChoiceField(label=_("Parcel"), coerce=int)
    packaging = forms.ChoiceField(label=_("Packaging"), choices=Packaging.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from aftersales.orders.choices import ShipmentKind
        from aftersales.orders.models import Shipment

        parcels = Shipment.objects.filter(
            order_id=self.case.order_id, shop_id=self.case.shop_id, kind=ShipmentKind.OUTBOUND
        ).order_by("pk")
        _choice_field(self, "shipment").choices = [
            (
                parcel.pk,
                f"{parcel.tracking_number} ({parcel.get_packaging_display() or _('not recorded')})",
            )
            for parcel in parcels
        ]


class EvidenceForm(ActionForm):
    uploads = MultipleFileField(label=_("Photos or videos"))
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class AssignForm(ActionForm):
    assignee = forms.TypedChoiceField(
        label=_("Assignee"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from aftersales.shops.choices import WRITE_ROLES
        from aftersales.shops.models import Membership

        members = (
            Membership.objects.filter(shop_id=self.case.shop_id, role__in=WRITE_ROLES)
            .select_related("user")
            .order_by("user__username")
        )
        _choice_field(self, "assignee").choices = [("", _("Nobody"))] + [
            (m.user_id, Truncator(m.user.get_full_name() or m.user.get_username()).chars(24))
            for m in members
        ]


class InternalNoteForm(ActionForm):
    text = forms.CharField(
        label=_("Internal note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


# A platform's order remark takes at most 500 characters (the platform refuses longer ones):
# a longer remark would fail on the platform, so the form stops it.
PLATFORM_REMARK_MAX_LENGTH = 500


class PlatformRemarkForm(ActionForm):
    remark = forms.CharField(
        label=_("Remark"),
        max_length=PLATFORM_REMARK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BuyerMessageForm(ActionForm):
    template = forms.ChoiceField(label=_("Template"), required=False)
    text = forms.CharField(
        label=_("Message to the buyer"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The case's shop's templates: a code another shop offers is not a valid choice.
        _choice_field(self, "template").choices = [("", _("No template"))] + [
            (t.code, t.name) for t in replies.templates_for(self.case.shop_id)
        ]
