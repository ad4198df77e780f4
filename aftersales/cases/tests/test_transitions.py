"""R1.2: one explicit state machine for the case.

Every edge of `ALLOWED_TRANSITIONS` is reached through the services (never by saving a status),
and each writes exactly one audit event recording that edge. Every (status, action) pair the
table does not allow is refused with IllegalTransition (HTTP 409, code "illegal_transition")
and changes nothing: not the case, not its audit trail, not a single related row.
"""

from __future__ import annotations

import pytest

from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.models import (
    Case,
    CaseCost,
    Evidence,
    Inspection,
    QualityCheck,
    RefundDecision,
    RefundExecution,
)
from aftersales.cases.transitions import ALLOWED_TRANSITIONS, change_case
from aftersales.core.actors import Actor
from aftersales.core.errors import IllegalTransition
from aftersales.orders.models import Shipment

from . import steps


def buyer_evidence(case, by):
    return services.record_buyer_evidence(case=case, uploads=[steps.png_upload()], by=by)


def close(case, by):
    return services.close_case(case=case, note="买家未在期限内寄回", by=by)


def platform_close(case, by):
    """The platform closed the after-sale (F1): every open status has this way out."""
    return services.close_case(case=case, note="平台售后单已关闭", by=Actor.platform("douyin"))


def platform_final_approve(case, by):
    """The platform agreed the second review before the goods were inspected here (issue 15)."""
    return services.approve_after_inspection(
        case=case, note="平台已同意（售后成功）", by=Actor.platform("douyin")
    )


def reopen(case, by):
    return services.reopen_case(case=case, note="买家修改了申请", by=by)


def refund(case, by):
    return services.refund_case(case=case, by=by)


# (from, to, case type, action, the audit event that records the edge)
def settle(case, by):
    return services.settle_with_refund(case=case, by=by, note="协商一致", source="offer")


EDGES = [
    (
        S.PENDING_REVIEW,
        S.AWAITING_EVIDENCE,
        T.EXCHANGE,
        steps.request_evidence,
        "evidence_requested",
    ),
    (S.PENDING_REVIEW, S.AWAITING_RETURN, T.RETURN_REFUND, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.AWAITING_RETURN, T.EXCHANGE, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.AWAITING_RETURN, T.REPAIR, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.AWAITING_REFUND, T.REFUND_UNSHIPPED, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.AWAITING_REFUND, T.REFUND_SHIPPED, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.AWAITING_SHIPMENT, T.RESEND, steps.approve, "case_approved"),
    (S.PENDING_REVIEW, S.REJECTED, T.EXCHANGE, steps.reject, "case_rejected"),
    (S.PENDING_REVIEW, S.CLOSED, T.EXCHANGE, steps.withdraw, "case_withdrawn"),
    (S.PENDING_REVIEW, S.CLOSED, T.RESEND, close, "case_closed"),
    (S.AWAITING_EVIDENCE, S.PENDING_REVIEW, T.EXCHANGE, buyer_evidence, "buyer_evidence_recorded"),
    (S.AWAITING_EVIDENCE, S.REJECTED, T.REFUND_SHIPPED, steps.reject, "case_rejected"),
    (S.AWAITING_EVIDENCE, S.CLOSED, T.EXCHANGE, close, "case_closed"),
    (S.AWAITING_EVIDENCE, S.CLOSED, T.RETURN_REFUND, steps.withdraw, "case_withdrawn"),
    (S.AWAITING_RETURN, S.AWAITING_INSPECTION, T.RETURN_REFUND, steps.receive, "return_received"),
    (S.AWAITING_RETURN, S.CLOSED, T.RETURN_REFUND, steps.withdraw, "case_withdrawn"),
    (S.AWAITING_RETURN, S.CLOSED, T.EXCHANGE, close, "case_closed"),
    (
        S.AWAITING_INSPECTION,
        S.PENDING_FINAL_REVIEW,
        T.RETURN_REFUND,
        steps.inspect_pass,
        "return_inspected",
    ),
    (
        S.PENDING_FINAL_REVIEW,
        S.AWAITING_REFUND,
        T.RETURN_REFUND,
        steps.approve_final,
        "case_final_approved",
    ),
    (
        S.PENDING_FINAL_REVIEW,
        S.AWAITING_SHIPMENT,
        T.EXCHANGE,
        steps.approve_final,
        "case_final_approved",
    ),
    (
        S.PENDING_FINAL_REVIEW,
        S.AWAITING_SHIPMENT,
        T.REPAIR,
        steps.approve_final,
        "case_final_approved",
    ),
    (S.PENDING_FINAL_REVIEW, S.REJECTED, T.RETURN_REFUND, steps.reject, "case_rejected"),
    (S.AWAITING_REFUND, S.COMPLETED, T.REFUND_SHIPPED, steps.refund_and_execute, "refund_executed"),
    (S.AWAITING_REFUND, S.COMPLETED, T.EXCHANGE, steps.refund_and_execute, "refund_executed"),
    (
        S.AWAITING_SHIPMENT,
        S.AWAITING_BUYER_RECEIPT,
        T.EXCHANGE,
        steps.ship_to_buyer,
        "replacement_shipped",
    ),
    (S.AWAITING_SHIPMENT, S.AWAITING_BUYER_RECEIPT, T.RESEND, steps.resend, "items_resent"),
    (
        S.AWAITING_SHIPMENT,
        S.AWAITING_BUYER_RECEIPT,
        T.REPAIR,
        steps.return_repaired,
        "repaired_goods_shipped",
    ),
    (S.AWAITING_SHIPMENT, S.AWAITING_REFUND, T.EXCHANGE, steps.convert, "converted_to_refund"),
    (S.AWAITING_BUYER_RECEIPT, S.COMPLETED, T.RESEND, steps.confirm, "buyer_received"),
    (S.AWAITING_BUYER_RECEIPT, S.COMPLETED, T.EXCHANGE, steps.confirm, "buyer_received"),
    (S.REJECTED, S.PENDING_REVIEW, T.EXCHANGE, reopen, "case_reopened"),
    (S.REJECTED, S.CLOSED, T.EXCHANGE, close, "case_closed"),
    (S.REJECTED, S.CLOSED, T.REFUND_UNSHIPPED, steps.withdraw, "case_withdrawn"),
    # A refund agreed with the buyer or ruled by the platform (R5.1, R5.3).
    (S.REJECTED, S.AWAITING_REFUND, T.RETURN_REFUND, settle, "settlement_agreed"),
    (S.AWAITING_EVIDENCE, S.AWAITING_REFUND, T.REFUND_SHIPPED, settle, "settlement_agreed"),
    (S.PENDING_REVIEW, S.AWAITING_REFUND, T.EXCHANGE, settle, "settlement_agreed"),
    (S.AWAITING_INSPECTION, S.CLOSED, T.RETURN_REFUND, platform_close, "case_closed"),
    (
        S.AWAITING_INSPECTION,
        S.AWAITING_REFUND,
        T.RETURN_REFUND,
        platform_final_approve,
        "case_final_approved",
    ),
    (
        S.AWAITING_INSPECTION,
        S.AWAITING_SHIPMENT,
        T.EXCHANGE,
        platform_final_approve,
        "case_final_approved",
    ),
    (S.PENDING_FINAL_REVIEW, S.CLOSED, T.RETURN_REFUND, platform_close, "case_closed"),
    (S.AWAITING_REFUND, S.CLOSED, T.REFUND_SHIPPED, platform_close, "case_closed"),
    (S.AWAITING_SHIPMENT, S.CLOSED, T.EXCHANGE, platform_close, "case_closed"),
    (S.AWAITING_BUYER_RECEIPT, S.CLOSED, T.RESEND, platform_close, "case_closed"),
]


def status_changes(events):
    return [
        (e.type, e.before["status"], e.after["status"])
        for e in events
        if "status" in e.before or "status" in e.after
    ]


def test_the_table_covers_every_status_and_terminal_states_are_final_r1_2():
    assert set(ALLOWED_TRANSITIONS) == set(S.values)
    for targets in ALLOWED_TRANSITIONS.values():
        assert targets <= set(S.values)
    for status in TERMINAL_STATUSES:
        assert ALLOWED_TRANSITIONS[status] == frozenset()
    # Nothing moves a case to where it already is: a self-loop is not an edge.
    assert all(status not in targets for status, targets in ALLOWED_TRANSITIONS.items())


def test_every_edge_of_the_table_is_reached_by_a_service_below_r1_2():
    table_edges = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    tested_edges = {(a, b) for a, b, *_ in EDGES}
    assert tested_edges == table_edges


@pytest.mark.parametrize(
    ("from_status", "to_status", "case_type", "action", "event_type"),
    EDGES,
    ids=[f"{a}->{b}-{t}-{e}" for a, b, t, _, e in EDGES],
)
def test_each_allowed_edge_is_reached_through_a_service_r1_2(
    shop_a, alice, from_status, to_status, case_type, action, event_type
):
    by = steps.testing.actor(alice)
    case = steps.case_in(shop_a, from_status, case_type, by=by)
    seen = set(AuditEvent.objects.filter(case=case).values_list("pk", flat=True))

    action(case, by)

    case.refresh_from_db()
    assert case.status == to_status
    new_events = list(AuditEvent.objects.filter(case=case).exclude(pk__in=seen).order_by("seq"))
    # Exactly one audit event records the move, and it records this edge.
    assert status_changes(new_events) == [(event_type, from_status, to_status)]
    event = next(e for e in new_events if e.type == event_type)
    if event_type == "refund_executed":  # the worker carries out alice's decision
        assert (event.actor_kind, event.actor_label) == ("system", "refund-worker")
    elif action in (platform_close, platform_final_approve):
        assert event.actor_kind == "platform"
    else:
        assert (event.actor_label, event.actor_user_id) == ("alice", alice.pk)


# --- Refused transitions ---------------------------------------------------------------------

NOT_TERMINAL = set(S.values) - {S.COMPLETED, S.CLOSED}
STAGE_ONE_OPEN = {S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.AWAITING_RETURN, S.REJECTED}

# action name -> (call, case type it is tried on, statuses in which it is allowed)
ACTIONS = {
    "approve": (steps.approve, T.EXCHANGE, {S.PENDING_REVIEW}),
    "reject": (
        steps.reject,
        T.EXCHANGE,
        {S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.PENDING_FINAL_REVIEW},
    ),
    "request_evidence": (steps.request_evidence, T.EXCHANGE, {S.PENDING_REVIEW}),
    "record_buyer_evidence": (buyer_evidence, T.EXCHANGE, NOT_TERMINAL),
    "record_return_shipment": (steps.ship_return, T.EXCHANGE, {S.AWAITING_RETURN}),
    "receive_return": (steps.receive, T.EXCHANGE, {S.AWAITING_RETURN}),
    "inspect_return": (steps.inspect_pass, T.EXCHANGE, {S.AWAITING_INSPECTION}),
    "approve_after_inspection": (steps.approve_final, T.EXCHANGE, {S.PENDING_FINAL_REVIEW}),
    "refund_case": (refund, T.EXCHANGE, {S.AWAITING_REFUND}),
    "record_quality_check": (steps.quality_ok, T.EXCHANGE, {S.AWAITING_SHIPMENT}),
    "ship_replacement": (steps.ship_replacement, T.EXCHANGE, {S.AWAITING_SHIPMENT}),
    "resend_items": (steps.resend, T.RESEND, {S.AWAITING_SHIPMENT}),
    "return_repaired": (steps.return_repaired, T.REPAIR, {S.AWAITING_SHIPMENT}),
    "confirm_buyer_receipt": (steps.confirm, T.EXCHANGE, {S.AWAITING_BUYER_RECEIPT}),
    "convert_to_refund": (steps.convert, T.EXCHANGE, {S.AWAITING_SHIPMENT}),
    "withdraw_case": (steps.withdraw, T.EXCHANGE, STAGE_ONE_OPEN),
    "close_case": (close, T.EXCHANGE, STAGE_ONE_OPEN),
    "reopen_case": (reopen, T.EXCHANGE, {S.REJECTED}),
}

REFUSED = [
    (status, name)
    for name, (_, case_type, allowed) in ACTIONS.items()
    for status in steps.reachable_statuses(case_type)
    if status not in allowed
]


def snapshot(case: Case) -> dict:
    """Everything a refused action must leave exactly as it was."""
    return {
        "case": Case.objects.filter(pk=case.pk).values().get(),
        "events": list(AuditEvent.objects.filter(shop_id=case.shop_id).values_list("pk", "hash")),
        "rows": {
            model.__name__: model.objects.count()
            for model in (
                Evidence,
                Shipment,
                Inspection,
                QualityCheck,
                RefundDecision,
                RefundExecution,
                CaseCost,
            )
        },
        "items": list(case.order.items.values_list("pk", "refunded_amount_fen")),
    }


def test_the_refusal_matrix_tries_every_status_and_every_action_r1_2():
    assert {status for status, _ in REFUSED} == set(S.values)
    assert {name for _, name in REFUSED} == set(ACTIONS)


@pytest.mark.parametrize(("status", "action_name"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_a_refused_transition_raises_409_and_changes_nothing_r1_2(
    shop_a, alice, status, action_name
):
    by = steps.testing.actor(alice)
    action, case_type, _ = ACTIONS[action_name]
    case = steps.case_in(shop_a, status, case_type, by=by)
    before = snapshot(case)

    with pytest.raises(IllegalTransition) as refused:
        action(case, by)

    assert refused.value.status == 409
    assert refused.value.code == "illegal_transition"
    assert status in str(refused.value)
    assert snapshot(case) == before


def test_change_case_refuses_an_edge_outside_the_table_and_unknown_axes_r1_2(shop_a):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    with pytest.raises(IllegalTransition):
        change_case(case, by=steps.SYSTEM, event_type="forced", status=S.COMPLETED)
    with pytest.raises(IllegalTransition):
        change_case(case, by=steps.SYSTEM, event_type="again", status=S.PENDING_REVIEW)
    with pytest.raises(ValueError, match="unknown axes"):
        change_case(case, by=steps.SYSTEM, event_type="odd", colour="red")
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    assert [e.type for e in steps.events_of(case)] == ["case_opened"]


def test_a_closed_case_cannot_be_closed_again_nor_its_note_rewritten_r1_2(shop_a, alice):
    by = steps.testing.actor(alice)
    case = steps.case_in(shop_a, S.PENDING_REVIEW, T.RETURN_REFUND)
    services.close_case(case=case, note="买家联系不上", by=by)
    case.refresh_from_db()
    closed = (case.close_note, case.resolved_at)

    with pytest.raises(IllegalTransition):
        services.close_case(case=case, note="改写关闭原因", by=by)

    case.refresh_from_db()
    assert (case.close_note, case.resolved_at) == closed
    assert [e.type for e in steps.events_of(case)].count("case_closed") == 1
