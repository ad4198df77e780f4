"""The import's page and API (R13.3): upload, progress, summary, refused rows and the error
sheet, in Chinese and English; a supervisor or admin of the shop only; another shop's import
is a 404 on the page and in the API."""

from __future__ import annotations

from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.imports import columns as C
from aftersales.imports.fixtures import ExportRow, bad, write_export
from aftersales.imports.models import ImportJob
from aftersales.shops.choices import Role
from aftersales.shops.services import create_api_key

NOW = "2026-11-25 10:00:00+08:00"


def row(n: int, **kw) -> ExportRow:
    return ExportRow(
        aftersale_id=f"73000000000000{n:05d}",
        order_id=f"69000000000000{n:05d}",
        item_id=f"69100000000000{n:05d}",
        **kw,
    )


def export_file(rows, name="售后单-2026-11-25 09_30_00.xlsx") -> SimpleUploadedFile:
    out = BytesIO()
    write_export(out, rows)
    return SimpleUploadedFile(name, out.getvalue())


@pytest.fixture
def sue(shop_a):
    return testing.make_user("sue", shop_a, Role.SUPERVISOR)


@pytest.fixture
def bea(shop_b):
    return testing.make_user("bea", shop_b, Role.ADMIN)


@time_machine.travel(NOW, tick=False)
def test_r13_3_upload_on_the_page_shows_the_summary_and_the_refused_rows(
    client, shop_a, sue, django_capture_on_commit_callbacks
):
    client.force_login(sue)
    page = client.get("/imports/")
    assert page.status_code == 200 and "后台导入" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/",
            {"shop": shop_a.pk, "file": export_file([row(1), bad(row(2), payable="abc")])},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert "新建 1 个售后单" in html and "1 行被拒收" in html
    assert C.PAYABLE in html and "不是有效金额" in html
    assert "hx-get" not in html  # finished: the page stops polling
    sheet = client.get(f"/imports/{job.pk}/errors.xlsx")
    assert sheet.status_code == 200
    lines = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert lines[1][:2] == (3, C.PAYABLE)
    english = client.get(f"/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 cases created" in english and "Not an amount in yuan" in english


def test_r13_3_a_running_import_polls_its_progress(client, shop_a, sue):
    job = ImportJob.objects.create(
        shop=shop_a,
        uploaded_by=sue,
        uploaded_by_label="sue",
        file_name="x.xlsx",
        status="running",
        total_rows=200,
        rows_done=50,
        created_at=__import__("django.utils.timezone").utils.timezone.now(),
    )
    client.force_login(sue)
    html = client.get(f"/imports/{job.pk}/status/", HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-get="/imports/{job.pk}/status/"' in html
    assert "50 / 200 (25%)" in html


def test_r13_3_a_wrong_file_is_refused_on_the_page_and_nothing_stored(client, shop_a, sue):
    client.force_login(sue)
    response = client.post(
        "/imports/", {"shop": shop_a.pk, "file": SimpleUploadedFile("a.csv", b"a,b")}
    )
    assert response.status_code == 400
    assert ".xlsx" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_r13_3_agents_and_auditors_do_not_import(client, shop_a, alice, audrey):
    for person in (alice, audrey):
        client.force_login(person)
        assert client.get("/imports/").status_code == 403
        assert "/imports/" not in client.get("/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_r13_3_another_shops_import_is_a_404(
    client, shop_a, sue, bea, django_capture_on_commit_callbacks
):
    client.force_login(sue)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/", {"shop": shop_a.pk, "file": export_file([row(1)])})
    job = ImportJob.objects.get()
    client.force_login(bea)
    for url in (
        f"/imports/{job.pk}/",
        f"/imports/{job.pk}/status/",
        f"/imports/{job.pk}/errors.xlsx",
    ):
        assert client.get(url).status_code == 404
    for url in (f"/api/v1/imports/{job.pk}", f"/api/v1/imports/{job.pk}/errors.xlsx"):
        assert client.get(url).status_code == 404
    assert client.get("/api/v1/imports").json()["items"] == []
    # Posting into another shop is a 404 too, and stores nothing.
    response = client.post("/imports/", {"shop": shop_a.pk, "file": export_file([row(2)])})
    assert response.status_code == 400  # not among bea's shops: the form refuses the choice
    response = client.post("/api/v1/imports", {"shop": shop_a.pk, "file": export_file([row(2)])})
    assert response.status_code == 404
    assert ImportJob.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_r13_3_the_api_uploads_with_a_key_and_reports(
    client, shop_a, django_capture_on_commit_callbacks
):
    _key, raw = create_api_key(shop=shop_a, name="erp", role=Role.ADMIN, by=testing.SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {"shop": shop_a.pk, "file": export_file([row(1), bad(row(2), status="?")])},
            HTTP_X_API_KEY=raw,
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    body = client.get(f"/api/v1/imports/{job_id}", HTTP_X_API_KEY=raw).json()
    assert body["status"] == "done" and body["created"] == 1 and body["refused"] == 1
    assert body["refused_rows"][0]["problems"][0]["column"] == C.STATUS
    assert Case.objects.filter(shop=shop_a).count() == 1
    sheet = client.get(f"/api/v1/imports/{job_id}/errors.xlsx", HTTP_X_API_KEY=raw)
    assert sheet.status_code == 200


def test_r13_3_the_api_refuses_a_bad_file_in_both_languages(client, shop_a, sue):
    client.force_login(sue)
    response = client.post(
        "/api/v1/imports", {"shop": shop_a.pk, "file": SimpleUploadedFile("x.xlsx", b"zz")}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message_zh"] != body["message_en"] and ".xlsx" in body["message_en"]
