"""R8.7, R6.5 Excel exports of the platform-metric, improvement and satisfaction pages, and
the export API (start, poll, download): the xlsx opened and its cells read; every export on
the audit trail; another shop's person gets a 404."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

from openpyxl import load_workbook

from aftersales import testing
from aftersales.analytics.models import Export, ExportStatus
from aftersales.analytics.services import add_good_case, record_improvement
from aftersales.audit.models import AuditEvent
from aftersales.cases.models import Case

from .support import at, client_for, sh
from .test_exports import WEEK, export_through_the_page, rows_of, workbook_of


def test_r8_7_the_platform_metrics_export_cells(
    shop_world, alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    page = client.get("/analytics/platform/", WEEK)
    assert 'value="platform"' in page.content.decode()  # the page offers the export
    export = export_through_the_page(client, django_capture_on_commit_callbacks, kind="platform")
    assert export.status == ExportStatus.DONE, export.error
    book = workbook_of(client, export)
    assert book.sheetnames[:3] == ["平台服务指标", "按周趋势", "影响最大的售后单和客服"]
    rows = rows_of(book["平台服务指标"])
    assert rows[0][:7] == [
        "指标",
        "口径版本",
        "生效日期",
        "失效日期",
        "开始日期",
        "结束日期",
        "数值",
    ]
    body = rows[1:]
    assert {row[0] for row in body} >= {"平台求助率", "品退率"}
    # Days are real dates; the week's parts lie inside the week.
    assert all(row[4] >= datetime(2026, 5, 1) and row[5] <= datetime(2026, 5, 7) for row in body)
    quality = next(row for row in body if row[0] == "品退率")
    # 4 orders paid, one refunded for a quality reason? c1 was "size": none in the week.
    assert quality[9] == 4 and quality[6] == 0
    event = AuditEvent.objects.get(type="report_exported")
    assert event.payload["kind"] == "platform" and event.payload["filter"]["last"] == "2026-05-07"


def test_r8_7_the_improvements_export_cells(
    shop_world, alice, carol, django_capture_on_commit_callbacks
):
    dress = shop_world["dress"].product
    with at(sh(2026, 5, 8, 9)):
        record_improvement(
            product_id=dress.pk,
            kind="size_chart",
            description="尺码表改为按胸围",
            changed_on=date(2026, 5, 2),
            by=testing.actor(alice),
        )
    client = client_for(alice)
    export = export_through_the_page(
        client, django_capture_on_commit_callbacks, kind="improvements"
    )
    rows = rows_of(workbook_of(client, export)["改进追踪"])
    assert rows[0][:4] == ["商品", "改进类型", "改了什么", "改进日期"]
    (row,) = rows[1:]
    assert row[:4] == ["连衣裙", "新尺码表", "尺码表改为按胸围", datetime(2026, 5, 2)]
    assert row[-1].startswith("订单还不够")  # the honest sentence, in Chinese
    assert client_for(carol).get(f"/analytics/exports/{export.pk}/download/").status_code == 404


def test_r8_7_the_satisfaction_export_cells(
    shop_world, shop_a, alice, django_capture_on_commit_callbacks
):
    case = Case.objects.filter(shop=shop_a).order_by("pk").first()
    with at(sh(2026, 5, 6, 10)):
        add_good_case(case=case, note="一小时内解决，买家致谢", by=testing.actor(alice))
    client = client_for(alice)
    export = export_through_the_page(
        client, django_capture_on_commit_callbacks, kind="satisfaction"
    )
    book = workbook_of(client, export)
    assert rows_of(book["客服满意度"])[0] == ["客服", "已回答", "4–5 分", "满意度", "平均分"]
    library = rows_of(book["优秀案例库"])
    assert library[1] == [case.pk, "一小时内解决，买家致谢", "alice", datetime(2026, 5, 6, 10)]


def test_r8_7_the_export_api_starts_polls_and_downloads(
    shop_world, shop_a, alice, carol, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with at(sh(2026, 5, 9, 12)), django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/v1/analytics/exports",
            {**WEEK, "kind": "products"},
            content_type="application/json",
        )
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["kind"] == "products" and body["filter"]["first"] == "2026-05-01"
    polled = client.get(body["poll"]).json()
    assert polled["status"] == "done" and polled["rows_written"] == 3
    download = client.get(polled["download"])
    assert download.status_code == 200
    book = load_workbook(BytesIO(b"".join(download.streaming_content)))
    assert rows_of(book["问题商品"])[0][:3] == ["商品", "类目", "订单"]
    assert AuditEvent.objects.filter(type="report_exported", shop=shop_a).count() == 1

    # Another shop's person: a 404 for the poll and the file, like a missing export.
    other = client_for(carol)
    assert other.get(body["poll"]).status_code == 404
    assert other.get(f"{body['poll']}/download").status_code == 404
    # Another shop as the filter: 404; a bad kind: refused, nothing written.
    foreign = client.post(
        "/api/v1/analytics/exports",
        {**WEEK, "kind": "costs", "shop": carol.memberships.first().shop_id},
        content_type="application/json",
    )
    assert foreign.status_code == 404
    bad = client.post(
        "/api/v1/analytics/exports", {**WEEK, "kind": "passwords"}, content_type="application/json"
    )
    assert bad.status_code in (400, 422)
    assert Export.objects.count() == 1


def test_r8_7_an_unfinished_export_is_not_downloaded(shop_world, alice):
    client = client_for(alice)
    with at(sh(2026, 5, 9, 12)):  # no on-commit run: the export stays waiting
        body = client.post(
            "/api/v1/analytics/exports",
            {**WEEK, "kind": "overview"},
            content_type="application/json",
        ).json()
    assert client.get(body["poll"]).json()["status"] == "pending"
    response = client.get(f"{body['poll']}/download")
    assert response.status_code == 409
