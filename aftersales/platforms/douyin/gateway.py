"""The refund gateway for Douyin shops (`AFTERSALES_REFUND_GATEWAY`).

On Douyin the merchant does not pay the buyer: the merchant's agreement (operate 201/401 for
a refund only, 111 after a return, 321 for an exchange turned refund) *is* the refund
instruction, and the platform pays back along the original route (原路退回). So executing a
refund decision here means: make sure that instruction reached the platform, exactly once.

- The instruction is the outbox operation written with the refund decision. If it is still
  pending, it is delivered now (the same claim-once delivery the worker uses); if another
  worker is sending it, this waits a little for the outcome.
- Synced → the refund is executed; the receipt names the after-sale. The platform's own
  payment (refund_status 2 退款中 → 3 成功) follows; a later 4 (失败) is flagged as drift by
  reconciliation.
- Refused or still unsent → `RefundGatewayError` with the reason: the execution is marked
  failed, visible and retryable; when the instruction syncs later the outbox finishes it.
- A case with no instruction of ours (the platform agreed by itself, a back-office action,
  a platform timeout) is refunded when Detail says the platform is refunding or refunded.

Shops without a Douyin link fall back to the plain adapter's manual refund.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings

from aftersales.cases.ports import RefundGatewayError, RefundReceipt
from aftersales.platforms.adapter import PLAIN

from .choices import OperationStatus
from .client import DouyinClient, DouyinError
from .mapping import PLATFORM_REFUNDED, PLATFORM_REFUNDING, PlatformStatus
from .models import OutboxOperation
from .outbox import deliver_operation, link_for_shop

if TYPE_CHECKING:
    from aftersales.cases.models import RefundExecution


class DouyinRefundGateway:
    def refund(self, execution: RefundExecution) -> RefundReceipt:
        case = execution.decision.case
        link = link_for_shop(case.shop_id)
        if link is None or not case.platform_case_id:
            return PLAIN.refund(execution)
        instruction = (
            OutboxOperation.objects.filter(case_id=case.pk, params__refund=True)
            .order_by("-pk")
            .first()
        )
        if instruction is None:
            return self._platform_already_refunding(link, case.platform_case_id)
        if instruction.status == OperationStatus.PENDING:
            instruction = deliver_operation(instruction.pk, force=True)
        deadline = time.monotonic() + settings.DOUYIN_REFUND_WAIT_SECONDS
        while instruction.status == OperationStatus.SENDING and time.monotonic() < deadline:
            # Another worker holds the claim; its outcome is a short HTTP call away.
            time.sleep(0.1)
            instruction.refresh_from_db()
        if instruction.status == OperationStatus.SYNCED:
            return RefundReceipt(reference=f"douyin:{case.platform_case_id}")
        reason = instruction.last_error or "the agreement has not reached the platform yet"
        raise RefundGatewayError(f"Douyin: {reason}")

    def _platform_already_refunding(self, link, aftersale_id: str) -> RefundReceipt:
        try:
            data = DouyinClient(link).call("afterSale/Detail", {"after_sale_id": aftersale_id}).data
        except DouyinError as exc:
            raise RefundGatewayError(f"Douyin: cannot read the after-sale: {exc}") from exc
        info = data.get("process_info", {}).get("after_sale_info", {})
        status = int(info.get("after_sale_status", 0))
        refund_status = int(info.get("refund_status", 0) or 0)
        if status == PlatformStatus.SUCCEEDED or refund_status in (
            PLATFORM_REFUNDING,
            PLATFORM_REFUNDED,
        ):
            return RefundReceipt(reference=f"douyin:{aftersale_id}")
        raise RefundGatewayError(
            "Douyin: the platform has not agreed this refund and no agreement is queued"
        )
