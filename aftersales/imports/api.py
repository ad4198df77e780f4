"""The import in the REST API (`/api/v1/imports…`, mounted by `api/api.py`): upload the
back-office export, follow its progress, read its refused rows, download the error sheet.
The same services and checks as the pages: a supervisor or admin (or a key with that role)
of the shop; another shop's import is a 404."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import File, Form, Router
from ninja.files import UploadedFile

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.shops.models import Shop

from .models import ImportJob, ImportStatus
from .services import error_sheet, get_import_for_actor, imports_for, request_import

router = Router(tags=["imports"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def job_body(job: ImportJob, *, errors: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.pk,
        "shop": job.shop_id,
        "file": job.file_name,
        "status": job.status,
        "total_rows": job.total_rows,
        "rows_done": job.rows_done,
        "progress": job.progress,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "refused": job.failed,
        "error": job.error,
        "uploaded_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if errors:
        body["refused_rows"] = [
            {"row": e.row_number, "aftersale_id": e.aftersale_id, "problems": e.problems}
            for e in job.row_errors.order_by("row_number")[:errors]
        ]
    return body


@router.post("", response={202: dict}, summary="Upload a back-office 售后单 export (R13.3)")
def upload_export(
    request: HttpRequest, shop: Form[int], file: File[UploadedFile]
) -> tuple[int, dict[str, Any]]:
    actor = _actor(request)
    found = Shop.objects.filter(pk=shop).first()
    if found is None or actor.role_in(found.pk) is None:
        raise NotFound("Shop not found.")
    job = request_import(shop=found, upload=file, by=actor)
    return 202, job_body(ImportJob.objects.get(pk=job.pk))


@router.get("", summary="The imports of the shops the caller may import into")
def list_imports(request: HttpRequest) -> dict[str, Any]:
    jobs = imports_for(_actor(request))[:50]
    return {"items": [job_body(job) for job in jobs]}


@router.get("/{job_id}", summary="An import's progress, summary and first refused rows")
def get_import(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_body(get_import_for_actor(_actor(request), job_id), errors=100)


@router.get("/{job_id}/errors.xlsx", summary="The refused rows as an Excel sheet")
def download_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_import_for_actor(_actor(request), job_id)
    if job.status != ImportStatus.DONE:
        raise NotFound("The import has not finished.")
    language = translation.get_language() or "zh-hans"
    response = HttpResponse(
        error_sheet(job, language=language),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="import-errors.xlsx"'
    return response
