"""Douyin as a platform adapter (`platforms.adapter.PlatformAdapter`), for the shops linked
to it (`settings.AFTERSALES_PLATFORM_ADAPTERS["douyin"]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.cases.choices import CaseType
from aftersales.cases.events import CaseEvent
from aftersales.cases.ports import CaseChange, PlatformRefund, RefundReceipt
from aftersales.core.actors import Actor
from aftersales.platforms.adapter import PLAIN, PlatformOperation, SyncState, buyer_text

from . import errors, outbox, sync
from .choices import OperationKind, OperationStatus
from .gateway import DouyinRefundGateway
from .mapping import STATUS_LABELS
from .models import DouyinAftersale, DouyinShopLink, OutboxOperation

if TYPE_CHECKING:
    from aftersales.cases.models import Case, RefundExecution


# Douyin's `operate` has no refusal of 未发货仅退款 (type 2 takes only 401, agree): the merchant
# declines it by shipping the order, after which the platform closes the after-sale; left
# alone it is agreed at the platform's deadline (docs/douyin.md, "Refusals").
NO_REFUSAL_BEFORE_SHIPPING = gettext_lazy(
    "Douyin cannot refuse a refund asked for before shipping (未发货仅退款). To decline it, "
    "ship the order in the Douyin back-office before the platform's deadline: the request "
    "then closes by itself. Otherwise approve the refund."
)
NO_REFUSAL = gettext_lazy(
    "Douyin has no refusal for this request at this step: decide it in the Douyin "
    "back-office, or approve it here."
)


class DouyinAdapter:
    """A shop that has a Douyin link. While the link is switched off, nothing is sent: the
    buyer's messages are kept as the plain adapter keeps them, refunds are made by hand, and
    what was sent before stays visible (and retryable) on the case."""

    name = "douyin"

    def __init__(self, link: DouyinShopLink) -> None:
        self.link = link
        self.linked = link.is_active

    def react(self, change: CaseChange) -> None:
        if not self.linked:
            PLAIN.react(change)
            return
        outbox.enqueue_operations_for_event(
            change.case, change.event, dict(change.payload), by=change.by, link=self.link
        )
        if change.event == CaseEvent.REFUND_FAILED:
            outbox.resume_refund_the_platform_has(change.case)
        text = buyer_text(change)
        if text:
            self.send_to_buyer(change.case, text, cause=change.event)

    def send_to_buyer(self, case: Case, text: str, *, cause: str) -> None:
        outbox.add_operation(
            case, OperationKind.NOTIFY_BUYER, {"content": text, "step": cause}, cause=cause
        )

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        return DouyinRefundGateway().refund(execution)

    def request_interception(self, *, case: Case, by: Actor) -> None:
        outbox.request_interception(case=case, by=by)

    def request_time_extension(self, *, case: Case, by: Actor) -> None:
        outbox.request_platform_extension(case=case, by=by)

    def add_order_remark(self, *, case: Case, remark: str, by: Actor) -> None:
        outbox.add_platform_remark(case=case, remark=remark, by=by)

    def submit_evidence(
        self, *, case: Case, evidence_ids: list[int], comment: str, by: Actor
    ) -> None:
        urls = outbox.evidence_file_urls(case, evidence_ids)
        outbox.submit_platform_evidence(case=case, urls=urls, comment=comment, by=by)

    def sync_state(self, case: Case) -> SyncState:
        return sync_state_of(case)

    def retry_failed(self, *, case: Case, by: Actor) -> None:
        outbox.retry_failed_operations(case=case, by=by)

    def cases_out_of_sync(self) -> set[int]:
        return sync.cases_out_of_sync(self.link.shop_id)

    def explain_error(self, error: str) -> str:
        return errors.explain(error)

    def objection(self, case: Case, event: str) -> Any:
        # Linked or not: the platform's rules hold in its back-office too.
        if event == CaseEvent.CASE_REJECTED and not outbox.platform_can_refuse(case):
            if case.type == CaseType.REFUND_UNSHIPPED:
                return NO_REFUSAL_BEFORE_SHIPPING
            return NO_REFUSAL
        return ""

    def refund_applied_for(self, case: Case) -> PlatformRefund | None:
        # Every refund instruction (201/401 refund only, 111 after a return, 321 an exchange
        # turned refund) carries no amount: the platform pays the application as it stands in
        # the last Detail read. An exchange's application holds no amount (the platform pays
        # the goods' price): then ours decides.
        record = DouyinAftersale.objects.filter(case=case).only("detail").first()
        if record is None:
            return None
        info = (record.detail.get("process_info") or {}).get("after_sale_info") or {}
        total = int(info.get("refund_amount") or 0)
        if total <= 0:
            return None
        shipping = min(int(info.get("refund_post_amount") or 0), total)
        return PlatformRefund(goods_fen=total - shipping, shipping_fen=shipping)


def adapter_for_shop(shop_id: int) -> DouyinAdapter | None:
    """The shop's adapter if it was ever linked to Douyin; None otherwise (the plain one
    serves). The active link wins over an old one."""
    link = outbox.cached_link(
        "ever",
        shop_id,
        lambda: (
            DouyinShopLink.objects.filter(shop_id=shop_id).order_by("-is_active", "-pk").first()
        ),
    )
    return DouyinAdapter(link) if link is not None else None


def sync_state_of(case: Case) -> SyncState:
    """What the case's platform operations look like, with words for them, and how the case
    differs from the platform's last Detail (a few queries, however many operations)."""
    operations = list(OutboxOperation.objects.filter(case=case).order_by("pk"))
    # A superseded operation was taken back: it tells nothing about the sync.
    statuses = {op.status for op in operations} - {OperationStatus.SUPERSEDED}
    if not statuses:
        state = "none"
    elif OperationStatus.FAILED in statuses:
        state = "failed"
    elif statuses & {OperationStatus.PENDING, OperationStatus.SENDING}:
        state = "pending"
    else:
        state = "synced"
    failed = [op for op in operations if op.status == OperationStatus.FAILED]
    kinds = dict(OperationKind.choices)
    words = dict(OperationStatus.choices)
    record = DouyinAftersale.objects.filter(case=case).first()
    reason = failed[0].last_error if failed else ""
    return SyncState(
        state=state,
        reason=reason,
        reason_explanation=errors.explain(reason),
        operations=[
            PlatformOperation(
                id=op.pk,
                kind=op.kind,
                kind_label=str(kinds.get(op.kind, op.kind)),
                status=op.status,
                status_label=str(words.get(op.status, op.status)),
                attempts=op.attempts,
                last_error=op.last_error,
                created_at=op.created_at,
                synced_at=op.synced_at,
                next_attempt_at=op.next_attempt_at,
                is_message=op.kind == OperationKind.NOTIFY_BUYER,
                text=str(
                    op.params.get("content")
                    or op.params.get("remark")
                    or op.params.get("comment")
                    or ""
                ),
                is_interception=op.kind == OperationKind.INTERCEPT,
                answer=_answer_of(op),
                error_explanation=errors.explain(op.last_error),
            )
            for op in operations
        ],
        drift=[d.words() for d in sync.disagreements_of(case, record)] if record else [],
        platform_status=STATUS_LABELS.get(record.platform_status, "") if record else "",
        platform_deadline=record.status_deadline if record else None,
    )


def _answer_of(operation: OutboxOperation) -> str:
    """The platform's answer to an interception, in words: the parcel stopped or not."""
    if operation.kind != OperationKind.INTERCEPT:
        return ""
    if operation.status == OperationStatus.SYNCED:
        return str(_("The interception was accepted: the parcel is coming back."))
    if operation.status == OperationStatus.FAILED:
        return str(_("The interception failed: %(reason)s") % {"reason": operation.last_error})
    return ""
