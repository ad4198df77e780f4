"""R8.7, R6.5 Excel exports of the overview and of the case list, on the fixed week of
conftest.py: written in the background, opened here with openpyxl and read cell by cell;
personal data masked unless the role may see it; every export on the audit trail; no shop
sees another's exports or rows."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from aftersales import testing
from aftersales.analytics.models import Export, ExportStatus
from aftersales.analytics.services import run_export
from aftersales.audit.models import AuditEvent
from aftersales.shops.choices import Role

from .support import at, client_for, sh

WEEK = {"period": "custom", "start": "2026-05-01", "end": "2026-05-07"}


def export_through_the_page(client, django_capture_on_commit_callbacks, **params):
    with at(sh(2026, 5, 9, 12)), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/analytics/exports/", {**WEEK, **params})
    assert response.status_code == 302, response.content
    return Export.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def workbook_of(client, export):
    response = client.get(f"/analytics/exports/{export.pk}/download/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return load_workbook(BytesIO(b"".join(response.streaming_content)))


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_r8_7_the_case_list_export_cells(shop_world, alice, django_capture_on_commit_callbacks):
    client = client_for(alice)
    export = export_through_the_page(client, django_capture_on_commit_callbacks, kind="cases")
    assert export.status == ExportStatus.DONE
    assert (export.total_rows, export.rows_written) == (3, 3)
    book = workbook_of(client, export)
    rows = rows_of(book["售后单"])
    header, body = rows[0], rows[1:]
    assert header[:6] == ["售后单ID", "平台售后单号", "店铺", "订单号", "售后类型", "原因"]
    assert len(body) == 3
    column = {name: i for i, name in enumerate(header)}
    first = body[0]
    # Shanghai wall-clock time, as a real Excel date-time.
    assert first[column["申请时间"]] == datetime(2026, 5, 3, 9, 0)
    assert first[column["原因"]] == "尺码或版型不合适"
    assert first[column["责任方"]] == "买家"
    # Yuan as numbers, not text.
    assert first[column["退款金额（元）"]] == 100
    assert isinstance(first[column["申请金额（元）"]], int | float)
    assert first[column["客服"]] == "alice"
    assert first[column["物流公司"]] == "顺丰"
    # alice is an agent: the buyer's contact data is masked.
    assert first[column["买家手机"]] == "138****5678"
    assert first[column["收货人"]] == "张**"
    assert "文三路" not in first[column["收货地址"]]
    # The audit trail says who exported what, with which filter, how many rows.
    event = AuditEvent.objects.get(type="report_exported")
    assert event.shop_id == shop_world["dress"].shop_id and event.actor_user_id == alice.pk
    assert event.payload["rows"] == 3 and event.payload["kind"] == "cases"
    assert event.payload["filter"]["first"] == "2026-05-01"
    assert event.payload["personal_data"] == "masked"


def test_r6_5_a_supervisor_exports_contact_data_in_clear_and_it_is_recorded(
    shop_world, shop_a, django_capture_on_commit_callbacks
):
    sue = testing.make_user("sue", shop_a, Role.SUPERVISOR)
    client = client_for(sue)
    export = export_through_the_page(client, django_capture_on_commit_callbacks, kind="cases")
    rows = rows_of(workbook_of(client, export)["售后单"])
    column = {name: i for i, name in enumerate(rows[0])}
    assert rows[1][column["买家手机"]] == "13812345678"
    assert rows[1][column["收货地址"]] == "浙江省杭州市西湖区文三路100号"
    event = AuditEvent.objects.get(type="report_exported")
    assert event.payload["personal_data"] == "clear"


def test_r8_7_the_overview_export_cells(shop_world, alice, django_capture_on_commit_callbacks):
    client = client_for(alice)
    export = export_through_the_page(
        client, django_capture_on_commit_callbacks, kind="overview", by="product"
    )
    book = workbook_of(client, export)
    assert book.sheetnames[:2] == ["概览", "按日趋势"]
    summary = {row[0]: row for row in rows_of(book["概览"])}
    assert summary["售后率"][1] == 0.75
    assert summary["订单"][1] == 4 and summary["订单"][2] == 1
    assert summary["退款金额"][1] == 100
    days = rows_of(book["按日趋势"])
    assert len(days) == 1 + 7
    assert days[7][1] == 1  # 7 May: the 23:30 Shanghai order
    by_product = {row[0]: row for row in rows_of(book["按商品"])[1:]}
    assert by_product["连衣裙"][1:3] == [2, 1]


def test_r8_7_exports_are_tenant_isolated(
    shop_world, shop_a, alice, carol, django_capture_on_commit_callbacks
):
    alices = export_through_the_page(
        client_for(alice), django_capture_on_commit_callbacks, kind="cases"
    )
    carol_client = client_for(carol)
    for path in ("", "status/", "download/"):
        assert carol_client.get(f"/analytics/exports/{alices.pk}/{path}").status_code == 404
    # Carol's own export has her shop's seven cases and nothing of shop A.
    hers = export_through_the_page(carol_client, django_capture_on_commit_callbacks, kind="cases")
    rows = rows_of(workbook_of(carol_client, hers)["售后单"])
    assert len(rows) == 1 + 7
    assert {row[2] for row in rows[1:]} == {"B店·数码专营店"}
    # Asking for shop A is refused and writes nothing.
    refused = carol_client.post("/analytics/exports/", {**WEEK, "kind": "cases", "shop": shop_a.pk})
    assert refused.status_code == 400
    assert Export.objects.filter(requested_by=carol).count() == 1


def test_r8_7_an_export_runs_once_and_shows_its_progress(
    shop_world, alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    export = export_through_the_page(client, django_capture_on_commit_callbacks, kind="cases")
    assert run_export(export=export).status == ExportStatus.DONE
    assert AuditEvent.objects.filter(type="report_exported").count() == 1
    status = client.get(f"/analytics/exports/{export.pk}/status/")
    assert 'data-status="done"' in status.content.decode()
    assert "hx-trigger" not in status.content.decode()


def test_r8_7_a_waiting_export_is_polled(shop_world, alice):
    """Before the worker gets to it, the status fragment polls and shows its progress."""
    export = Export.objects.create(
        requested_by=alice,
        kind="cases",
        shop_ids=[shop_world["dress"].shop_id],
        filters={"first": "2026-05-01", "last": "2026-05-07"},
        total_rows=10,
        rows_written=4,
        status=ExportStatus.RUNNING,
        created_at=sh(2026, 5, 9, 12),
    )
    html = client_for(alice).get(f"/analytics/exports/{export.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "40%" in html
    assert client_for(alice).get(f"/analytics/exports/{export.pk}/download/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_r8_7_the_export_task_runs_after_commit(shop_a, alice):
    """Outside a test transaction: the page's request commits, the task then writes the file."""
    from .support import open_case, order, product

    placed = order(shop_a, product(shop_a), sh(2026, 5, 2, 10))
    open_case(placed, sh(2026, 5, 3, 9))
    client = client_for(alice)
    with at(sh(2026, 5, 9, 12)):
        response = client.post("/analytics/exports/", {**WEEK, "kind": "cases"})
    export = Export.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert export.status == ExportStatus.DONE and export.total_rows == 1


def test_r8_7_the_problem_products_and_costs_exports(
    shop_world, shop_a, alice, carol, django_capture_on_commit_callbacks
):
    from aftersales.cases import services as case_services
    from aftersales.cases.models import Case

    with at(sh(2026, 5, 6, 10)):
        case_services.add_cost(
            case=Case.objects.filter(shop=shop_a).order_by("pk").first(),
            kind="return_shipping",
            amount_fen=1200,
            payer="merchant",
            by=testing.SYSTEM,
        )
    client = client_for(alice)
    products = export_through_the_page(client, django_capture_on_commit_callbacks, kind="products")
    rows = rows_of(workbook_of(client, products)["问题商品"])
    assert rows[0][:3] == ["商品", "类目", "订单"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"连衣裙", "蓝牙耳机", "马克杯"}
    assert by_name["马克杯"][2:5] == [1, 1, 1]  # one order, with a case: 100 %, not flagged
    assert by_name["马克杯"][9] == "否"
    costs = export_through_the_page(client, django_capture_on_commit_callbacks, kind="costs")
    book = workbook_of(client, costs)
    kinds = rows_of(book["按类型"])
    assert kinds[1][:3] == ["退货运费", 1, 12]
    assert "按物流公司" in book.sheetnames and "各快递公司的运输破损率" in book.sheetnames
    assert client_for(carol).get(f"/analytics/exports/{costs.pk}/download/").status_code == 404
