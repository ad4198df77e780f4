"""The Excel files (R8.7): openpyxl in write-only mode, so a 100,000-row case list streams to
disk row by row in constant memory, never held whole.

What merchants expect from an export, as the platform's own 售后单 export does it: Chinese
headers whatever the screen's language, yuan amounts as numbers (not text) with two
decimals, times on the Shanghai clock, ids as text so Excel does not round them. Buyers'
contact data is masked unless the requester's role may see it in that shop (R6.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from aftersales.cases.choices import (
    CaseStatus,
    CaseType,
    CostPayer,
    DisputeStatus,
    RefundStatus,
    ResponsibleParty,
    ReturnStatus,
)
from aftersales.cases.models import Case
from aftersales.cases.reasons import REASONS
from aftersales.core.privacy import mask_address, mask_name, mask_phone
from aftersales.orders.choices import ShipmentKind
from aftersales.workdays.calendar import SHANGHAI

from .definitions import FIGURES
from .overview import DIMENSIONS, Overview

YUAN = "0.00"
TIME = "yyyy-mm-dd hh:mm:ss"
PERCENT = "0.00%"
CHUNK = 2000  # cases read per query while streaming


def yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def shanghai(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: the Shanghai wall-clock time, as the shop reads it."""
    return None if moment is None else moment.astimezone(SHANGHAI).replace(tzinfo=None)


class Sheet:
    """A write-only sheet with a bold header row and typed cells."""

    def __init__(self, book: Workbook, title: Promise | str, headers: Iterable[Promise | str]):
        self.ws: WriteOnlyWorksheet = book.create_sheet(str(title))
        bold = Font(bold=True)
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(self.ws, value=str(header))
            cell.font = bold
            header_cells.append(cell)
        self.ws.append(header_cells)

    def row(self, *values: Any, formats: dict[int, str] | None = None) -> None:
        cells = []
        for index, value in enumerate(values):
            cell = WriteOnlyCell(self.ws, value=value)
            if formats and index in formats:
                cell.number_format = formats[index]
            elif isinstance(value, Decimal):
                cell.number_format = YUAN
            elif isinstance(value, datetime):
                cell.number_format = TIME
            cells.append(cell)
        self.ws.append(cells)


def new_book() -> Workbook:
    return Workbook(write_only=True)


# --- The case list ---------------------------------------------------------------------------

CASE_HEADERS = [
    _("Case id"),
    _("Platform case id"),
    _("Shop"),
    _("Order id"),
    _("Case type"),
    _("Reason"),
    _("Responsible"),
    _("Case status"),
    _("Refund status"),
    _("Return status"),
    _("Dispute status"),
    _("Applied at"),
    _("Resolved at"),
    _("Requested (yuan)"),
    _("Refunded (yuan)"),
    _("Products"),
    _("Quantity"),
    _("Buyer nickname"),
    _("Buyer phone"),
    _("Receiver's name"),
    _("Receiver's phone"),
    _("Receiver's address"),
    _("Agent"),
    _("Carrier"),
]


def case_rows(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The cases with what each row reads, in a fixed order, fetched a chunk at a time."""
    return (
        cases.select_related("shop", "order", "order__buyer", "assignee", "refund_decision")
        .prefetch_related("items__order_item__sku__product", "order__shipments")
        .order_by("applied_at", "pk")
    )


def write_cases(
    book: Workbook,
    cases: QuerySet[Case],
    *,
    clear_shop_ids: set[int],
    progress: Callable[[int], object] = lambda rows: None,
) -> int:
    """The case list sheet; returns the rows written. `progress` is told every chunk."""
    with translation.override("zh-hans"):
        sheet = Sheet(book, _("Cases"), CASE_HEADERS)
        written = 0
        for case in case_rows(cases).iterator(chunk_size=CHUNK):
            sheet.row(*case_row(case, clear=case.shop_id in clear_shop_ids))
            written += 1
            if written % CHUNK == 0:
                progress(written)
        progress(written)
    return written


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def case_row(case: Case, *, clear: bool) -> list[Any]:
    order = case.order
    buyer = order.buyer
    items = list(case.items.all())
    decision = getattr(case, "refund_decision", None)
    carriers = sorted({s.carrier for s in order.shipments.all() if s.kind == ShipmentKind.OUTBOUND})
    reason = REASONS.get(case.reason)
    return [
        case.pk,
        case.platform_case_id or "",
        case.shop.name,
        order.platform_order_id,
        _label(CaseType, case.type),
        str(reason.label) if reason else case.reason,
        _label(ResponsibleParty, reason.responsible) if reason else "",
        _label(CaseStatus, case.status),
        _label(RefundStatus, case.refund_status),
        _label(ReturnStatus, case.return_status),
        _label(DisputeStatus, case.dispute_status),
        shanghai(case.applied_at),
        shanghai(case.resolved_at),
        yuan(case.requested_amount_fen),
        yuan(decision.total_fen) if decision else None,
        "；".join(str(item.order_item.sku) for item in items),
        sum(item.quantity for item in items),
        buyer.nickname,
        buyer.phone if clear else mask_phone(buyer.phone),
        order.receiver_name if clear else mask_name(order.receiver_name),
        order.receiver_phone if clear else mask_phone(order.receiver_phone),
        order.receiver_address if clear else mask_address(order.receiver_address),
        case.assignee.get_username() if case.assignee else "",
        "、".join(carriers),
    ]


# --- The overview ----------------------------------------------------------------------------


def write_overview(book: Workbook, ov: Overview) -> int:
    """The overview's figures, one sheet per table of the page; returns the rows written."""
    rows = 0
    with translation.override("zh-hans"):
        summary = Sheet(
            book,
            _("Overview"),
            [_("Figure"), _("This period"), _("Period before"), _("Definition")],
        )
        period = f"{ov.period.first:%Y-%m-%d} — {ov.period.last:%Y-%m-%d}"
        summary.row(str(_("Period")), period, "", str(_("Asia/Shanghai days")))
        before = ov.previous
        for key, value, previous, fmt in (
            ("orders", ov.totals.orders, before and before.orders, None),
            ("cases", ov.totals.cases, before and before.cases, None),
            (
                "after_sales_rate",
                ov.totals.after_sales_rate,
                before and before.after_sales_rate,
                PERCENT,
            ),
            ("refund_rate", ov.totals.refund_rate, before and before.refund_rate, PERCENT),
            (
                "refund_amount_rate",
                ov.totals.refund_amount_rate,
                before and before.refund_amount_rate,
                PERCENT,
            ),
            (
                "refunded_fen",
                yuan(ov.totals.refunded_fen),
                before and yuan(before.refunded_fen),
                YUAN,
            ),
            ("paid_fen", yuan(ov.totals.paid_fen), before and yuan(before.paid_fen), YUAN),
        ):
            figure = FIGURES[key]
            formats = {1: fmt, 2: fmt} if fmt else None
            summary.row(str(figure.label), value, previous, str(figure.definition), formats=formats)
            rows += 1

        days = Sheet(
            book,
            _("By day"),
            [
                _("Day"),
                FIGURES["orders"].label,
                FIGURES["cases"].label,
                FIGURES["after_sales_rate"].label,
                _("Refunded orders"),
                FIGURES["refund_rate"].label,
                _("Refunded (yuan)"),
                _("Paid (yuan)"),
            ],
        )
        for day in ov.days:
            days.row(
                day.day,
                day.orders,
                day.cases,
                day.after_sales_rate,
                day.refunded_orders,
                day.refund_rate,
                yuan(day.refunded_fen),
                yuan(day.paid_fen),
                formats={0: "yyyy-mm-dd", 3: PERCENT, 5: PERCENT},
            )
            rows += 1

        reasons = Sheet(
            book, FIGURES["reasons"].label, [_("Reason"), _("Responsible"), _("Cases"), _("Share")]
        )
        for reason in ov.reasons:
            reasons.row(
                reason.label,
                reason.responsible_label,
                reason.cases,
                reason.share,
                formats={3: PERCENT},
            )
            rows += 1

        times = Sheet(
            book,
            _("Processing times"),
            [_("Time"), _("Cases measured"), _("Median (hours)"), _("90th percentile (hours)")],
        )
        for time in ov.times:
            times.row(
                str(FIGURES[time.key].label),
                time.count,
                _hours(time.median),
                _hours(time.p90),
                formats={2: "0.00", 3: "0.00"},
            )
            rows += 1

        sla = Sheet(
            book, FIGURES["sla"].label, [_("Clock"), _("Clocks"), _("Met"), _("Compliance")]
        )
        for clock in ov.sla:
            sla.row(clock.label, clock.total, clock.met, clock.rate, formats={3: PERCENT})
            rows += 1

        if ov.by:
            dimension = DIMENSIONS[ov.by]
            table = Sheet(
                book,
                _("By %(dimension)s") % {"dimension": dimension.label},
                [
                    dimension.label,
                    FIGURES["orders"].label,
                    FIGURES["cases"].label,
                    FIGURES["after_sales_rate"].label,
                    _("Refunded orders"),
                    FIGURES["refund_rate"].label,
                    _("Refunded (yuan)"),
                    FIGURES["refund_amount_rate"].label,
                ],
            )
            for row in ov.breakdown:
                table.row(
                    row.label,
                    row.orders,
                    row.cases,
                    row.after_sales_rate,
                    row.refunded_orders,
                    row.refund_rate,
                    yuan(row.refunded_fen),
                    row.refund_amount_rate,
                    formats={3: PERCENT, 5: PERCENT, 7: PERCENT},
                )
                rows += 1
    return rows


def _hours(value: Any) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


# --- Problem products and costs ------------------------------------------------------------------


def write_products(book: Workbook, findings: list[Any]) -> int:
    """The problem products, flagged first, with the numbers behind each verdict."""
    with translation.override("zh-hans"):
        sheet = Sheet(
            book,
            _("Problem products"),
            [
                _("Product"),
                _("Category"),
                _("Orders"),
                _("With a case"),
                _("After-sales rate"),
                _("Interval, lower end"),
                _("Interval, upper end"),
                _("Compared with"),
                _("Compared rate"),
                _("Stands out"),
                _("Reasons that stand out"),
                _("Likely cause"),
            ],
        )
        for f in findings:
            sheet.row(
                f.name,
                f.category_label,
                f.orders,
                f.orders_with_case,
                f.rate,
                f.interval[0] if f.interval else None,
                f.interval[1] if f.interval else None,
                str(
                    _("rest of category") if f.compared_with == "category" else _("other products")
                ),
                f.compared_rate,
                str(_("yes") if f.flagged else _("no")),
                "、".join(r.label for r in f.reasons if r.flagged),
                str(f.cause.label) if f.cause else "",
                formats={4: PERCENT, 5: PERCENT, 6: PERCENT, 8: PERCENT},
            )
    return len(findings)


def write_costs(
    book: Workbook,
    tables: list[tuple[str, Any, list[Any]]],
    damage: list[Any],
    packaging: list[Any] = (),  # type: ignore[assignment]
) -> int:
    """One sheet per cut of the costs, and the damage-in-transit rates (by carrier, and by
    carrier and packaging)."""
    rows = 0
    with translation.override("zh-hans"):
        for _key, label, table in tables:
            sheet = Sheet(
                book,
                _("By %(dimension)s") % {"dimension": label},
                [
                    label,
                    _("Costs"),
                    _("Amount (yuan)"),
                    *[payer for _code, payer in CostPayer.choices],
                ],
            )
            for row in table:
                sheet.row(
                    row.label,
                    row.costs,
                    yuan(row.fen),
                    *[yuan(row.by_payer.get(code, 0)) for code, _l in CostPayer.choices],
                )
                rows += 1
        sheet = Sheet(
            book,
            _("Damage in transit by carrier"),
            [_("Carrier"), _("Orders shipped"), _("Arrived damaged"), _("Damage rate")],
        )
        for d in damage:
            sheet.row(d.carrier_label, d.orders, d.damaged, d.rate, formats={3: PERCENT})
            rows += 1
        if packaging:
            sheet = Sheet(
                book,
                _("Damage by carrier and packaging"),
                [
                    _("Carrier"),
                    _("Packaging"),
                    _("Orders shipped"),
                    _("Arrived damaged"),
                    _("Damage rate"),
                ],
            )
            for d in packaging:
                sheet.row(
                    d.carrier_label,
                    d.packaging_label,
                    d.orders,
                    d.damaged,
                    d.rate,
                    formats={4: PERCENT},
                )
                rows += 1
    return rows


# --- Platform metrics, improvements, satisfaction ------------------------------------------------


def _metric_cell(value: float | None, unit: str) -> tuple[Any, str | None]:
    """A rate as a percentage cell, hours as a number of hours."""
    if value is None:
        return None, None
    return (value, PERCENT) if unit == "rate" else (round(value, 2), None)


def write_platform(book: Workbook, reports: list[Any]) -> int:
    """The platform's metrics by the definition in force on each part of the period, the
    weekly trend, and the cases and agents that move each most."""
    rows = 0
    with translation.override("zh-hans"):
        headers = [
            _("Metric"),
            _("Definition version"),
            _("In force from"),
            _("In force until"),
            _("From"),
            _("To"),
            _("Value"),
            _("Unit"),
            _("Numerator"),
            _("Denominator"),
        ]
        periods = Sheet(book, _("Platform metrics"), headers)
        weekly = Sheet(book, _("By week"), headers)
        movers = Sheet(
            book,
            _("What moves them"),
            [
                _("Metric"),
                _("Definition version"),
                _("Kind"),
                _("Case or agent"),
                _("Cases"),
                _("Effect"),
            ],
        )
        for report in reports:
            for sheet, entries in ((periods, report.parts), (weekly, report.trend)):
                for version, part, value in entries:
                    cell, number_format = _metric_cell(value.value, version.unit)
                    sheet.row(
                        str(version.label),
                        version.name,
                        version.effective_from,
                        version.effective_to,
                        part.first,
                        part.last,
                        cell,
                        str(_("share") if version.unit == "rate" else _("hours")),
                        round(value.numerator, 4),
                        value.denominator,
                        formats={6: number_format} if number_format else None,
                    )
                    rows += 1
            for version, _part, value in report.parts:
                for kind, entries in ((_("Case"), value.cases), (_("Agent"), value.agents)):
                    for mover in entries:
                        movers.row(
                            str(version.label),
                            version.name,
                            str(kind),
                            mover.label,
                            mover.count,
                            round(mover.effect, 4),
                        )
                        rows += 1
    return rows


def write_improvements(book: Workbook, effects: list[Any]) -> int:
    """Each recorded change with the orders and cases before and after and the verdict."""
    with translation.override("zh-hans"):
        sheet = Sheet(
            book,
            _("Improvements"),
            [
                _("Product"),
                _("Kind of change"),
                _("What changed"),
                _("Changed on"),
                _("Orders before"),
                _("With a case before"),
                _("Rate before"),
                _("Orders after"),
                _("With a case after"),
                _("Rate after"),
                _("Change (points)"),
                _("p-value"),
                _("Verdict"),
            ],
        )
        for e in effects:
            points = e.change_points
            sheet.row(
                e.improvement.product.name,
                str(e.improvement.get_kind_display()),
                e.improvement.description,
                e.improvement.changed_on,
                e.before.orders,
                e.before.with_case,
                e.before.rate,
                e.after.orders,
                e.after.with_case,
                e.after.rate,
                None if points is None else round(points, 2),
                None if e.p is None else round(e.p, 4),
                str(e.sentence),
                formats={6: PERCENT, 9: PERCENT},
            )
    return len(effects)


def write_satisfaction(book: Workbook, agents: list[Any], library: list[Any]) -> int:
    """CSAT per agent and the good-case library (no buyer's words or contact data)."""
    with translation.override("zh-hans"):
        sheet = Sheet(
            book,
            _("CSAT by agent"),
            [_("Agent"), _("Answered"), _("Scored 4–5"), _("CSAT"), _("Average score")],
        )
        for c in agents:
            average = c.average
            sheet.row(
                c.label,
                c.answered,
                c.satisfied,
                c.csat,
                None if average is None else round(average, 2),
                formats={3: PERCENT},
            )
        cases = Sheet(
            book,
            _("Good-case library"),
            [_("Case id"), _("Why it is good"), _("Added by"), _("Added at")],
        )
        for good in library:
            cases.row(good.case_id, good.note, good.added_by, shanghai(good.added_at))
    return len(agents) + len(library)
