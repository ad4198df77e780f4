"""The import pages under /imports/ (R13.3): upload the back-office export, watch it run
(htmx polls the status fragment), read the summary and the refused rows, download the error
sheet. A supervisor or admin of the shop only; another shop's import is a 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound, PermissionDenied
from aftersales.shops.models import Shop
from aftersales.team.web import actor_of, language, staff_view

from .models import ImportStatus
from .services import IMPORT_ROLES, error_sheet, get_import_for_actor, imports_for, request_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ERRORS = 100


class UploadForm(forms.Form):
    shop = forms.TypedChoiceField(label=_("Shop"), coerce=int)
    file = forms.FileField(
        label=_("After-sales export (售后单-….xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def __init__(self, *args: Any, shops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = shops  # type: ignore[attr-defined]


def _shops(actor: Actor) -> list[tuple[int, str]]:
    ids = [pk for pk, role in actor.shop_roles.items() if role in IMPORT_ROLES]
    return list(Shop.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "name"))


@require_http_methods(["GET", "POST"])
@staff_view
def imports_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    shops = _shops(actor)
    if not shops:
        raise PermissionDenied(_("Only a supervisor or the shop admin may import."))
    form = UploadForm(
        request.POST or None, request.FILES or None, shops=shops, initial={"shop": shops[0][0]}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            shop = Shop.objects.get(pk=form.cleaned_data["shop"])
            try:
                job = request_import(shop=shop, upload=form.cleaned_data["file"], by=actor)
            except DomainError as exc:
                if isinstance(exc, NotFound | PermissionDenied):
                    raise
                form.add_error("file", exc.render(language()))
                status = exc.status
            else:
                return redirect("imports:job", pk=job.pk)
        else:
            status = 400
    jobs = imports_for(actor).select_related("shop")[:20]
    return render(
        request,
        "imports/imports.html",
        {"form": form, "jobs": jobs, "nav": "imports"},
        status=status,
    )


def _context(job: Any) -> dict[str, Any]:
    zh = language().startswith("zh")
    errors = [
        {"row": e.row_number, "id": e.aftersale_id, "problems": e.problems}
        for e in job.row_errors.order_by("row_number")[:SHOWN_ERRORS]
    ]
    return {
        "job": job,
        "working": job.status in {ImportStatus.PENDING, ImportStatus.RUNNING},
        "percent": None if job.progress is None else round(job.progress * 100),
        "errors": errors,
        "reason_key": "zh" if zh else "en",
        "more_errors": max(job.failed - len(errors), 0),
    }


@require_GET
@staff_view
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_actor(actor_of(request), pk)
    return render(request, "imports/job.html", {"nav": "imports", **_context(job)})


@require_GET
@staff_view
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment htmx polls while the import runs."""
    job = get_import_for_actor(actor_of(request), pk)
    return render(request, "imports/_status.html", _context(job))


@require_GET
@staff_view
def error_sheet_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_actor(actor_of(request), pk)
    if job.status != ImportStatus.DONE:
        raise Http404("not finished")
    response = HttpResponse(error_sheet(job, language=language()), content_type=XLSX)
    stem = job.file_name.rsplit(".", 1)[0]
    name = f"{stem}-错误行.xlsx" if language().startswith("zh") else f"{stem}-refused-rows.xlsx"
    response["Content-Disposition"] = _attachment(name)
    return response


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"import-errors.xlsx\"; filename*=UTF-8''{quote(name)}"
