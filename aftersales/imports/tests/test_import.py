"""The back-office import (R13.3): the platform's 售后单 export becomes orders and cases
through the normal services; the same file twice changes nothing; bad rows are reported row
by row and never stop the good ones; nothing half-imported is left."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from openpyxl import load_workbook

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus, CaseType, RefundStatus, ReturnStatus
from aftersales.cases.models import Case, RefundDecision
from aftersales.core.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.imports import columns as C
from aftersales.imports.fixtures import ExportRow, bad, realistic_rows, write_export
from aftersales.imports.models import ImportedAftersale, ImportJob, ImportStatus
from aftersales.imports.parsing import RowReader, yuan_to_fen
from aftersales.imports.services import error_sheet, request_import
from aftersales.orders.models import Order, OrderItem
from aftersales.shops.choices import Role

NOW = "2026-11-25 10:00:00+08:00"


def xlsx(rows) -> bytes:
    out = BytesIO()
    write_export(out, rows)
    return out.getvalue()


def upload(rows, name="售后单-2026-11-25 09_30_00.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx(rows))


@pytest.fixture
def admin_a(shop_a):
    return testing.make_user("adam", shop_a, Role.ADMIN)


def run(shop, rows, user) -> ImportJob:
    """Upload and import (the test's task backend runs the task at commit)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = request_import(shop=shop, upload=upload(rows), by=testing.actor(user))
    return ImportJob.objects.get(pk=job.pk)


def row(n: int, **kw) -> ExportRow:
    base = {
        "aftersale_id": f"73000000000000{n:05d}",
        "order_id": f"69000000000000{n:05d}",
        "item_id": f"69100000000000{n:05d}",
    }
    return ExportRow(**(base | kw))


# --- Reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        ("89.00", 8900),
        ("0.1", 10),
        ("19.99", 1999),
        (19.9, 1990),
        (0.07, 7),
        (100, 10000),
        ("1,299.50", 129950),
        ("-", None),
        ("", None),
        (None, None),
        ("\t12.30", 1230),
    ],
)
def test_r13_3_yuan_become_fen_exactly(cell, fen):
    assert yuan_to_fen(cell) == fen


@pytest.mark.parametrize("cell", ["1.234", "abc", "-5", "NaN", "Infinity", True])
def test_r13_3_what_is_not_an_amount_is_refused(cell):
    with pytest.raises(ValueError):
        yuan_to_fen(cell)


def test_r13_3_a_row_reads_ids_without_their_tab_and_chinese_values_mapped():
    r = ExportRow(
        aftersale_id="7300000000000000123",
        order_id="6900000000000000123",
        item_id="6910000000000000123",
        type="仅退款",
        ship_status="未发货",
        status="同意退款，退款成功",
        payable="59.90",
        refund_goods="59.90",
        reason="不想要了",
    )
    from aftersales.imports.parsing import Stage

    parsed = RowReader(C.HEADERS).parse(tuple(r.cells()))
    assert not isinstance(parsed, list)
    assert parsed.aftersale_id == "7300000000000000123"
    assert parsed.type == CaseType.REFUND_UNSHIPPED
    assert parsed.stage == Stage.DONE
    assert parsed.paid_fen == 5990 and parsed.refund_goods_fen == 5990
    assert parsed.refund_shipping_fen is None  # "-"
    assert parsed.reason == "changed_mind"
    assert str(parsed.applied_at) == "2026-11-20 10:15:30+08:00"


def test_r13_3_every_problem_of_a_row_names_its_column():
    r = bad(row(1), payable="12.345", type="价保", applied_at="昨天", order_id="")
    problems = RowReader(C.HEADERS).parse(tuple(r.cells()))
    assert isinstance(problems, list)
    assert {p.column for p in problems} == {C.PAYABLE, C.TYPE, C.APPLIED_AT, C.ORDER_ID}
    assert all(p.zh and p.en and p.zh != p.en for p in problems)


def test_r13_3_the_progress_knows_the_rows_of_a_file_without_a_dimension():
    """A file written in streaming (write-only) mode states no dimension: its rows are
    counted in the sheet's XML, so the page shows "4 / 12" and not only "4"."""
    from openpyxl import Workbook

    from aftersales.imports.reader import count_rows

    streamed = BytesIO(xlsx(row(n) for n in range(1, 13)))
    assert load_workbook(streamed, read_only=True).worksheets[0].max_row is None
    streamed.seek(0)
    assert count_rows(streamed) == 12
    book = Workbook()
    book.active.append(list(C.HEADERS))
    for n in range(1, 4):
        book.active.append(row(n).cells())
    stated = BytesIO()
    book.save(stated)
    stated.seek(0)
    assert count_rows(stated) == 3


# --- Importing -------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_r13_3_rows_become_orders_and_cases_through_the_services(shop_a, admin_a):
    rows = [
        row(1),  # 退货退款, 待商家处理
        row(
            2,
            type="仅退款",
            ship_status="未发货",
            status="同意退款，退款成功",
            payable="59.90",
            refund_goods="59.90",
        ),
        row(3, status="待商家收货", return_tracking="7531000000000003", return_carrier="中通快递"),
        row(4, status="售后关闭"),
    ]
    job = run(shop_a, rows, admin_a)
    assert job.status == ImportStatus.DONE
    assert (job.created, job.updated, job.unchanged, job.failed) == (4, 0, 0, 0)

    case1 = Case.objects.get(shop=shop_a, platform_case_id=row(1).aftersale_id)
    assert case1.type == CaseType.RETURN_REFUND
    assert case1.policy_decisions.exists()  # the policy decided it (intake)
    assert case1.clocks.exists()  # its clocks run
    assert case1.order.platform_order_id == row(1).order_id
    item = OrderItem.objects.get(platform_item_id=row(1).item_id)
    assert item.paid_amount_fen == 8900

    refunded = Case.objects.get(platform_case_id=row(2).aftersale_id)
    assert refunded.type == CaseType.REFUND_UNSHIPPED
    assert refunded.refund_status == RefundStatus.REFUNDED
    assert RefundDecision.objects.get(case=refunded).goods_amount_fen == 5990

    returning = Case.objects.get(platform_case_id=row(3).aftersale_id)
    assert returning.status == CaseStatus.AWAITING_RETURN
    assert returning.return_status == ReturnStatus.IN_TRANSIT
    assert returning.shipments.get().carrier == "zhongtong"

    closed = Case.objects.get(platform_case_id=row(4).aftersale_id)
    assert closed.status == CaseStatus.CLOSED
    assert verify_chain(shop_a.pk) is None
    done = AuditEvent.objects.get(shop=shop_a, type="backoffice_imported")
    assert done.payload["created"] == 4 and done.actor_user_id == admin_a.pk


@time_machine.travel(NOW, tick=False)
def test_r13_3_the_same_file_twice_changes_nothing(shop_a, admin_a):
    rows = list(realistic_rows(30, seed=3))
    first = run(shop_a, rows, admin_a)
    assert first.failed == 0, list(first.row_errors.values_list("problems", flat=True))
    events = AuditEvent.objects.filter(shop=shop_a).count()
    cases = Case.objects.filter(shop=shop_a).count()
    assert cases == 30

    again = run(shop_a, rows, admin_a)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 30, 0)
    assert Case.objects.filter(shop=shop_a).count() == cases
    # Only the import's own summary was added to the trail.
    assert AuditEvent.objects.filter(shop=shop_a).count() == events + 1


@time_machine.travel(NOW, tick=False)
def test_r13_3_an_overlapping_later_file_moves_only_what_moved(shop_a, admin_a):
    run(shop_a, [row(1), row(2)], admin_a)
    later = [
        row(2, status="待买家退货"),  # the merchant agreed in the back-office since
        row(3),  # a new after-sale
    ]
    job = run(shop_a, [row(1), *later], admin_a)
    assert (job.created, job.updated, job.unchanged) == (1, 1, 1)
    assert Case.objects.get(platform_case_id=row(2).aftersale_id).status == (
        CaseStatus.AWAITING_RETURN
    )
    # The later file again: nothing moves twice.
    job = run(shop_a, later, admin_a)
    assert (job.created, job.updated, job.unchanged) == (0, 0, 2)
    approvals = AuditEvent.objects.filter(
        shop=shop_a, case__platform_case_id=row(2).aftersale_id, type="case_approved"
    )
    assert approvals.count() == 1


@time_machine.travel(NOW, tick=False)
def test_r13_3_bad_rows_are_reported_and_the_good_ones_go_in(shop_a, admin_a):
    rows = [
        row(1),
        bad(row(2), payable="abc"),
        row(3),
        bad(row(4), status="神秘状态"),
        # A refund above what was paid: the services refuse it, the row leaves nothing.
        row(
            5,
            type="仅退款",
            status="同意退款，退款成功",
            payable="10.00",
            refund_goods="10.00",
            refund_shipping="8.00",
        ),
        row(6),
    ]
    job = run(shop_a, rows, admin_a)
    assert (job.created, job.failed) == (3, 3)
    errors = {e.row_number: e for e in job.row_errors.all()}
    assert sorted(errors) == [3, 5, 6]  # Excel's row numbers: the header is row 1
    assert errors[3].problems[0]["column"] == C.PAYABLE
    assert errors[5].problems[0]["column"] == C.STATUS
    assert errors[6].problems[0]["column"] == C.REFUND_SHIPPING
    # Nothing of the refused refund row is left: no order, no case, no key.
    assert not Order.objects.filter(platform_order_id=row(5).order_id).exists()
    assert not Case.objects.filter(platform_case_id=row(5).aftersale_id).exists()
    assert not ImportedAftersale.objects.filter(aftersale_id=row(5).aftersale_id).exists()
    assert verify_chain(shop_a.pk) is None

    sheet = load_workbook(BytesIO(error_sheet(job, language="zh-hans"))).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("行号", "列", "原因")
    assert [line[0] for line in lines[1:]] == [3, 5, 6]
    assert lines[1][1] == C.PAYABLE and lines[1][3] == row(2).aftersale_id
    english = load_workbook(BytesIO(error_sheet(job, language="en"))).active
    assert next(english.iter_rows(min_row=2, values_only=True))[2].startswith("Not an amount")


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_fixed_row_goes_in_on_the_next_upload(shop_a, admin_a):
    run(shop_a, [bad(row(1), payable="abc")], admin_a)
    job = run(shop_a, [row(1)], admin_a)
    assert job.created == 1


def test_r13_3_the_upload_is_refused_whole_without_the_exports_columns(shop_a, admin_a):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["订单号", "金额"])
    out = BytesIO()
    book.save(out)
    with pytest.raises(InvalidInput) as refused:
        request_import(
            shop=shop_a,
            upload=SimpleUploadedFile("x.xlsx", out.getvalue()),
            by=testing.actor(admin_a),
        )
    assert "售后单号" in refused.value.render("zh-hans")
    with pytest.raises(InvalidInput):
        request_import(
            shop=shop_a,
            upload=SimpleUploadedFile("x.xlsx", b"not a zip at all"),
            by=testing.actor(admin_a),
        )
    assert not ImportJob.objects.exists()


def test_r13_3_only_a_supervisor_or_admin_of_the_shop_imports(shop_a, shop_b, alice, carol):
    with pytest.raises(PermissionDenied):
        request_import(shop=shop_a, upload=upload([row(1)]), by=testing.actor(alice))
    with pytest.raises(NotFound):
        request_import(shop=shop_a, upload=upload([row(1)]), by=testing.actor(carol))
    assert not ImportJob.objects.exists()


def test_r13_3_amounts_from_decimal_cells_are_exact():
    # The generator writes yuan as text; a shop re-saving the file in Excel may get numbers.
    r = row(1, payable=Decimal("0.30"), refund_goods="0.30")
    cells = r.cells()
    cells[C.HEADERS.index(C.PAYABLE)] = 0.1 + 0.2  # 0.30000000000000004
    parsed = RowReader(C.HEADERS).parse(tuple(cells))
    assert isinstance(parsed, list) and parsed[0].column == C.PAYABLE
    cells[C.HEADERS.index(C.PAYABLE)] = 0.3
    assert RowReader(C.HEADERS).parse(tuple(cells)).paid_fen == 30


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_surprise_in_one_row_does_not_stop_the_others(shop_a, admin_a, monkeypatch):
    from aftersales.imports import services

    real = services.apply_row

    def flaky(*, job, row, known, by):
        if row.aftersale_id.endswith("02"):
            raise RuntimeError("boom")
        return real(job=job, row=row, known=known, by=by)

    monkeypatch.setattr(services, "apply_row", flaky)
    job = run(shop_a, [row(1), row(2), row(3)], admin_a)
    assert (job.status, job.created, job.failed) == (ImportStatus.DONE, 2, 1)
    assert job.row_errors.get().problems[0]["en"] == "This row could not be imported."


# --- Exchanges and resends beyond the first parcel --------------------------------------------


def _to_buyer(case):
    return list(
        case.shipments.filter(kind__in=("exchange", "resend", "repair"))
        .order_by("created_at", "pk")
        .values_list("kind", "tracking_number", "carrier")
    )


@time_machine.travel(NOW, tick=False)
def test_r13_3_an_exchange_follows_the_replacement_parcel_of_the_export(shop_a, admin_a):
    returned = {"return_tracking": "7531000000000011", "return_carrier": "中通快递"}
    exchange = {"type": "换货", "refund_goods": "-", "refund_method": "无需退款"}
    run(shop_a, [row(11, status="待商家收货", **exchange, **returned)], admin_a)
    case = Case.objects.get(platform_case_id=row(11).aftersale_id)
    assert case.status == CaseStatus.AWAITING_RETURN and _to_buyer(case) == []

    # The merchant received the goods and shipped the replacement in the back-office.
    shipped = row(
        11,
        status="换货待买家收货",
        exchange_tracking="\tSF1400000000011",
        **exchange,
        **returned,
    )
    job = run(shop_a, [shipped], admin_a)
    assert (job.updated, job.failed) == (1, 0)
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYER_RECEIPT
    assert _to_buyer(case) == [("exchange", "SF1400000000011", "unknown")]  # no carrier column
    check = case.quality_checks.get()  # R4.3: the back-office's shipment, said as such
    assert check.passed and "抖店后台" in check.notes

    # The same file again, and a later one with the same number: nothing twice.
    assert run(shop_a, [shipped], admin_a).unchanged == 1
    done = bad(shipped, status="换货成功")
    job = run(shop_a, [done], admin_a)
    assert job.updated == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert len(_to_buyer(case)) == 1
    assert AuditEvent.objects.filter(case=case, type="replacement_shipped").count() == 1
    assert verify_chain(shop_a.pk) is None


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_resend_in_one_file_goes_to_the_buyers_receipt(shop_a, admin_a):
    resend = {"type": "补寄", "refund_goods": "-"}
    rows = [
        row(21, status="补寄待买家收货", exchange_tracking="YT88021", **resend),
        row(22, status="补寄成功", exchange_tracking="YT88022", **resend),
        # Agreed, not shipped yet: no parcel; shipped without a number: none invented.
        row(23, status="待商家发货", **resend),
        row(24, status="补寄待买家收货", **resend),
    ]
    job = run(shop_a, rows, admin_a)
    assert (job.created, job.failed) == (4, 0)
    cases = {n: Case.objects.get(platform_case_id=row(n).aftersale_id) for n in (21, 22, 23, 24)}
    assert cases[21].status == CaseStatus.AWAITING_BUYER_RECEIPT
    assert _to_buyer(cases[21]) == [("resend", "YT88021", "unknown")]
    assert cases[22].status == CaseStatus.COMPLETED
    assert _to_buyer(cases[22]) == [("resend", "YT88022", "unknown")]
    assert cases[22].shipments.get(kind="resend").status == "delivered"
    for n in (23, 24):
        assert cases[n].status == CaseStatus.AWAITING_SHIPMENT and _to_buyer(cases[n]) == []


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_new_resend_number_in_a_later_file_is_a_second_parcel_once(shop_a, admin_a):
    first = row(31, type="补寄", refund_goods="-", status="补寄待买家收货", exchange_tracking="A1")
    run(shop_a, [first], admin_a)
    again = bad(first, exchange_tracking="A2")  # lost, sent again in the back-office
    job = run(shop_a, [again], admin_a)
    assert job.updated == 1
    case = Case.objects.get(platform_case_id=first.aftersale_id)
    assert [n for _k, n, _c in _to_buyer(case)] == ["A1", "A2"]
    event = AuditEvent.objects.get(case=case, type="buyer_parcel_reshipped")
    assert event.payload["previous_tracking_number"] == "A1"
    assert run(shop_a, [again], admin_a).unchanged == 1
    job = run(shop_a, [bad(again, status="补寄成功")], admin_a)
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED and len(_to_buyer(case)) == 2
    assert case.shipments.get(tracking_number="A2").status == "delivered"


def test_r13_3_the_parcel_to_the_buyer_is_read_under_the_names_exports_use():
    header = (*C.HEADERS, "换货物流公司")
    cells = (*row(1, exchange_tracking="SF1").cells(), "顺丰速运")
    parsed = RowReader(header).parse(cells)
    assert (parsed.exchange_tracking, parsed.exchange_carrier) == ("SF1", "顺丰速运")
    renamed = tuple("补寄物流单号" if h == C.EXCHANGE_TRACKING else h for h in C.HEADERS)
    parsed = RowReader(renamed).parse(tuple(row(1, exchange_tracking="\tYT9").cells()))
    assert parsed.exchange_tracking == "YT9" and parsed.exchange_carrier == ""


@time_machine.travel(NOW, tick=False)
def test_r13_3_rows_grouped_in_one_transaction_still_leave_nothing_of_a_refused_row(
    shop_a, admin_a, monkeypatch
):
    from aftersales.imports import services

    monkeypatch.setattr(services, "ROWS_PER_TRANSACTION", 3)
    over = {"type": "仅退款", "status": "同意退款，退款成功", "payable": "10.00"}
    rows = [row(1), row(2, refund_goods="10.00", refund_shipping="8.00", **over), row(3), row(4)]
    job = run(shop_a, rows, admin_a)
    assert (job.created, job.failed) == (3, 1)
    assert job.row_errors.get().problems[0]["column"] == C.REFUND_SHIPPING
    assert not Order.objects.filter(platform_order_id=row(2).order_id).exists()
    assert not ImportedAftersale.objects.filter(aftersale_id=row(2).aftersale_id).exists()
    assert Case.objects.filter(shop=shop_a).count() == 3
    assert verify_chain(shop_a.pk) is None
