"""The abuse-signal pages: `/signals/` (the shop's signals to review, its rules with their
thresholds and precision) and the review of one signal. The case page shows a case's signals
and its buyer's through `case_panel` (the workbench includes `signals/_case_panel.html`).

| page                       | agent | supervisor | shop admin | auditor |
|----------------------------|-------|------------|------------|---------|
| GET /signals/              | yes   | yes        | yes        | yes     |
| POST review                | 403   | yes        | yes        | 403     |
| POST a rule                | 403   | 403        | yes        | 403     |

A signal is information, never a decision: nothing here changes the case.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.alerts.pages import actor_of, chosen_shop, refusal, shops_of, staff_view
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.shops.models import Shop

from . import services
from .forms import ReviewForm, RuleForm
from .models import RuleCode, Signal, SignalStatus
from .rules import RULES, definition
from .words import evidence_words, other_cases


def signal_rows(signals: list[Signal]) -> list[dict[str, Any]]:
    return [
        {
            "signal": s,
            "label": RuleCode(s.rule).label,
            "words": evidence_words(s),
            "others": other_cases(s),
        }
        for s in signals
    ]


def case_panel(actor: Actor, case: Case) -> dict[str, Any]:
    """The case page's signal panel: this case's signals and the buyer's other ones."""
    found = services.signals_for_case(actor, case)
    return {
        "case": signal_rows(found.case),
        "buyer": signal_rows(found.buyer),
        "can_review": actor.is_unscoped or actor.role_in(case.shop_id) in services.REVIEW_ROLES,
    }


@staff_view
@require_GET
def signals_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    shop: Shop = chosen_shop(request, shops_of(actor))
    status = request.GET.get("status", SignalStatus.OPEN)
    if status not in SignalStatus.values:
        status = SignalStatus.OPEN
    signals = list(
        Signal.objects.filter(shop=shop, status=status)
        .select_related("case", "buyer")
        .order_by("-created_at")[:200]
    )
    rules = [
        {
            "row": p,
            "label": RuleCode(p.rule.code).label,
            "definition": definition(p.rule.code, p.rule.threshold, p.rule.window_days),
            "unit": RULES[p.rule.code].unit,
            "form": RuleForm(
                initial={
                    "threshold": p.rule.threshold,
                    "window_days": p.rule.window_days,
                    "active": p.rule.active,
                },
                prefix=p.rule.code,
            ),
        }
        for p in services.precision_by_rule(shop.pk)
    ]
    context = {
        "nav": "incidents",
        "page": "signals",
        "shop": shop,
        "shops": shops_of(actor),
        "status": status,
        "statuses": SignalStatus.choices,
        "rows": signal_rows(signals),
        "rules": rules,
        "can_review": actor.role_in(shop.pk) in services.REVIEW_ROLES,
        "can_edit_rules": actor.role_in(shop.pk) in services.RULE_ROLES,
    }
    return render(request, "signals/list.html", context)


@staff_view
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    signal = services.get_signal_for_actor(actor, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_signal(
                signal=signal,
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
                by=actor,
            )
            messages.success(request, _("Signal reviewed."))
        except DomainError as error:
            if error.status == 403:
                raise DjangoPermissionDenied from error
            refusal(request, error)
    else:
        messages.error(request, _("Choose confirm or dismiss."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = f"/signals/?shop={signal.shop_id}"
    return redirect(target)


@staff_view
@require_POST
def rule_change(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    shop = chosen_shop(request, shops_of(actor))
    if code not in RULES:
        messages.error(request, _("Unknown rule."))
        return redirect(f"/signals/?shop={shop.pk}")
    form = RuleForm(request.POST, prefix=code)
    if form.is_valid():
        try:
            services.update_rule(shop=shop, code=code, by=actor, **form.cleaned_data)
            messages.success(request, _("Rule saved."))
        except DomainError as error:
            if error.status == 403:
                raise DjangoPermissionDenied from error
            refusal(request, error)
    else:
        messages.error(
            request, _("The threshold is a whole number from 1; look back at most three years.")
        )
    return redirect(f"/signals/?shop={shop.pk}")
