"""How a refund decision reaches the money: through the case's platform (`cases.ports`).

On a connected platform the platform pays back along the original route; elsewhere the staff
refund by hand in the back-office and the product records it (the plain adapter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aftersales.cases.ports import RefundReceipt

from .adapter import PLAIN, adapter_for_case

if TYPE_CHECKING:
    from aftersales.cases.models import RefundExecution


class PlatformRefundGateway:
    """The default gateway (`AFTERSALES_REFUND_GATEWAY`): the case's own platform adapter."""

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        return adapter_for_case(execution.decision.case).refund(execution)


class ManualRefundGateway:
    """Every refund by hand, whatever the platform (an installation without API access)."""

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        return PLAIN.refund(execution)
