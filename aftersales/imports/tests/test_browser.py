"""R13.3 in a real browser (Debian's Chromium, `testing.chromium()`), in Chinese: a supervisor
uploads the back-office export on /imports/, watches the import's progress on its page (htmx
polls it while the worker runs) and reads the result: the summary, the refused row with its
column and reason, and the error sheet to download. Screenshots go to
docs/screenshots/import-upload.png, import-progress.png and import-result.png. Skipped
without Chromium."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.imports import services
from aftersales.imports.fixtures import ExportRow, bad, write_export
from aftersales.imports.models import ImportJob, ImportStatus
from aftersales.shops.choices import Role

SCREENSHOTS = testing.SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not testing.has_chromium(), reason="needs Debian's Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser():
    with testing.chromium() as browser:
        yield browser


def row(n: int, **kw) -> ExportRow:
    return ExportRow(
        aftersale_id=f"73000000000000{n:05d}",
        order_id=f"69000000000000{n:05d}",
        item_id=f"69100000000000{n:05d}",
        **kw,
    )


def test_r13_3_upload_the_export_watch_the_progress_and_read_the_result_in_chinese(
    browser, live_server, shop_a, monkeypatch, tmp_path
):
    testing.make_user("sue", shop_a, Role.SUPERVISOR)
    rows = [row(n) for n in range(1, 12)]
    rows.insert(5, bad(row(99), payable="八十九"))  # Excel row 7: not an amount
    export = tmp_path / "售后单-2026-11-25 09_30_00.xlsx"
    write_export(export, rows)
    # The worker is this test: the upload only queues the job, so its page shows it waiting,
    # then running a batch at a time (4 rows a batch here, 500 in production).
    queued: list[int] = []
    monkeypatch.setattr(services, "_enqueue", queued.append)
    monkeypatch.setattr(services, "BATCH", 4)

    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "sue")
    page.fill("#id_password", "pw-sue")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))

    page.goto(live_server.url + "/imports/")
    assert page.locator("h1").inner_text() == "后台导入"
    page.set_input_files("#id_file", str(export))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-upload.png"), full_page=True)
    page.click("[data-import-form] button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    status = page.locator("#import-status")
    assert status.get_attribute("data-status") == ImportStatus.PENDING
    assert "排队中：0" in status.inner_text()
    job = ImportJob.objects.get(pk=queued[0])
    assert job.file_name == export.name

    seen: list[str] = []

    def shown(job: ImportJob) -> None:
        """After each batch: the page, polling, shows how far the import got."""
        done = ImportJob.objects.get(pk=job.pk).rows_done
        if seen:
            return
        page.wait_for_function(
            "done => document.querySelector('#import-status').innerText.includes(done + ' / 12')",
            arg=done,
        )
        seen.append(status.inner_text())
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "import-progress.png"))

    services.run_import(job=job, progress=shown)
    assert seen and "导入中" in seen[0] and "4 / 12" in seen[0]

    page.wait_for_selector("#import-status[data-status=done]")
    summary = page.locator("[data-summary]").inner_text()
    assert "读取 12 行" in summary and "新建 11 个售后单" in summary, summary
    assert "1 行被拒收" in summary, summary
    refused = page.locator("[data-errors] tbody tr")
    assert refused.count() == 1
    cells = refused.first.locator("td").all_inner_texts()
    assert cells[0] == "7" and cells[2] == "应付金额（元）" and "不是有效金额" in cells[3]
    page.screenshot(path=str(SCREENSHOTS / "import-result.png"), full_page=True)

    with page.expect_download() as download:
        page.click("[data-download]")
    sheet = BytesIO(Path(download.value.path()).read_bytes())
    assert download.value.suggested_filename == "售后单-2026-11-25 09_30_00-错误行.xlsx"
    lines = list(load_workbook(sheet, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert lines[0][:3] == ("行号", "列", "原因") and lines[1][:2] == (7, "应付金额（元）")
    assert Case.objects.filter(shop=shop_a).count() == 11
    context.close()
