"""R1.1, R1.3, R3, R4, R9.2: every service of the case lifecycle.

Each test drives a case through `aftersales.cases.services` as a person would, and asserts
the audit event written (type, before/after) and what must NOT happen: a refused request
changes nothing, an approval is not a refund, a failed quality check ships nothing.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import default_storage

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.choices import Priority, RefundStatus, ReturnStatus
from aftersales.cases.models import (
    Case,
    CaseCost,
    CaseItem,
    Evidence,
    Inspection,
    QualityCheck,
    RefundDecision,
    RefundExecution,
)
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, IllegalTransition, InvalidInput
from aftersales.orders.choices import OrderStatus, ShipmentKind, ShipmentStatus
from aftersales.orders.models import Shipment

from . import steps


@pytest.fixture
def by(alice):
    return testing.actor(alice)


def new_events(case, before_pks):
    return list(AuditEvent.objects.filter(case=case).exclude(pk__in=before_pks).order_by("seq"))


def event_pks(case):
    return set(AuditEvent.objects.filter(case=case).values_list("pk", flat=True))


def only_new_event(case, before_pks):
    events = new_events(case, before_pks)
    assert len(events) == 1, [e.type for e in events]
    return events[0]


# --- open_case (R1.1) ------------------------------------------------------------------------


def test_opening_a_case_records_items_snapshot_and_event_r1_1(shop_a, by):
    order = testing.make_order(
        shop_a,
        lines=[testing.Line(quantity=3, paid_amount_fen=9000), testing.Line(paid_amount_fen=500)],
    )
    first, second = order.items.order_by("pk")
    case = services.open_case(
        order=order,
        type=T.RETURN_REFUND,
        reason="wrong_size",
        items=[services.RequestedItem(first, 2)],
        by=by,
        buyer_statement="尺码偏小",
    )
    assert (case.status, case.refund_status, case.return_status) == (
        S.PENDING_REVIEW,
        RefundStatus.NONE,
        ReturnStatus.NOT_REQUIRED,
    )
    assert [(ci.order_item_id, ci.quantity) for ci in case.items.all()] == [(first.pk, 2)]
    assert case.requested_amount_fen == 6000  # what was paid for 2 of 3, not the list price
    assert case.priority == Priority.NORMAL
    snap = case.order_snapshot
    assert snap["status"] == OrderStatus.DELIVERED
    assert [i["paid_amount_fen"] for i in snap["items"]] == [9000, 500]
    [event] = steps.events_of(case)
    assert event.type == "case_opened"
    assert event.before == {}
    assert event.after["status"] == S.PENDING_REVIEW
    assert event.payload["items"] == {str(first.pk): 2}
    assert second.pk not in [ci.order_item_id for ci in case.items.all()]


def test_a_vip_buyers_case_opens_with_high_priority_r2_8(shop_a, by):
    order = testing.make_order(shop_a, vip_level=2)
    assert testing.make_case(order).priority == Priority.HIGH


WRONG_ORDER_STATE = [
    (T.REFUND_UNSHIPPED, OrderStatus.SHIPPED),
    (T.REFUND_UNSHIPPED, OrderStatus.DELIVERED),
    (T.REFUND_SHIPPED, OrderStatus.UNSHIPPED),
    (T.REFUND_SHIPPED, OrderStatus.COMPLETED),
    (T.RETURN_REFUND, OrderStatus.UNSHIPPED),
    (T.EXCHANGE, OrderStatus.UNSHIPPED),
    (T.EXCHANGE, OrderStatus.SHIPPED),
    (T.RESEND, OrderStatus.SHIPPED),
    (T.REPAIR, OrderStatus.UNSHIPPED),
    (T.RETURN_REFUND, OrderStatus.CANCELLED),
    (T.REFUND_UNSHIPPED, OrderStatus.CANCELLED),
]


@pytest.mark.parametrize(("case_type", "order_status"), WRONG_ORDER_STATE)
def test_a_case_type_is_refused_for_the_wrong_order_state_r1_1_r3_1(
    shop_a, by, case_type, order_status
):
    order = testing.make_order(shop_a, status=order_status)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput):
        testing.make_case(order, type=case_type, by=by)
    assert not Case.objects.filter(order=order).exists()
    assert AuditEvent.objects.count() == events


def test_a_case_cannot_name_an_item_of_another_order_r1_1(shop_a, by):
    order = testing.make_order(shop_a)
    other = testing.make_order(shop_a)
    with pytest.raises(InvalidInput, match="does not belong"):
        services.open_case(
            order=order,
            type=T.RETURN_REFUND,
            reason="no_reason",
            items=[services.RequestedItem(other.items.get(), 1)],
            by=by,
        )
    assert not Case.objects.exists()
    assert not CaseItem.objects.exists()


@pytest.mark.parametrize("quantity", [0, 3, -1])
def test_the_quantity_must_be_between_one_and_the_quantity_ordered_r1_1(shop_a, by, quantity):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=2)])
    with pytest.raises(InvalidInput, match="quantity"):
        testing.make_case(order, quantities={order.items.get().pk: quantity}, by=by)
    assert not Case.objects.exists()


def test_an_item_listed_twice_no_items_unknown_type_or_reason_are_refused_r1_1(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=2)])
    item = order.items.get()
    bad = [
        dict(type=T.RETURN_REFUND, reason="no_reason", items=[]),
        dict(type="swap", reason="no_reason", items=[services.RequestedItem(item, 1)]),
        dict(type=T.RETURN_REFUND, reason="bored", items=[services.RequestedItem(item, 1)]),
        dict(
            type=T.RETURN_REFUND,
            reason="no_reason",
            items=[services.RequestedItem(item, 1), services.RequestedItem(item, 1)],
        ),
    ]
    for kwargs in bad:
        with pytest.raises(InvalidInput):
            services.open_case(order=order, by=by, **kwargs)
    assert not Case.objects.exists()


def test_the_requested_amount_cannot_exceed_paid_goods_plus_shipping_r3_2(shop_a, by):
    order = testing.make_order(
        shop_a, lines=[testing.Line(quantity=2, paid_amount_fen=5000)], shipping_fee_fen=800
    )
    with pytest.raises(InvalidInput, match="58.00"):
        testing.make_case(order, requested_amount_fen=5801, by=by)
    with pytest.raises(InvalidInput):
        testing.make_case(order, requested_amount_fen=-1, by=by)
    assert not Case.objects.exists()
    case = testing.make_case(order, requested_amount_fen=5800, by=by)
    assert case.requested_amount_fen == 5800


def test_a_non_refund_case_requests_no_money_by_default_r1_1(shop_a, by):
    case = steps.new_case(shop_a, T.EXCHANGE)
    assert case.requested_amount_fen == 0


# --- approve_case (R1.3 stage 1) -------------------------------------------------------------

APPROVE_TARGETS = [
    (T.REFUND_UNSHIPPED, S.AWAITING_REFUND, ReturnStatus.NOT_REQUIRED),
    (T.REFUND_SHIPPED, S.AWAITING_REFUND, ReturnStatus.NOT_REQUIRED),
    (T.RETURN_REFUND, S.AWAITING_RETURN, ReturnStatus.AWAITING_SHIPMENT),
    (T.EXCHANGE, S.AWAITING_RETURN, ReturnStatus.AWAITING_SHIPMENT),
    (T.REPAIR, S.AWAITING_RETURN, ReturnStatus.AWAITING_SHIPMENT),
    (T.RESEND, S.AWAITING_SHIPMENT, ReturnStatus.NOT_REQUIRED),
]


@pytest.mark.parametrize(("case_type", "target", "return_status"), APPROVE_TARGETS)
def test_stage_one_approval_moves_each_type_to_its_next_step_r1_3(
    shop_a, by, case_type, target, return_status
):
    case = steps.new_case(shop_a, case_type)
    seen = event_pks(case)

    services.approve_case(case=case, by=by, note="同意")

    case.refresh_from_db()
    assert (case.status, case.return_status) == (target, return_status)
    assert case.approved_at is not None
    event = only_new_event(case, seen)
    assert event.type == "case_approved"
    assert event.before["status"] == S.PENDING_REVIEW
    assert event.after["status"] == target
    assert event.payload["note"] == "同意"
    # An approval is not a refund: nothing is decided or paid yet.
    assert case.refund_status == RefundStatus.NONE
    assert not RefundDecision.objects.exists()
    assert case.order.items.get().refunded_amount_fen == 0


# --- reject_case (R1.3) ----------------------------------------------------------------------


def test_rejecting_records_the_reason_code_and_note_r1_3(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    services.reject_case(case=case, reason_code="beyond_window", note="已超过七天", by=by)
    case.refresh_from_db()
    assert (case.status, case.reject_reason, case.reject_note) == (
        S.REJECTED,
        "beyond_window",
        "已超过七天",
    )
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "case_rejected",
        {"status": S.PENDING_REVIEW},
        {"status": S.REJECTED},
    )
    assert event.payload["stage"] == 1
    assert event.payload["reject_reason"] == "beyond_window"


@pytest.mark.parametrize(
    ("reason_code", "note", "message"),
    [
        ("", "理由", "reject reason"),
        ("bogus", "理由", "reject reason"),
        ("beyond_window", "   ", "Explain"),
        ("goods_used", "商品已使用", "needs evidence"),
        ("not_quality_issue", "非质量问题", "needs evidence"),
        # The platform refuses these without the chat screenshot (R13.1, platform rule §8).
        ("agreed_other_solution", "已与买家协商换货", "needs evidence"),
        ("other", "其他原因", "needs evidence"),
        # Nothing came back yet: the reason belongs to the second review.
        ("return_not_received", "未收到退货", "does not apply"),
    ],
)
def test_a_rejection_needs_a_known_code_a_note_and_evidence_where_the_code_says_r1_3(
    shop_a, by, reason_code, note, message
):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput, match=message):
        services.reject_case(case=case, reason_code=reason_code, note=note, by=by)
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    assert case.reject_reason == ""
    assert new_events(case, seen) == []


def test_a_rejection_with_evidence_names_the_case_s_own_evidence_r1_3_r4_1(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    photo = steps.attach_photo(case, by=by)
    seen = event_pks(case)
    services.reject_case(
        case=case, reason_code="goods_used", note="吊牌已剪", by=by, evidence_ids=[photo.pk]
    )
    case.refresh_from_db()
    assert case.status == S.REJECTED
    assert only_new_event(case, seen).payload["evidence"] == [photo.pk]


def test_a_rejection_cannot_cite_another_case_s_evidence_r1_3(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    other = steps.new_case(shop_a, T.RETURN_REFUND)
    foreign = steps.attach_photo(other, by=by)
    own = steps.attach_photo(case, by=by)
    seen = event_pks(case)
    with pytest.raises(InvalidInput, match="does not belong"):
        services.reject_case(
            case=case,
            reason_code="goods_used",
            note="吊牌已剪",
            by=by,
            evidence_ids=[own.pk, foreign.pk],
        )
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    assert new_events(case, seen) == []


def test_a_stage_two_rejection_refuses_a_reason_of_the_first_review_r1_3(shop_a, by):
    """R1.3, R13.1: "outside the return period" means nothing once the goods came back; the
    platform does not offer it there either (it would be sent as 其他, which needs evidence)."""
    case = steps.case_in(shop_a, S.PENDING_FINAL_REVIEW, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput, match="does not apply"):
        services.reject_case(case=case, reason_code="beyond_window", note="超过七天", by=by)
    case.refresh_from_db()
    assert case.status == S.PENDING_FINAL_REVIEW
    assert new_events(case, seen) == []


def test_a_refusal_made_on_the_platform_is_recorded_without_our_evidence_rules_r13_1(shop_a):
    """The platform checked its own rules when the merchant refused in its back-office."""
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    services.reject_case(
        case=case,
        reason_code="agreed_other_solution",
        note="商家已在抖店平台拒绝",
        by=Actor.platform("douyin"),
    )
    case.refresh_from_db()
    assert case.status == S.REJECTED


def test_a_stage_two_rejection_is_recorded_as_stage_two_r1_3(shop_a, by):
    case = steps.case_in(shop_a, S.PENDING_FINAL_REVIEW, T.RETURN_REFUND)
    photo = steps.attach_photo(case, by=by)
    seen = event_pks(case)
    services.reject_case(
        case=case,
        reason_code="returned_damaged",
        note="退回商品有人为损坏",
        by=by,
        evidence_ids=[photo.pk],
    )
    event = only_new_event(case, seen)
    assert event.payload["stage"] == 2
    assert event.before == {"status": S.PENDING_FINAL_REVIEW}
    assert not RefundDecision.objects.exists()


# --- evidence (R4.1) -------------------------------------------------------------------------


def test_requesting_evidence_makes_the_case_wait_for_the_buyer_r4_1(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    services.request_evidence(case=case, note="请拍摄开线处", by=by)
    case.refresh_from_db()
    assert (case.status, case.evidence_request_note) == (S.AWAITING_EVIDENCE, "请拍摄开线处")
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "evidence_requested",
        {"status": S.PENDING_REVIEW},
        {"status": S.AWAITING_EVIDENCE},
    )
    with pytest.raises(InvalidInput):
        services.request_evidence(case=steps.new_case(shop_a), note=" ", by=by)


def test_the_buyer_s_evidence_is_stored_with_its_hash_and_the_case_returns_to_review_r4_1(
    shop_a, by
):
    case = steps.case_in(shop_a, S.AWAITING_EVIDENCE, T.RETURN_REFUND)
    content = testing.png_bytes(top=(1, 2, 3))
    buyer = Actor.buyer("buyer:买家1")
    seen = event_pks(case)

    services.record_buyer_evidence(
        case=case,
        uploads=[services.Upload(io.BytesIO(content), "IMG_0001.PNG")],
        by=buyer,
        note="开线",
    )

    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    evidence = Evidence.objects.get(case=case)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert (evidence.size_bytes, evidence.content_type, evidence.kind, evidence.source) == (
        len(content),
        "image/png",
        "image",
        "buyer",
    )
    assert evidence.original_name == "IMG_0001.PNG"
    assert "IMG_0001" not in evidence.file.name  # stored under a generated name
    with default_storage.open(evidence.file.name, "rb") as stored:
        assert stored.read() == content
    # The evidence is recorded, and the policy decides again by itself (its reaction).
    event, redecided = new_events(case, seen)
    assert redecided.type == "policy_decided" and redecided.actor_kind == "system"
    assert event.type == "buyer_evidence_recorded"
    assert (event.before, event.after) == (
        {"status": S.AWAITING_EVIDENCE},
        {"status": S.PENDING_REVIEW},
    )
    assert event.payload["evidence"] == [evidence.pk]
    assert event.actor_kind == "buyer"


def test_evidence_sent_while_under_review_keeps_the_status_r4_1(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    services.record_buyer_evidence(case=case, uploads=[steps.png_upload()], by=by)
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    event, redecided = new_events(case, seen)
    assert (event.type, event.before, event.after) == ("buyer_evidence_recorded", {}, {})
    assert redecided.type == "policy_decided"  # the policy weighs the evidence by itself


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,  # a Windows .exe
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"",
    ],
    ids=["exe", "svg", "pdf", "empty"],
)
def test_a_non_image_renamed_jpg_is_refused_and_nothing_is_stored_r4_1(shop_a, by, content):
    case = steps.case_in(shop_a, S.AWAITING_EVIDENCE, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput):
        services.record_buyer_evidence(
            case=case, uploads=[services.Upload(io.BytesIO(content), "photo.jpg")], by=by
        )
    case.refresh_from_db()
    assert case.status == S.AWAITING_EVIDENCE
    assert not Evidence.objects.exists()
    assert new_events(case, seen) == []


def test_one_bad_file_among_good_ones_stores_none_of_them_r4_1(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_EVIDENCE, T.RETURN_REFUND)
    uploads = [steps.png_upload(), services.Upload(io.BytesIO(b"GIF89a-not-allowed"), "x.jpg")]
    with pytest.raises(InvalidInput):
        services.record_buyer_evidence(case=case, uploads=uploads, by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_EVIDENCE
    assert not Evidence.objects.exists()


def test_evidence_needs_at_least_one_file_r4_1(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_EVIDENCE, T.RETURN_REFUND)
    with pytest.raises(InvalidInput):
        services.record_buyer_evidence(case=case, uploads=[], by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_EVIDENCE


def test_evidence_from_an_unknown_source_is_refused_r4_1(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput):
        steps.attach_photo(case, by=by, source="platform")
    assert not Evidence.objects.exists()
    assert new_events(case, seen) == []


def test_the_merchant_attaches_evidence_with_an_audit_event_r4_1(shop_a, by):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    evidence = steps.attach_photo(case, by=by)
    assert evidence.source == "merchant"
    event = only_new_event(case, seen)
    assert event.type == "evidence_attached"
    assert event.payload["sha256"] == evidence.sha256
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW


# --- return logistics and inspection (R4.2) --------------------------------------------------


def test_the_buyer_s_return_shipment_is_tracked_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_RETURN, T.RETURN_REFUND)
    seen = event_pks(case)
    services.record_return_shipment(case=case, carrier=" SF ", tracking_number="SF100", by=by)
    case.refresh_from_db()
    assert (case.status, case.return_status) == (S.AWAITING_RETURN, ReturnStatus.IN_TRANSIT)
    shipment = Shipment.objects.get(case=case)
    assert (shipment.kind, shipment.carrier, shipment.tracking_number) == (
        ShipmentKind.RETURN,
        "SF",
        "SF100",
    )
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "return_shipped",
        {"return_status": ReturnStatus.AWAITING_SHIPMENT},
        {"return_status": ReturnStatus.IN_TRANSIT},
    )


def test_a_return_shipment_needs_carrier_and_tracking_number_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_RETURN, T.RETURN_REFUND)
    with pytest.raises(InvalidInput):
        services.record_return_shipment(case=case, carrier="SF", tracking_number=" ", by=by)
    case.refresh_from_db()
    assert case.return_status == ReturnStatus.AWAITING_SHIPMENT
    assert not Shipment.objects.exists()


def test_receiving_the_return_starts_inspection_and_marks_the_parcel_delivered_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_RETURN, T.RETURN_REFUND)
    steps.ship_return(case, by)
    seen = event_pks(case)
    services.receive_return(case=case, by=by)
    case.refresh_from_db()
    assert (case.status, case.return_status) == (S.AWAITING_INSPECTION, ReturnStatus.RECEIVED)
    assert Shipment.objects.get(case=case).status == ShipmentStatus.DELIVERED
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "return_received",
        {"status": S.AWAITING_RETURN, "return_status": ReturnStatus.IN_TRANSIT},
        {"status": S.AWAITING_INSPECTION, "return_status": ReturnStatus.RECEIVED},
    )


def test_a_passed_inspection_goes_to_second_review_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_INSPECTION, T.RETURN_REFUND)
    seen = event_pks(case)
    inspection = services.inspect_return(case=case, result="pass", condition="good", by=by)
    case.refresh_from_db()
    assert (case.status, case.return_status) == (S.PENDING_FINAL_REVIEW, ReturnStatus.INSPECTED)
    assert (inspection.result, inspection.condition, inspection.inspected_by) == (
        "pass",
        "good",
        "alice",
    )
    event = only_new_event(case, seen)
    assert event.type == "return_inspected"
    assert event.after == {"status": S.PENDING_FINAL_REVIEW, "return_status": "inspected"}
    assert (event.payload["result"], event.payload["photos"]) == ("pass", [])
    assert not RefundDecision.objects.exists()  # inspection decides nothing about money


def test_a_failed_inspection_needs_notes_and_links_its_photos_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_INSPECTION, T.RETURN_REFUND)
    photos = [steps.attach_photo(case, by=by, source="inspection") for _ in range(2)]
    seen = event_pks(case)
    with pytest.raises(InvalidInput, match="failed"):
        services.inspect_return(
            case=case,
            result="fail",
            condition="damaged",
            notes="  ",
            photo_ids=[p.pk for p in photos],
            by=by,
        )
    case.refresh_from_db()
    assert case.status == S.AWAITING_INSPECTION
    assert not Inspection.objects.exists()
    assert new_events(case, seen) == []
    assert all(p.inspection_id is None for p in Evidence.objects.filter(case=case))

    inspection = services.inspect_return(
        case=case,
        result="fail",
        condition="damaged",
        notes="屏幕有划痕",
        photo_ids=[p.pk for p in photos],
        by=by,
    )
    assert set(inspection.photos.values_list("pk", flat=True)) == {p.pk for p in photos}
    assert only_new_event(case, seen).payload["photos"] == [p.pk for p in photos]


def test_an_inspection_refuses_unknown_results_and_foreign_photos_r4_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_INSPECTION, T.RETURN_REFUND)
    foreign = steps.attach_photo(steps.new_case(shop_a), by=by)
    for kwargs in (
        dict(result="maybe", condition="good"),
        dict(result="pass", condition="like new"),
        dict(result="pass", condition="good", photo_ids=[foreign.pk]),
    ):
        with pytest.raises(InvalidInput):
            services.inspect_return(case=case, by=by, **kwargs)
    case.refresh_from_db()
    assert case.status == S.AWAITING_INSPECTION
    assert not Inspection.objects.exists()
    foreign.refresh_from_db()
    assert foreign.inspection_id is None


@pytest.mark.parametrize(
    ("case_type", "target"),
    [
        (T.RETURN_REFUND, S.AWAITING_REFUND),
        (T.EXCHANGE, S.AWAITING_SHIPMENT),
        (T.REPAIR, S.AWAITING_SHIPMENT),
    ],
)
def test_second_review_approval_leads_to_refund_or_shipment_by_type_r1_3(
    shop_a, by, case_type, target
):
    case = steps.case_in(shop_a, S.PENDING_FINAL_REVIEW, case_type)
    seen = event_pks(case)
    services.approve_after_inspection(case=case, by=by)
    case.refresh_from_db()
    assert case.status == target
    assert case.final_approved_at is not None
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "case_final_approved",
        {"status": S.PENDING_FINAL_REVIEW},
        {"status": target},
    )
    assert case.refund_status == RefundStatus.NONE
    assert not RefundDecision.objects.exists()


# --- refund (R3.4) ---------------------------------------------------------------------------


def test_a_refund_is_decided_then_executed_with_events_for_each_r3_4(
    shop_a, by, django_capture_on_commit_callbacks
):
    case = steps.case_in(shop_a, S.AWAITING_REFUND, T.REFUND_UNSHIPPED)
    seen = event_pks(case)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision = services.refund_case(case=case, by=by)
    case.refresh_from_db()
    # Decided, not yet carried out: the case waits for the execution.
    assert (case.status, case.refund_status) == (S.AWAITING_REFUND, RefundStatus.PENDING)
    assert decision.execution.status == "pending"
    decided = only_new_event(case, seen)
    assert (decided.type, decided.before, decided.after) == (
        "refund_decided",
        {"refund_status": RefundStatus.NONE},
        {"refund_status": RefundStatus.PENDING},
    )
    assert decided.payload["goods_amount_fen"] == 8800
    assert len(callbacks) == 1

    seen = event_pks(case)
    callbacks[0]()  # the worker picks it up after commit
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (S.COMPLETED, RefundStatus.REFUNDED)
    assert case.resolved_at is not None
    executed = only_new_event(case, seen)
    assert executed.type == "refund_executed"
    assert executed.after == {"status": S.COMPLETED, "refund_status": RefundStatus.REFUNDED}
    assert executed.payload["amount_fen"] == 8800


def test_a_refund_is_refused_unless_the_case_awaits_it_r3_4(shop_a, by):
    case = steps.case_in(shop_a, S.PENDING_REVIEW, T.REFUND_UNSHIPPED)
    with pytest.raises(IllegalTransition):
        services.refund_case(case=case, by=by)
    assert not RefundDecision.objects.exists()
    assert case.order.items.get().refunded_amount_fen == 0


# --- exchange, resend, repair (R4.3) ---------------------------------------------------------


def test_an_exchange_ships_only_after_a_passed_quality_check_r4_3(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.EXCHANGE)
    with pytest.raises(Conflict, match="quality check"):
        steps.ship_replacement(case, by)  # no check at all
    seen = event_pks(case)
    check = services.record_quality_check(
        case=case, quality_ok=True, packaging_intact=True, notes="外观完好", by=by
    )
    assert check.passed
    event = only_new_event(case, seen)
    assert (event.type, event.payload["passed"], event.before, event.after) == (
        "quality_checked",
        True,
        {},
        {},
    )

    seen = event_pks(case)
    services.ship_replacement(case=case, carrier="SF", tracking_number="SF777", by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_BUYER_RECEIPT
    shipment = Shipment.objects.get(case=case, kind=ShipmentKind.EXCHANGE)
    assert shipment.tracking_number == "SF777"
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "replacement_shipped",
        {"status": S.AWAITING_SHIPMENT},
        {"status": S.AWAITING_BUYER_RECEIPT},
    )


@pytest.mark.parametrize(("quality_ok", "packaging_intact"), [(False, True), (True, False)])
def test_a_failed_quality_check_blocks_the_replacement_r4_3(
    shop_a, by, quality_ok, packaging_intact
):
    case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.EXCHANGE)
    steps.quality_ok(case, by)  # an earlier pass does not count once a later check fails
    services.record_quality_check(
        case=case, quality_ok=quality_ok, packaging_intact=packaging_intact, notes="x", by=by
    )
    seen = event_pks(case)
    with pytest.raises(Conflict):
        steps.ship_replacement(case, by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_SHIPMENT
    assert not Shipment.objects.filter(case=case, kind=ShipmentKind.EXCHANGE).exists()
    assert new_events(case, seen) == []
    assert QualityCheck.objects.filter(case=case).count() == 2


def test_a_quality_check_is_only_for_an_exchange_awaiting_shipment_r4_3(shop_a, by):
    resend_case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.RESEND)
    with pytest.raises(IllegalTransition):
        steps.quality_ok(resend_case, by)
    assert not QualityCheck.objects.exists()


def test_missing_items_are_resent_and_the_buyer_confirms_receipt_r1_1(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.RESEND, reason="missing_item")
    services.resend_items(case=case, carrier="ZTO", tracking_number="ZT1", by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_BUYER_RECEIPT
    shipment = Shipment.objects.get(case=case)
    assert shipment.kind == ShipmentKind.RESEND

    seen = event_pks(case)
    services.confirm_buyer_receipt(case=case, by=by)
    case.refresh_from_db()
    assert case.status == S.COMPLETED
    assert case.resolved_at is not None
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "buyer_received",
        {"status": S.AWAITING_BUYER_RECEIPT},
        {"status": S.COMPLETED},
    )
    # A resend never refunds anything.
    assert not RefundDecision.objects.exists()


def test_resend_and_repair_shipments_are_refused_for_other_case_types_r1_2(shop_a, by):
    exchange = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.EXCHANGE)
    with pytest.raises(IllegalTransition):
        steps.resend(exchange, by)
    with pytest.raises(IllegalTransition):
        steps.return_repaired(exchange, by)
    resend_case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.RESEND)
    with pytest.raises(IllegalTransition):
        steps.ship_replacement(resend_case, by)
    assert not Shipment.objects.filter(kind__in=["resend", "repair", "exchange"]).exists()


def test_repaired_goods_go_back_with_what_was_repaired_r1_1(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.REPAIR, reason="functional_fault")
    with pytest.raises(InvalidInput):
        services.return_repaired(
            case=case, carrier="JD", tracking_number="JD1", repair_notes=" ", by=by
        )
    seen = event_pks(case)
    services.return_repaired(
        case=case, carrier="JD", tracking_number="JD1", repair_notes="更换电池", by=by
    )
    case.refresh_from_db()
    assert case.status == S.AWAITING_BUYER_RECEIPT
    assert Shipment.objects.filter(case=case, kind=ShipmentKind.REPAIR).count() == 1
    event = only_new_event(case, seen)
    assert event.type == "repaired_goods_shipped"
    assert event.payload["repair_notes"] == "更换电池"


def test_an_exchange_out_of_stock_becomes_a_refund_of_what_was_paid_r3_2(
    shop_a, by, django_capture_on_commit_callbacks
):
    case = steps.case_in(
        shop_a,
        S.AWAITING_SHIPMENT,
        T.EXCHANGE,
        lines=[testing.Line(quantity=1, list_price_fen=12900, paid_amount_fen=9900)],
    )
    with pytest.raises(InvalidInput):
        services.convert_to_refund(case=case, note="", by=by)
    seen = event_pks(case)
    services.convert_to_refund(case=case, note="缺货", by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_REFUND
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "converted_to_refund",
        {"status": S.AWAITING_SHIPMENT},
        {"status": S.AWAITING_REFUND},
    )
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.refund_case(case=case, by=by)
    assert decision.goods_amount_fen == 9900
    case.refresh_from_db()
    assert case.status == S.COMPLETED


def test_only_an_exchange_awaiting_shipment_can_be_converted_r1_2(shop_a, by):
    resend_case = steps.case_in(shop_a, S.AWAITING_SHIPMENT, T.RESEND)
    with pytest.raises(IllegalTransition):
        steps.convert(resend_case, by)
    resend_case.refresh_from_db()
    assert resend_case.status == S.AWAITING_SHIPMENT


# --- withdraw, close, reopen -----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [S.PENDING_REVIEW, S.AWAITING_EVIDENCE, S.AWAITING_RETURN, S.REJECTED]
)
def test_the_buyer_withdraws_an_open_request_r1_2(shop_a, status):
    case = steps.case_in(shop_a, status, T.RETURN_REFUND)
    buyer = Actor.buyer("buyer:1")
    seen = event_pks(case)
    services.withdraw_case(case=case, by=buyer)
    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert case.resolved_at is not None
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "case_withdrawn",
        {"status": status},
        {"status": S.CLOSED},
    )


def test_a_request_cannot_be_withdrawn_once_a_refund_is_decided_r3_4(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_REFUND, T.REFUND_UNSHIPPED)
    decision = services.refund_case(case=case, by=by)
    seen = event_pks(case)
    with pytest.raises(IllegalTransition):
        services.withdraw_case(case=case, by=Actor.buyer("buyer:1"))
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (S.AWAITING_REFUND, RefundStatus.PENDING)
    assert RefundDecision.objects.filter(pk=decision.pk).exists()
    assert new_events(case, seen) == []


def test_a_case_is_closed_with_a_note_r1_2(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_RETURN, T.RETURN_REFUND)
    with pytest.raises(InvalidInput):
        services.close_case(case=case, note="", by=by)
    seen = event_pks(case)
    services.close_case(case=case, note="买家超时未寄回", by=by)
    case.refresh_from_db()
    assert (case.status, case.close_note) == (S.CLOSED, "买家超时未寄回")
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "case_closed",
        {"status": S.AWAITING_RETURN},
        {"status": S.CLOSED},
    )
    assert event.payload["close_note"] == "买家超时未寄回"


def test_a_case_with_a_refund_in_progress_cannot_be_closed_r3_4(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_REFUND, T.REFUND_UNSHIPPED)
    services.refund_case(case=case, by=by)
    seen = event_pks(case)
    with pytest.raises(Conflict):
        services.close_case(case=case, note="关单", by=by)
    case.refresh_from_db()
    assert (case.status, case.refund_status, case.close_note) == (
        S.AWAITING_REFUND,
        RefundStatus.PENDING,
        "",
    )
    assert new_events(case, seen) == []


def test_a_rejected_case_is_reopened_and_the_rejection_cleared_r1_3(shop_a, by):
    case = steps.case_in(shop_a, S.REJECTED, T.RETURN_REFUND)
    assert case.reject_reason == "no_evidence"
    seen = event_pks(case)
    services.reopen_case(case=case, note="买家补充了照片", by=by)
    case.refresh_from_db()
    assert (case.status, case.reject_reason, case.reject_note) == (S.PENDING_REVIEW, "", "")
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == (
        "case_reopened",
        {"status": S.REJECTED},
        {"status": S.PENDING_REVIEW},
    )
    assert event.payload["note"] == "买家补充了照片"
    # And it is reviewed again from the start.
    services.approve_case(case=case, by=by)
    case.refresh_from_db()
    assert case.status == S.AWAITING_RETURN


# --- costs and assignment --------------------------------------------------------------------


def test_a_cost_is_recorded_against_the_case_with_who_pays_r4_4(shop_a, by):
    case = steps.case_in(shop_a, S.AWAITING_RETURN, T.RETURN_REFUND)
    seen = event_pks(case)
    cost = services.add_cost(
        case=case,
        kind="return_shipping",
        amount_fen=1200,
        payer="merchant",
        note="顺丰到付",
        by=by,
    )
    assert (cost.shop_id, cost.amount_fen, cost.payer, cost.recorded_by) == (
        shop_a.pk,
        1200,
        "merchant",
        "alice",
    )
    event = only_new_event(case, seen)
    assert (event.type, event.before, event.after) == ("cost_recorded", {}, {})
    assert event.payload == {
        "cost": cost.pk,
        "kind": "return_shipping",
        "amount_fen": 1200,
        "payer": "merchant",
    }
    case.refresh_from_db()
    assert case.status == S.AWAITING_RETURN  # a cost moves nothing


@pytest.mark.parametrize(
    ("kind", "amount_fen", "payer"),
    [
        ("return_shipping", 0, "merchant"),
        ("return_shipping", -100, "merchant"),
        ("bribe", 100, "merchant"),
        ("return_shipping", 100, "nobody"),
    ],
)
def test_a_cost_with_a_bad_amount_kind_or_payer_is_refused_r4_4(
    shop_a, by, kind, amount_fen, payer
):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput):
        services.add_cost(case=case, kind=kind, amount_fen=amount_fen, payer=payer, by=by)
    assert not CaseCost.objects.exists()
    assert new_events(case, seen) == []


def test_a_case_is_assigned_only_to_a_member_of_its_shop_r9_2(shop_a, by, alice, carol):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    bob = testing.make_user("bob", shop_a)
    seen = event_pks(case)
    services.assign_case(case=case, assignee=bob, by=by)
    case.refresh_from_db()
    assert case.assignee_id == bob.pk
    event = only_new_event(case, seen)
    assert (event.type, event.payload["assignee"], event.before, event.after) == (
        "case_assigned",
        bob.pk,
        {},
        {},
    )

    seen = event_pks(case)
    outsider = testing.make_user("olga")  # a member of no shop
    for stranger in (carol, outsider):
        with pytest.raises(InvalidInput, match="not a member"):
            services.assign_case(case=case, assignee=stranger, by=by)
    case.refresh_from_db()
    assert case.assignee_id == bob.pk
    assert new_events(case, seen) == []

    services.assign_case(case=case, assignee=None, by=by)
    case.refresh_from_db()
    assert case.assignee_id is None


def test_a_case_is_not_assigned_to_a_read_only_auditor_r9_2(shop_a, by, audrey):
    case = steps.new_case(shop_a, T.RETURN_REFUND)
    seen = event_pks(case)
    with pytest.raises(InvalidInput, match="role"):
        services.assign_case(case=case, assignee=audrey, by=by)
    case.refresh_from_db()
    assert case.assignee_id is None
    assert new_events(case, seen) == []


def test_the_full_return_path_leaves_one_execution_and_a_complete_trail_r1_3_r6_2(shop_a, by):
    case = steps.case_in(
        shop_a,
        S.COMPLETED,
        T.RETURN_REFUND,
        lines=[testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=15000)],
        by=by,
    )
    assert RefundExecution.objects.get(decision__case=case).amount_fen == 15000
    assert case.order.items.get().refunded_amount_fen == 15000
    assert [e.type for e in steps.events_of(case)] == [
        "case_opened",
        "case_approved",
        "return_shipped",
        "return_received",
        "return_inspected",
        "case_final_approved",
        "refund_decided",
        "refund_executed",
    ]


def test_a_case_rejected_at_the_second_review_cannot_be_reopened_r1_3(shop_a, by):
    case = steps.case_in(shop_a, S.PENDING_FINAL_REVIEW, T.RETURN_REFUND)
    photo = steps.attach_photo(case, by=by)
    services.reject_case(
        case=case,
        reason_code="agreed_other_solution",
        note="已与买家协商换货",
        by=by,
        evidence_ids=[photo.pk],
    )
    events_before = len(steps.events_of(case))

    with pytest.raises(IllegalTransition):
        services.reopen_case(case=case, note="买家想重新申请", by=by)

    case.refresh_from_db()
    assert case.status == S.REJECTED
    assert len(steps.events_of(case)) == events_before
