"""The case state machine: one table of allowed moves, the guards the services and the edges
read, and one function that makes a move (R1.2).

The other axes (refund, return logistics, dispute) change beside the status, in the same
function, so every change of any axis is one audit event with its before and after. Every
event is then handed to the declared reactions (`ports.react_to`): the SLA clocks, the
policy, the platform; this module knows none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.core.actors import Actor
from aftersales.core.errors import IllegalTransition

from .choices import CaseStatus as S
from .choices import RefundStatus, ReturnStatus
from .models import Case
from .ports import CaseChange, react_to

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # Stage 1 (R1.3): the merchant agrees, rejects, or asks the buyer for evidence (R4.1).
    S.PENDING_REVIEW: frozenset(
        {
            S.AWAITING_EVIDENCE,
            S.AWAITING_RETURN,  # return / exchange / repair agreed: buyer sends goods back
            S.AWAITING_REFUND,  # refund only agreed
            S.AWAITING_SHIPMENT,  # resend agreed
            S.REJECTED,
            S.CLOSED,  # buyer withdraws
        }
    ),
    S.AWAITING_EVIDENCE: frozenset(
        {S.PENDING_REVIEW, S.REJECTED, S.CLOSED, S.AWAITING_REFUND}  # + a settlement (R5)
    ),
    S.AWAITING_RETURN: frozenset({S.AWAITING_INSPECTION, S.CLOSED}),
    # From here on, CLOSED is the way out when the platform closes the after-sale (a buyer's
    # withdrawal it accepted, a timeout, a ruling): only the platform closes these
    # (`can_close`), and a refund that did not leave is released with it.
    # The platform may agree the second review before the goods were inspected here (its
    # timeout, the back-office): the case follows it to the refund or the shipment.
    S.AWAITING_INSPECTION: frozenset(
        {S.PENDING_FINAL_REVIEW, S.CLOSED, S.AWAITING_REFUND, S.AWAITING_SHIPMENT}
    ),
    # Stage 2 (R1.3): after inspection, agree (refund or ship) or reject.
    S.PENDING_FINAL_REVIEW: frozenset(
        {S.AWAITING_REFUND, S.AWAITING_SHIPMENT, S.REJECTED, S.CLOSED}
    ),
    S.AWAITING_REFUND: frozenset({S.COMPLETED, S.CLOSED}),
    # An exchange the merchant cannot fulfil becomes a refund (platform op 321).
    S.AWAITING_SHIPMENT: frozenset({S.AWAITING_BUYER_RECEIPT, S.AWAITING_REFUND, S.CLOSED}),
    S.AWAITING_BUYER_RECEIPT: frozenset({S.COMPLETED, S.CLOSED}),
    # A rejected buyer may change the request and apply again, or give up; a settlement or the
    # platform's ruling for the buyer turns the rejection into a refund (R5.1, R5.3).
    S.REJECTED: frozenset({S.PENDING_REVIEW, S.CLOSED, S.AWAITING_REFUND}),
    S.COMPLETED: frozenset(),
    S.CLOSED: frozenset(),
}

AXES = ("status", "refund_status", "return_status", "dispute_status")


def can_transition(case: Case, to: str) -> bool:
    return to in ALLOWED_TRANSITIONS[case.status]


# --- Guards: beyond the table, which cases each decision applies to --------------------------
# Read by the services (which refuse otherwise), the workbench (which offers only what
# applies) and the platform ingest (which follows the platform only where we may).

# Stage 1 and 2 reviews: rejecting is a decision of either review, or while evidence is due.
REJECTABLE_STATUSES = frozenset({S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.PENDING_FINAL_REVIEW})
# The buyer may withdraw until the goods are on their way back to them or the money is decided.
WITHDRAWABLE_STATUSES = frozenset(
    {S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.AWAITING_RETURN, S.REJECTED}
)


def can_approve(case: Case) -> bool:
    """Stage 1: agree to the request."""
    return case.status == S.PENDING_REVIEW


def can_reject(case: Case) -> bool:
    return case.status in REJECTABLE_STATUSES


def can_withdraw(case: Case) -> bool:
    """Once a refund is decided the buyer cannot take the request back: the money is moving."""
    return case.refund_status == RefundStatus.NONE and case.status in WITHDRAWABLE_STATUSES


# Where the merchant may close a case. Beyond these only the platform closes (it closed the
# after-sale), and a merchant may close an agreed refund that failed: it will not be paid.
MERCHANT_CLOSABLE_STATUSES = frozenset(
    {S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.AWAITING_RETURN, S.REJECTED}
)


def can_close(case: Case, *, by_platform: bool = False) -> bool:
    """A merchant closes a case that goes no further, except while money is moving; the
    platform closes from every open status (F1: every state has a way out), and a refund
    still pending is then cancelled if it has not left (`services.close_case`)."""
    if S.CLOSED not in ALLOWED_TRANSITIONS[case.status]:
        return False
    if by_platform:
        return True
    if case.refund_status == RefundStatus.PENDING:
        return False
    return case.status in MERCHANT_CLOSABLE_STATUSES or (
        case.status == S.AWAITING_REFUND and case.refund_status == RefundStatus.FAILED
    )


# A refund agreed with the buyer (R5.1) or ruled by the platform (R5.3) may come before or
# after the review: from these statuses the case goes straight to the refund.
SETTLEABLE_STATUSES = frozenset(
    {S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.PENDING_FINAL_REVIEW, S.REJECTED}
)


def can_settle_with_refund(case: Case) -> bool:
    """A settlement or a ruling can turn the case into a refund: nothing decided yet about
    the money, and the goods are not on their way (a parcel coming back is received first)."""
    return (
        case.status in SETTLEABLE_STATUSES
        and case.refund_status == RefundStatus.NONE
        and case.return_status != ReturnStatus.IN_TRANSIT
    )


def can_reopen(case: Case) -> bool:
    """A stage-1 rejection can be re-applied for; after stage 2 the goods are already back and
    the buyer's way forward is the platform's intervention."""
    return case.status == S.REJECTED and case.return_status not in {
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    }


def change_case(
    case: Case,
    *,
    by: Actor,
    event_type: str,
    status: str | None = None,
    payload: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    **axes: str,
) -> Case:
    """Apply a change to a locked case: check the edge, set the axes and fields, save, audit,
    react.

    `status` moves the main state machine and must be an allowed edge (staying put is not
    one: pass `status=None` for a change that keeps the status). `axes` sets the
    other status axes. `fields` sets plain fields (timestamps, notes) recorded in the event.
    The caller holds the row lock (select_for_update) inside its transaction.
    """
    # A self-loop is not an edge either: closing a closed case must not rewrite its record.
    if status is not None and not can_transition(case, status):
        raise IllegalTransition(from_status=case.status, to_status=status, event=event_type)
    unknown = set(axes) - set(AXES[1:])
    if unknown:
        raise ValueError(f"unknown axes: {sorted(unknown)}")

    before = case.axes()
    if status is not None:
        case.status = status
    for name, value in axes.items():
        setattr(case, name, value)
    changed_fields = dict(fields or {})
    for name, value in changed_fields.items():
        setattr(case, name, value)
    after = case.axes()
    case.save(update_fields=[*AXES, *changed_fields, "updated_at"])

    event_payload = dict(payload or {})
    event_payload.update({k: _jsonable(v) for k, v in changed_fields.items()})
    record_case_event(
        case,
        by=by,
        event=event_type,
        previous_status=before["status"],
        before={k: v for k, v in before.items() if before[k] != after[k]},
        after={k: v for k, v in after.items() if before[k] != after[k]},
        payload=event_payload,
    )
    return case


def record_case_event(
    case: Case,
    *,
    by: Actor,
    event: str,
    payload: dict[str, Any] | None = None,
    previous_status: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Put one case event on the audit trail and hand it to the reactions, in the caller's
    transaction. `change_case` uses it for moves; services use it directly for events that
    move no axis (a message to the buyer, technical support, a deadline extended)."""
    recorded = record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=event,
        by=by,
        before=before,
        after=after,
        payload=payload,
    )
    react_to(
        CaseChange(
            case=case,
            event=event,
            by=by,
            previous_status=case.status if previous_status is None else previous_status,
            payload=payload or {},
            at=at,
            recorded_at=recorded.created_at,
        )
    )
    return recorded


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value
