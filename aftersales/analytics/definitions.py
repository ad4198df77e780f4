"""What each figure counts, in words shown beside it on screen, in the API and in exports.

One place: the code in `overview.py` follows these sentences; the tests check the code
against hand-computed figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Figure:
    key: str
    label: Promise
    definition: Promise


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in [
        Figure(
            "orders",
            _("Orders"),
            _("Orders paid in the period (by payment time, Asia/Shanghai days)."),
        ),
        Figure(
            "cases",
            _("After-sales cases"),
            _("Cases the buyers applied for in the period (by application time)."),
        ),
        Figure(
            "after_sales_rate",
            _("After-sales rate"),
            _(
                "Cases applied for in the period ÷ orders paid in the period. Cut by reason, "
                "case type or agent, the orders stay all orders: the cut's share of the rate."
            ),
        ),
        Figure(
            "refund_rate",
            _("Refund rate (orders)"),
            _(
                "Orders with a refund paid out in the period ÷ orders paid in the period. A "
                "refund counts when its execution succeeded, at that time."
            ),
        ),
        Figure(
            "refund_amount_rate",
            _("Refund rate (amount)"),
            _(
                "Goods amount refunded in the period ÷ goods amount paid for the orders of the "
                "period, both what buyers actually paid after discounts; shipping excluded. "
                "Cut by product, SKU or category, only those items' lines count."
            ),
        ),
        Figure(
            "refunded_fen",
            _("Refunded amount"),
            _("Goods amount of the refunds paid out in the period, in yuan."),
        ),
        Figure(
            "paid_fen",
            _("Paid amount"),
            _("Goods amount actually paid for the orders of the period, in yuan."),
        ),
        Figure(
            "reasons",
            _("Reasons"),
            _(
                "Cases applied for in the period by the buyer's reason, with the party the "
                "reason makes responsible (merchant, buyer or carrier; it decides who pays "
                "shipping)."
            ),
        ),
        Figure(
            "first_response",
            _("First response time"),
            _(
                "From the buyer's application to the merchant's first response (approve, "
                "reject, evidence requested, technical support, a message), for the cases "
                "whose first response was in the period; by anyone, the policy's automatic "
                "answers included. Median and 90th percentile (nearest rank)."
            ),
        ),
        Figure(
            "decision",
            _("Decision time"),
            _(
                "From the buyer's application to the first approval or rejection, for the "
                "cases decided in the period. Median and 90th percentile."
            ),
        ),
        Figure(
            "refund",
            _("Refund time"),
            _(
                "From the buyer's application to the refund paid out, for the refunds paid "
                "in the period. Median and 90th percentile."
            ),
        ),
        Figure(
            "sla",
            _("SLA compliance"),
            _(
                "For each of the merchant's clocks, the clocks whose outcome fell in the "
                "period: stopped in the period (met if no breach was recorded and not stopped "
                "after the due time), or still open with the due time passed in the period "
                "(missed). The buyer's own return deadline is not the merchant's and is left "
                "out."
            ),
        ),
    ]
}
