"""The group robots page `/alerts/` (issue 13).

| page                    | agent | supervisor | shop admin | auditor |
|-------------------------|-------|------------|------------|---------|
| GET /alerts/            | 404   | read       | yes        | 404     |
| POST add, change, test  | 404   | 403        | yes        | 404     |

A shop the user does not belong to, or another shop's robot, is a 404. Secrets are never
shown: the URL's key and the signing secret appear masked; an empty field keeps them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from aftersales.core.errors import DomainError, PermissionDenied

from . import robots, services
from .forms import RobotForm
from .pages import actor_of, chosen_shop, refusal, shops_of, staff_view


@staff_view
@require_http_methods(["GET", "POST"])
def robots_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    shop = chosen_shop(request, shops_of(actor, services.READ_ROLES))
    can_manage = actor.role_in(shop.pk) in services.MANAGE_ROLES
    form = RobotForm(initial={"alert_kinds": ["sla_breached", "incident_proposed"], "active": True})
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise DjangoPermissionDenied
        form = RobotForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.configure_channel(
                    shop=shop,
                    kind=data["kind"],
                    name=data["name"],
                    webhook_url=data["webhook_url"],
                    secret=data["secret"],
                    alert_kinds=data["alert_kinds"],
                    by=actor,
                )
            except DomainError as error:
                form.add_error(
                    error.field if error.field in form.fields else None, error.render(_lang())
                )
            else:
                messages.success(request, _("The robot is set up."))
                return redirect(f"{request.path}?shop={shop.pk}")
        status = 400
    channels = services.channels_for_actor(actor, shop.pk)
    rows = [
        {
            "channel": c,
            "url": robots.masked_url(c.webhook_url),
            "secret": robots.mask(c.secret),
            "form": RobotForm(
                initial={
                    "kind": c.kind,
                    "name": c.name,
                    "alert_kinds": c.alert_kinds,
                    "active": c.active,
                },
                prefix=f"r{c.pk}",
            ),
        }
        for c in channels
    ]
    context = {
        "nav": "incidents",
        "page": "alerts",
        "shop": shop,
        "shops": shops_of(actor, services.READ_ROLES),
        "can_manage": can_manage,
        "form": form,
        "rows": rows,
        "deliveries": services.recent_deliveries(actor, shop.pk, limit=30),
    }
    return render(request, "alerts/robots.html", context, status=status)


def _lang() -> str:
    from django.utils import translation

    return translation.get_language() or "zh-hans"


@staff_view
@require_POST
def robot_change(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    channel = services.get_channel_for_actor(actor, pk)
    form = RobotForm(request.POST, prefix=f"r{channel.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_channel(
                channel=channel,
                name=data["name"],
                webhook_url=data["webhook_url"],
                secret=data["secret"],
                alert_kinds=data["alert_kinds"],
                active=data["active"],
                by=actor,
            )
            messages.success(request, _("The robot is saved."))
        except DomainError as error:
            refusal(request, error)
    else:
        messages.error(request, _("Check the robot's fields: name and at least one alert."))
    return redirect(f"/alerts/?shop={channel.shop_id}")


@staff_view
@require_POST
def robot_test(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    channel = services.get_channel_for_actor(actor, pk)
    try:
        services.send_test_alert(channel=channel, by=actor)
        messages.success(request, _("A test message is on its way; see the deliveries below."))
    except PermissionDenied as error:
        refusal(request, error)
    return redirect(f"/alerts/?shop={channel.shop_id}")
