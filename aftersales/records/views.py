"""The records pages under /records/: the access log (R6.5) for the shop admin and the
auditor, with its Excel export."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.shops.models import Shop
from aftersales.team.web import staff_view

from .access import READER_ROLES, access_events, entry, export_access_log, readable_shops

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LogFilter(forms.Form):
    shop = forms.TypedChoiceField(label=_("Shop"), coerce=int, required=False, empty_value=None)
    first = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    last = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, shops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = [("", _("All my shops")), *shops]  # type: ignore[attr-defined]

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        zone = timezone.get_current_timezone()
        first, last = self.cleaned_data.get("first"), self.cleaned_data.get("last")
        since = datetime.combine(first, time.min, tzinfo=zone) if first else None
        until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) if last else None
        return since, until


def _filtered(request: HttpRequest) -> tuple[Actor, LogFilter, list[int], Any, Any]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    readable = readable_shops(actor)
    shops = list(Shop.objects.filter(pk__in=readable).order_by("pk").values_list("pk", "name"))
    form = LogFilter(request.GET or None, shops=shops)
    since = until = None
    shop_ids = readable
    if form.is_bound and form.is_valid():
        shop_ids = readable_shops(actor, form.cleaned_data.get("shop"))
        since, until = form.bounds()
    elif form.is_bound and request.GET.get("shop"):
        # A shop that is not among the choices: not the reader's (404) or not readable (403).
        try:
            readable_shops(actor, int(request.GET["shop"]))
        except ValueError as exc:
            raise NotFound(_("Shop not found.")) from exc
    return actor, form, shop_ids, since, until


@require_GET
@staff_view
def access_log_page(request: HttpRequest) -> HttpResponse:
    _actor, form, shop_ids, since, until = _filtered(request)
    page = Paginator(access_events(shop_ids, since=since, until=until), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "records/access_log.html",
        {
            "form": form,
            "page": page,
            "items": [entry(e) for e in page.object_list],
            "query": query.urlencode(),
            "nav": "records",
        },
    )


@require_GET
@staff_view
def access_log_download(request: HttpRequest) -> HttpResponse:
    actor, _form, shop_ids, since, until = _filtered(request)
    body = export_access_log(actor=actor, shop_ids=shop_ids, since=since, until=until)
    response = HttpResponse(body, content_type=XLSX)
    name = f"访问日志-{timezone.localtime():%Y-%m-%d %H_%M_%S}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"access-log.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response


__all__ = ["READER_ROLES", "access_log_download", "access_log_page"]
