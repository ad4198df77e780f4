"""How a refund decision reaches the money.

The core decides refunds; a gateway carries them out. Which gateway runs is configuration
(`AFTERSALES_REFUND_GATEWAY`), so the Douyin adapter can replace the manual one without the
core changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from aftersales.cases.models import RefundExecution


class RefundGatewayError(Exception):
    """The refund was not carried out; the message says why and is shown on the case."""


@dataclass(frozen=True)
class RefundReceipt:
    reference: str


class RefundGateway(Protocol):
    def refund(self, execution: RefundExecution) -> RefundReceipt: ...


class ManualRefundGateway:
    """For shops without API access: staff refund in the platform back-office (原路退回).

    Recording the execution here is the shop's statement that the refund was made; the
    idempotency key is the reference they can quote.
    """

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        return RefundReceipt(reference=f"manual:{execution.idempotency_key}")


def get_refund_gateway() -> RefundGateway:
    return import_string(settings.AFTERSALES_REFUND_GATEWAY)()
