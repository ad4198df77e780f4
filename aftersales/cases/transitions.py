"""The case state machine: one table of allowed moves and one function that makes them (R1.2).

The other axes (refund, return logistics, dispute) change beside the status, in the same
function, so every change of any axis is one audit event with its before and after.
"""

from __future__ import annotations

from typing import Any

from aftersales.audit.chain import record_event
from aftersales.core.actors import Actor
from aftersales.core.errors import IllegalTransition
from aftersales.platforms.douyin.outbox import enqueue_operations_for_event
from aftersales.sla.services import on_case_event

from .choices import CaseStatus as S
from .models import Case

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
    S.AWAITING_EVIDENCE: frozenset({S.PENDING_REVIEW, S.REJECTED, S.CLOSED}),
    S.AWAITING_RETURN: frozenset({S.AWAITING_INSPECTION, S.CLOSED}),
    S.AWAITING_INSPECTION: frozenset({S.PENDING_FINAL_REVIEW}),
    # Stage 2 (R1.3): after inspection, agree (refund or ship) or reject.
    S.PENDING_FINAL_REVIEW: frozenset({S.AWAITING_REFUND, S.AWAITING_SHIPMENT, S.REJECTED}),
    S.AWAITING_REFUND: frozenset({S.COMPLETED}),
    # An exchange the merchant cannot fulfil becomes a refund (platform op 321).
    S.AWAITING_SHIPMENT: frozenset({S.AWAITING_BUYER_RECEIPT, S.AWAITING_REFUND}),
    S.AWAITING_BUYER_RECEIPT: frozenset({S.COMPLETED}),
    # A rejected buyer may change the request and apply again, or give up.
    S.REJECTED: frozenset({S.PENDING_REVIEW, S.CLOSED}),
    S.COMPLETED: frozenset(),
    S.CLOSED: frozenset(),
}

AXES = ("status", "refund_status", "return_status", "dispute_status")


def can_transition(case: Case, to: str) -> bool:
    return to in ALLOWED_TRANSITIONS[case.status]


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
    """Apply a change to a locked case: check the edge, set the axes and fields, save, audit.

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
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=event_type,
        by=by,
        before={k: v for k, v in before.items() if before[k] != after[k]},
        after={k: v for k, v in after.items() if before[k] != after[k]},
        payload=event_payload,
    )
    on_case_event(case=case, event_type=event_type, previous_status=before["status"], by=by)
    enqueue_operations_for_event(case, event_type, event_payload, by=by)
    return case


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value
