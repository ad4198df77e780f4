"""The figures the workbench shows about a case, in words that cannot mislead.

A stored axis value alone can say the wrong thing: `return_status` is "not required" on a
return case until it is approved, and a case with no refund amount (an exchange) is not a
refund of 0.00. These helpers read the case's type and status with it.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import (
    REFUND_TYPES,
    RETURNING_TYPES,
    CaseStatus,
    CaseType,
    ReturnStatus,
)
from aftersales.cases.models import Case
from aftersales.cases.services import RefundableLine
from aftersales.core.money import share_of

# A case whose goods come back but not yet asked to send them: review and evidence first.
BEFORE_APPROVAL = frozenset({CaseStatus.PENDING_REVIEW, CaseStatus.AWAITING_EVIDENCE})

# What a case that refunds nothing amounts to, in the amount column.
NO_REFUND_WORDS: dict[str, Any] = {
    CaseType.EXCHANGE: _("Exchange"),
    CaseType.RESEND: _("Resend"),
    CaseType.REPAIR: _("Repair"),
}

RETURN_LABELS: dict[str, Any] = dict(ReturnStatus.choices)


def return_label(case: Case) -> Any:
    """The return as it stands: for a type whose goods come back, "not required" means not
    asked for yet (pending the review), or never sent (refused or closed before)."""
    if case.type not in RETURNING_TYPES or case.return_status != ReturnStatus.NOT_REQUIRED:
        return RETURN_LABELS.get(case.return_status, case.return_status)
    if case.status in BEFORE_APPROVAL:
        return _("Buyer sends it back once approved")
    if case.status == CaseStatus.REJECTED:
        return _("Not returned (rejected)")
    return _("Not returned")


class _Amount(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def requested_amount_fen(self) -> int: ...


def amount_words(case: _Amount) -> Any:
    """The words for a case without a refund amount, or "" when the amount itself says it:
    an exchange, a resend or a repair refunds nothing, unless it became a refund."""
    if case.type in REFUND_TYPES or case.requested_amount_fen:
        return ""
    return NO_REFUND_WORDS.get(case.type, "")


def item_rows(lines: list[RefundableLine]) -> list[dict[str, Any]]:
    """The items table: unit prices beside unit prices, amounts for the case's quantity
    beside amounts for it. The unit paid price is the line's paid amount shared over its
    units (rounded down, for display)."""
    rows = []
    for line in lines:
        item = line.case_item.order_item
        rows.append(
            {
                "line": line,
                "item": item,
                "quantity": line.case_item.quantity,
                "list_unit_fen": item.list_price_fen,
                "paid_unit_fen": share_of(item.paid_amount_fen, 1, item.quantity),
                "paid_for_units_fen": line.paid_for_units_fen,
                "refunded_fen": line.refunded_fen,
                "refundable_fen": line.refundable_fen,
            }
        )
    return rows
