"""Every write endpoint of the v1 API, for every kind of caller.

Proves, for each POST in aftersales/api/api.py:
- R1.2 / R1.3: an agent of the case's shop moves the case along its state machine (both
  review stages), and the change is on the audit trail (R6.2) under the agent's name;
- tenant isolation: an agent of another shop gets 404, exactly as for a missing case, and
  nothing in the database changes — no row, no audit event, no stored file;
- anonymous callers get 401 ``unauthenticated`` (even with CSRF enforced);
- R6.2 roles: the shop's auditor reads but gets 403 ``permission_denied`` on every write;
- R1.2: an illegal transition is refused with 409 ``illegal_transition`` and changes nothing;
- R3.2: a refund above what was paid is refused with 409 ``refund_cap_exceeded``;
- R3.4: a second refund click is refused with 409 and there is still exactly one
  RefundExecution; the money moves once;
- errors are JSON with ``code``, ``message``, ``message_zh`` (Chinese, once the catalogue
  exists) and ``message_en`` (English).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus, RefundStatus, ReturnStatus
from aftersales.cases.models import Case, RefundDecision, RefundExecution
from aftersales.disputes import services as disputes
from aftersales.disputes.models import EvidencePackage, Intervention, Offer
from aftersales.orders.models import Order
from aftersales.platforms.douyin.tests import factories as douyin_factories
from aftersales.testing import png_bytes

from .support import (
    API,
    COUNTING_GATEWAY,
    FAILING_GATEWAY,
    CountingGateway,
    assert_error,
    db_state,
    mp4_bytes,
    post_json,
)

SYSTEM = testing.SYSTEM


# --- Cases in each state, built through the services ------------------------------------------


def pending(shop, type: str = "return_refund", reason: str = "no_reason") -> Case:
    return testing.make_case(testing.make_order(shop), type=type, reason=reason)


def awaiting_evidence(shop) -> Case:
    case = pending(shop, reason="quality_issue")
    return services.request_evidence(case=case, note="请上传破损处的照片", by=SYSTEM)


def awaiting_return(shop) -> Case:
    return services.approve_case(case=pending(shop), by=SYSTEM)


def awaiting_inspection(shop, type: str = "return_refund", reason: str = "no_reason") -> Case:
    case = services.approve_case(case=pending(shop, type, reason), by=SYSTEM)
    return services.receive_return(case=case, by=SYSTEM)


def pending_final_review(shop, type: str = "return_refund", reason: str = "no_reason") -> Case:
    case = awaiting_inspection(shop, type, reason)
    services.inspect_return(case=case, result="pass", condition="good", by=SYSTEM)
    return Case.objects.get(pk=case.pk)


def awaiting_refund(shop) -> Case:
    return services.approve_after_inspection(case=pending_final_review(shop), by=SYSTEM)


def refund_failed(shop) -> Case:
    case = awaiting_refund(shop)
    decision = services.refund_case(case=case, by=SYSTEM)
    with override_settings(AFTERSALES_REFUND_GATEWAY=FAILING_GATEWAY):
        services.execute_refund(execution=decision.execution, by=SYSTEM)
    case.refresh_from_db()
    assert case.refund_status == RefundStatus.FAILED
    return case


def exchange_awaiting_shipment(shop) -> Case:
    case = pending_final_review(shop, "exchange", "wrong_size")
    return services.approve_after_inspection(case=case, by=SYSTEM)


def exchange_checked(shop) -> Case:
    case = exchange_awaiting_shipment(shop)
    services.record_quality_check(case=case, quality_ok=True, packaging_intact=True, by=SYSTEM)
    return case


def resend_awaiting_shipment(shop) -> Case:
    return services.approve_case(case=pending(shop, "resend", "missing_item"), by=SYSTEM)


def repair_awaiting_shipment(shop) -> Case:
    case = pending_final_review(shop, "repair", "functional_fault")
    return services.approve_after_inspection(case=case, by=SYSTEM)


def awaiting_buyer_receipt(shop) -> Case:
    case = resend_awaiting_shipment(shop)
    return services.resend_items(case=case, carrier="SF", tracking_number="SF0001", by=SYSTEM)


def rejected(shop) -> Case:
    return services.reject_case(
        case=pending(shop), reason_code="no_evidence", note="买家未提供凭证", by=SYSTEM
    )


def an_order(shop) -> Order:
    return testing.make_order(shop)


def disputed(shop) -> Case:
    """Rejected, under the platform's intervention, with a photo, a package and an offer."""
    from aftersales.platforms.douyin.ingest import record_platform_dispute

    case = rejected(shop)
    record_platform_dispute(
        case=case,
        dispute_status="platform_intervening",
        details={"arbitrate_id": "ARB-1", "evidence_deadline": "2099-01-01T00:00:00+08:00"},
    )
    services.attach_evidence(
        case=case,
        upload=services.Upload(io.BytesIO(png_bytes()), "a.png"),
        source="merchant",
        by=SYSTEM,
    )
    disputes.build_package(case=case, by=SYSTEM)
    disputes.make_offer(case=case, kind="partial_refund", amount_fen=1000, by=SYSTEM)
    return Case.objects.get(pk=case.pk)


def ruled_for_buyer(shop) -> Case:
    from aftersales.platforms.douyin.ingest import record_platform_dispute

    case = disputed(shop)
    record_platform_dispute(case=case, dispute_status="ruled_for_buyer", details={})
    disputes.execute_ruling(Intervention.objects.get(case=case).pk)
    return Case.objects.get(pk=case.pk)


def appealed(shop) -> Case:
    case = ruled_for_buyer(shop)
    disputes.file_appeal(case=case, statement="照片与商品不符", by=SYSTEM)
    return case


# --- The table of write endpoints ------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One POST endpoint: how to get a target in the right state, what to send, and what a
    successful call must have changed."""

    name: str
    path: str  # relative to /api/v1/cases; {id} is the case
    setup: Callable[[Any], Any]
    payload: Callable[[Any, dict[str, Any]], dict[str, Any]] = lambda target, ctx: {}
    multipart: bool = False
    status: int = 200
    event: str = ""
    check: Callable[[Any, dict[str, Any]], Any] = lambda case, body: True

    def url(self, target: Any) -> str:
        # Clock endpoints name a clock; the table exercises the review clock. The dispute
        # endpoints name the case's latest offer and evidence package.
        path = self.path.replace("{id}", str(target.pk)).replace("{kind}", "review")
        if "{offer_id}" in path or "{package_id}" in path:
            offer = Offer.objects.filter(case_id=target.pk).order_by("-pk").first()
            package = EvidencePackage.objects.filter(case_id=target.pk).order_by("-pk").first()
            path = path.replace("{offer_id}", str(offer.pk if offer else 0))
            path = path.replace("{package_id}", str(package.pk if package else 0))
        return "/cases" + path

    def send(self, client: Client, target: Any, ctx: dict[str, Any]):
        data = self.payload(target, ctx)
        if self.multipart:
            return client.post(API + self.url(target), data)
        return post_json(client, self.url(target), data)


def png_upload(name: str = "IMG_0001.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def _check_open(case: Case, body: dict[str, Any]) -> bool:
    assert case.status == CaseStatus.PENDING_REVIEW
    assert body["id"] == case.pk and body["status"] == "pending_review"
    assert [i["quantity"] for i in body["items"]] == [1]
    return True


def _check_refund(case: Case, body: dict[str, Any]) -> bool:
    assert case.refund_status == RefundStatus.PENDING
    decision = RefundDecision.objects.get(case=case)
    assert decision.goods_amount_fen == 8800  # what was paid, not the 10000 list price (R3.2)
    assert RefundExecution.objects.filter(decision=decision).count() == 1
    assert case.order.items.get().refunded_amount_fen == 8800
    assert body["refund"]["goods_amount_fen"] == 8800
    return True


def _check_retry(case: Case, body: dict[str, Any]) -> bool:
    assert case.refund_status == RefundStatus.PENDING
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    return True


ENDPOINTS = [
    Endpoint(
        "open",
        "",
        an_order,
        payload=lambda order, ctx: {
            "order_id": order.platform_order_id,
            "type": "return_refund",
            "reason": "wrong_size",
            "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
            "buyer_statement": "尺码偏小",
        },
        status=201,
        event="case_opened",
        check=_check_open,
    ),
    Endpoint(
        "approve",
        "/{id}/approve",
        pending,
        payload=lambda c, ctx: {"note": "同意退货"},
        event="case_approved",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_RETURN
            and c.return_status == ReturnStatus.AWAITING_SHIPMENT
            and c.approved_at is not None
        ),
    ),
    Endpoint(
        "reject",
        "/{id}/reject",
        pending,
        payload=lambda c, ctx: {"reason_code": "beyond_window", "note": "已超过七天无理由期限"},
        event="case_rejected",
        check=lambda c, b: c.status == CaseStatus.REJECTED and c.reject_reason == "beyond_window",
    ),
    Endpoint(
        "request-evidence",
        "/{id}/request-evidence",
        pending,
        payload=lambda c, ctx: {"note": "请上传商品破损处的照片"},
        event="evidence_requested",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_EVIDENCE and "照片" in c.evidence_request_note
        ),
    ),
    Endpoint(
        "buyer-evidence",
        "/{id}/buyer-evidence",
        awaiting_evidence,
        payload=lambda c, ctx: {
            "files": [png_upload(), SimpleUploadedFile("v.mp4", mp4_bytes())],
            "note": "破损照片和开箱视频",
        },
        multipart=True,
        event="buyer_evidence_recorded",
        check=lambda c, b: (
            c.status == CaseStatus.PENDING_REVIEW
            and sorted(c.evidence.values_list("kind", "source"))
            == [("image", "buyer"), ("video", "buyer")]
        ),
    ),
    Endpoint(
        "evidence",
        "/{id}/evidence",
        pending,
        payload=lambda c, ctx: {"file": png_upload(), "source": "merchant", "note": "发货前照片"},
        multipart=True,
        status=201,
        event="evidence_attached",
        check=lambda c, b: (
            c.status == CaseStatus.PENDING_REVIEW
            and list(c.evidence.values_list("source", flat=True)) == ["merchant"]
            and len(b["evidence"]) == 1
        ),
    ),
    Endpoint(
        "return-shipment",
        "/{id}/return-shipment",
        awaiting_return,
        payload=lambda c, ctx: {"carrier": "shunfeng", "tracking_number": "SF1234567890"},
        event="return_shipped",
        check=lambda c, b: (
            c.return_status == ReturnStatus.IN_TRANSIT
            and list(c.shipments.values_list("kind", "tracking_number"))
            == [("return", "SF1234567890")]
        ),
    ),
    Endpoint(
        "receive-return",
        "/{id}/receive-return",
        awaiting_return,
        event="return_received",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_INSPECTION and c.return_status == ReturnStatus.RECEIVED
        ),
    ),
    Endpoint(
        "inspect",
        "/{id}/inspect",
        awaiting_inspection,
        payload=lambda c, ctx: {"result": "pass", "condition": "good", "notes": "吊牌完好"},
        status=201,
        event="return_inspected",
        check=lambda c, b: (
            c.status == CaseStatus.PENDING_FINAL_REVIEW
            and c.return_status == ReturnStatus.INSPECTED
            and list(c.inspections.values_list("result", "condition")) == [("pass", "good")]
            and b["result"] == "pass"
        ),
    ),
    Endpoint(
        "approve-final",
        "/{id}/approve-final",
        pending_final_review,
        event="case_final_approved",
        check=lambda c, b: c.status == CaseStatus.AWAITING_REFUND and c.final_approved_at,
    ),
    Endpoint(
        "refund",
        "/{id}/refund",
        awaiting_refund,
        event="refund_decided",
        check=_check_refund,
    ),
    Endpoint(
        "refund-retry",
        "/{id}/refund/retry",
        refund_failed,
        event="refund_retried",
        check=_check_retry,
    ),
    Endpoint(
        "quality-check",
        "/{id}/quality-check",
        exchange_awaiting_shipment,
        payload=lambda c, ctx: {"quality_ok": True, "packaging_intact": True, "notes": "新品"},
        status=201,
        event="quality_checked",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_SHIPMENT
            and [q.passed for q in c.quality_checks.all()] == [True]
            and b["passed"] is True
        ),
    ),
    Endpoint(
        "ship-replacement",
        "/{id}/ship-replacement",
        exchange_checked,
        payload=lambda c, ctx: {"carrier": "zhongtong", "tracking_number": "ZT99"},
        event="replacement_shipped",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_BUYER_RECEIPT
            and list(c.shipments.values_list("kind", flat=True)) == ["exchange"]
        ),
    ),
    Endpoint(
        "resend",
        "/{id}/resend",
        resend_awaiting_shipment,
        payload=lambda c, ctx: {"carrier": "yuantong", "tracking_number": "YT77"},
        event="items_resent",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_BUYER_RECEIPT
            and list(c.shipments.values_list("kind", flat=True)) == ["resend"]
        ),
    ),
    Endpoint(
        "return-repaired",
        "/{id}/return-repaired",
        repair_awaiting_shipment,
        payload=lambda c, ctx: {
            "carrier": "shunfeng",
            "tracking_number": "SF55",
            "repair_notes": "更换了电池",
        },
        event="repaired_goods_shipped",
        check=lambda c, b: (
            c.status == CaseStatus.AWAITING_BUYER_RECEIPT
            and list(c.shipments.values_list("kind", flat=True)) == ["repair"]
        ),
    ),
    Endpoint(
        "confirm-receipt",
        "/{id}/confirm-receipt",
        awaiting_buyer_receipt,
        event="buyer_received",
        check=lambda c, b: c.status == CaseStatus.COMPLETED and c.resolved_at,
    ),
    Endpoint(
        "convert-to-refund",
        "/{id}/convert-to-refund",
        exchange_awaiting_shipment,
        payload=lambda c, ctx: {"note": "该尺码缺货，改为退款"},
        event="converted_to_refund",
        check=lambda c, b: c.status == CaseStatus.AWAITING_REFUND,
    ),
    Endpoint(
        "withdraw",
        "/{id}/withdraw",
        pending,
        event="case_withdrawn",
        check=lambda c, b: c.status == CaseStatus.CLOSED and c.resolved_at,
    ),
    Endpoint(
        "close",
        "/{id}/close",
        rejected,
        payload=lambda c, ctx: {"note": "买家未申诉"},
        event="case_closed",
        check=lambda c, b: c.status == CaseStatus.CLOSED and c.close_note == "买家未申诉",
    ),
    Endpoint(
        "reopen",
        "/{id}/reopen",
        rejected,
        payload=lambda c, ctx: {"note": "买家修改了申请"},
        event="case_reopened",
        check=lambda c, b: c.status == CaseStatus.PENDING_REVIEW and c.reject_reason == "",
    ),
    Endpoint(
        "costs",
        "/{id}/costs",
        pending,
        payload=lambda c, ctx: {
            "kind": "return_shipping",
            "amount_fen": 1200,
            "payer": "merchant",
            "note": "质量问题，商家承担运费",
        },
        status=201,
        event="cost_recorded",
        check=lambda c, b: (
            list(c.costs.values_list("kind", "amount_fen", "payer"))
            == [("return_shipping", 1200, "merchant")]
            and b["amount_fen"] == 1200
        ),
    ),
    Endpoint(
        "assign",
        "/{id}/assign",
        pending,
        payload=lambda c, ctx: {"assignee_id": ctx["alice"].pk},
        event="case_assigned",
        check=lambda c, b: c.assignee.username == "alice" and b["assignee_id"] == c.assignee_id,
    ),
]

ENDPOINTS += [
    Endpoint(
        "decide",
        "/{id}/decide",
        pending,
        event="policy_decided",
        check=lambda c, b: (
            b["recommendation"] == "needs_review" and c.policy_decisions.count() == 1
        ),
    ),
    Endpoint(
        "technical-support",
        "/{id}/technical-support",
        lambda shop: pending(shop, type="repair", reason="functional_fault"),
        payload=lambda c, ctx: {"notes": "指导买家重置设备后仍无法开机", "resolved": False},
        event="technical_support_recorded",
        check=lambda c, b: c.events.filter(type="technical_support_recorded").count() == 1,
    ),
    Endpoint(
        "extend",
        "/{id}/clocks/{kind}/extend",
        pending,
        payload=lambda c, ctx: {
            "hours": 24,
            "reason": "仓库盘点，需要额外时间核实",
            "message_to_buyer": "亲，因仓库盘点，审核将延后一天，请谅解",
        },
        event="deadline_extended",
        check=lambda c, b: (
            b["kind"] == "review" and c.clocks.get(kind="review").extensions.count() == 1
        ),
    ),
    Endpoint(
        "sync-retry",
        "/{id}/sync/retry",
        douyin_factories.sync_failed,
        event="platform_sync_retried",
        check=lambda c, b: b["state"] == "pending" and b["operations"][0]["status"] == "pending",
    ),
]

# The disputes (R5.1–R5.3), mounted from `disputes/api.py`.
ENDPOINTS += [
    Endpoint(
        "offer",
        "/{id}/offers",
        pending,
        payload=lambda c, ctx: {"kind": "partial_refund", "amount_fen": 1000, "note": "协商"},
        event="offer_made",
        check=lambda c, b: b["status"] == "open" and c.offers.count() == 1,
    ),
    Endpoint(
        "offer-answer",
        "/{id}/offers/{offer_id}/answer",
        disputed,
        payload=lambda c, ctx: {"accepted": False, "note": "买家不同意"},
        event="offer_answered",
        check=lambda c, b: b["status"] == "declined",
    ),
    Endpoint(
        "evidence-package",
        "/{id}/evidence-packages",
        rejected,
        event="evidence_package_built",
        check=lambda c, b: b["pdf_sha256"] and c.evidence_packages.count() == 1,
    ),
    Endpoint(
        "evidence-submit",
        "/{id}/evidence-packages/{package_id}/submit",
        disputed,
        payload=lambda c, ctx: {
            "evidence_ids": list(Case.objects.get(pk=c.pk).evidence.values_list("pk", flat=True))
            if Case.objects.filter(pk=c.pk).exists()
            else [1],
            "comment": "照片显示商品完好",
        },
        event="platform_evidence_submitted",
        check=lambda c, b: b["submitted_at"] is not None,
    ),
    Endpoint(
        "appeal",
        "/{id}/appeal",
        ruled_for_buyer,
        payload=lambda c, ctx: {"statement": "买家照片与商品不符"},
        event="appeal_filed",
        check=lambda c, b: b["appeal"]["outcome"] == "pending",
    ),
    Endpoint(
        "appeal-outcome",
        "/{id}/appeal/outcome",
        appealed,
        payload=lambda c, ctx: {"outcome": "rejected", "note": "维持原判"},
        event="appeal_decided",
        check=lambda c, b: b["appeal"]["outcome"] == "rejected",
    ),
]

BY_NAME = {e.name: e for e in ENDPOINTS}
PARAMS = [pytest.param(e, id=e.name) for e in ENDPOINTS]


def _case_of(endpoint: Endpoint, target: Any, body: dict[str, Any]) -> Case:
    if isinstance(target, Order):
        return Case.objects.get(order=target)
    return Case.objects.get(pk=target.pk)


def test_the_table_covers_every_post_endpoint_of_the_api(alice_client):
    """Guards the table below: a new case endpoint must join the tenant-isolation tests."""
    schema = alice_client.get(f"{API}/openapi.json").json()
    posts = {
        path.removeprefix(f"{API}/cases")
        for path, operations in schema["paths"].items()
        if "post" in operations and path.startswith(f"{API}/cases")
    }
    assert posts == {e.path.replace("{id}", "{case_id}") for e in ENDPOINTS}


# --- The four callers, for every endpoint ----------------------------------------------------


@pytest.mark.parametrize("endpoint", PARAMS)
def test_r1_2_agent_of_the_shop_performs_the_action(endpoint, shop_a, alice, alice_client):
    target = endpoint.setup(shop_a)
    events_before = AuditEvent.objects.count()

    response = endpoint.send(alice_client, target, {"alice": alice})

    assert response.status_code == endpoint.status, response.content
    body = response.json()
    case = _case_of(endpoint, target, body)
    assert endpoint.check(case, body), (case.axes(), body)
    new_events = list(AuditEvent.objects.order_by("seq")[events_before:])
    # R6.2: the action is on the audit trail, under the agent's name, in the case's shop.
    by_people = [e for e in new_events if e.actor_kind != "system"]
    assert [(e.type, e.actor_label, e.case_id, e.shop_id) for e in by_people] == [
        (endpoint.event, "alice", case.pk, shop_a.pk)
    ]
    # The only thing the system adds on its own is the policy's (re-)decision (R6.3).
    assert {e.type for e in new_events if e.actor_kind == "system"} <= {"policy_decided"}


@pytest.mark.parametrize("endpoint", PARAMS)
def test_tenant_isolation_other_shops_agent_gets_404_and_nothing_changes(
    endpoint, shop_a, alice, carol, carol_client
):
    target = endpoint.setup(shop_a)
    before = db_state()

    response = endpoint.send(carol_client, target, {"alice": alice})

    body = assert_error(response, 404, "not_found")
    assert db_state() == before
    # Indistinguishable from a case that does not exist.
    if not isinstance(target, Order):
        missing = endpoint.send(carol_client, _MissingCase(), {"alice": alice})
        assert missing.status_code == 404 and missing.json() == body


class _MissingCase:
    pk = 987654321


@pytest.mark.parametrize("endpoint", PARAMS)
def test_anonymous_caller_gets_401_and_nothing_changes(endpoint, shop_a, alice, anon_client):
    target = endpoint.setup(shop_a)
    before = db_state()

    response = endpoint.send(anon_client, target, {"alice": alice})

    assert_error(response, 401, "unauthenticated")
    assert db_state() == before


@pytest.mark.parametrize("endpoint", PARAMS)
def test_auditor_of_the_shop_gets_403_and_nothing_changes(
    endpoint, shop_a, alice, audrey, audrey_client
):
    target = endpoint.setup(shop_a)
    before = db_state()

    response = endpoint.send(audrey_client, target, {"alice": alice})

    assert_error(response, 403, "permission_denied")
    assert db_state() == before


def test_auditor_can_still_read_the_case_it_cannot_change(shop_a, audrey_client):
    case = pending(shop_a)
    response = audrey_client.get(f"{API}/cases/{case.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == case.pk


# --- Illegal transitions (R1.2) --------------------------------------------------------------

ILLEGAL = [
    ("approve", awaiting_buyer_receipt),
    ("approve-final", pending),
    ("receive-return", pending),
    ("inspect", awaiting_return),
    ("refund", pending),
    ("confirm-receipt", pending),
    ("reopen", pending),
    ("withdraw", awaiting_refund),
    ("return-shipment", pending),
    ("resend", exchange_checked),
    ("quality-check", resend_awaiting_shipment),
]


@pytest.mark.parametrize(
    ("name", "setup"), [pytest.param(n, s, id=f"{n}-from-{s.__name__}") for n, s in ILLEGAL]
)
def test_r1_2_illegal_transition_is_409_and_changes_nothing(
    name, setup, shop_a, alice, alice_client
):
    endpoint = BY_NAME[name]
    case = setup(shop_a)
    before = db_state()

    response = endpoint.send(alice_client, case, {"alice": alice})

    body = assert_error(response, 409, "illegal_transition")
    assert body["params"]["from_status"] == case.status
    assert db_state() == before


def test_r1_2_nothing_moves_a_closed_case(shop_a, alice, alice_client):
    case = services.withdraw_case(case=pending(shop_a), by=SYSTEM)
    before = db_state()
    for name in ("approve", "reject", "approve-final", "refund", "reopen", "withdraw"):
        response = BY_NAME[name].send(alice_client, case, {"alice": alice})
        assert_error(response, 409, "illegal_transition")
    assert db_state() == before


# --- Money (R3.2, R3.4) ----------------------------------------------------------------------


def test_r3_2_refund_above_the_paid_amount_is_409_refund_cap_exceeded(shop_a, alice_client):
    case = awaiting_refund(shop_a)  # paid 88.00 for the item (list price 100.00)
    before = db_state()

    response = post_json(alice_client, f"/cases/{case.pk}/refund", {"goods_amount_fen": 8801})

    body = assert_error(response, 409, "refund_cap_exceeded")
    assert body["params"] == {"requested": "88.01", "refundable": "88.00"}
    assert db_state() == before
    assert not RefundDecision.objects.exists()


def test_r3_2_refund_cap_counts_only_the_quantity_in_the_case(shop_a, alice_client):
    order = testing.make_order(
        shop_a, lines=[testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=15000)]
    )
    item = order.items.get()
    case = testing.make_case(order, quantities={item.pk: 1})
    services.approve_case(case=case, by=SYSTEM)
    services.receive_return(case=case, by=SYSTEM)
    services.inspect_return(case=case, result="pass", condition="good", by=SYSTEM)
    services.approve_after_inspection(case=case, by=SYSTEM)

    too_much = post_json(alice_client, f"/cases/{case.pk}/refund", {"goods_amount_fen": 7501})
    assert_error(too_much, 409, "refund_cap_exceeded")
    exact = post_json(alice_client, f"/cases/{case.pk}/refund", {"goods_amount_fen": 7500})
    assert exact.status_code == 200, exact.content
    assert exact.json()["refund"]["goods_amount_fen"] == 7500


def test_r3_2_refund_without_amounts_refunds_what_the_buyer_asked_for(shop_a, alice_client):
    """Issue 15: `{}` refunds the amount the buyer applied for, capped by what was paid,
    not the item's full paid price; the request is the partial refund's reason."""
    order = testing.make_order(shop_a)  # paid 88.00
    case = testing.make_case(order, requested_amount_fen=3500)
    for step in (services.approve_case, services.receive_return):
        step(case=case, by=SYSTEM)
    services.inspect_return(case=case, result="pass", condition="good", by=SYSTEM)
    services.approve_after_inspection(case=case, by=SYSTEM)

    response = post_json(alice_client, f"/cases/{case.pk}/refund", {})

    assert response.status_code == 200, response.content
    refund = response.json()["refund"]
    assert (refund["goods_amount_fen"], refund["is_partial"]) == (3500, True)
    assert (refund["shipping_amount_fen"], refund["return_postage_fen"]) == (0, 0)
    assert refund["total_fen"] == 3500 and "35.00" in refund["reason"]


def test_r3_2_a_refusal_names_the_field_it_is_about(shop_a, alice_client):
    case = awaiting_refund(shop_a)
    response = post_json(
        alice_client,
        f"/cases/{case.pk}/refund",
        {"goods_amount_fen": 8800, "return_postage_fen": 1},
    )
    body = assert_error(response, 400, "invalid_input")
    assert body["field"] == "return_postage_fen"


def test_r3_2_partial_refund_without_a_reason_is_400(shop_a, alice_client):
    case = awaiting_refund(shop_a)
    before = db_state()
    response = post_json(alice_client, f"/cases/{case.pk}/refund", {"goods_amount_fen": 5000})
    assert_error(response, 400, "invalid_input")
    assert db_state() == before

    with_reason = post_json(
        alice_client,
        f"/cases/{case.pk}/refund",
        {"goods_amount_fen": 5000, "reason": "协商部分退款"},
    )
    assert with_reason.status_code == 200
    assert with_reason.json()["refund"]["is_partial"] is True


def test_r3_4_second_refund_click_is_409_and_one_execution_remains(shop_a, alice_client):
    case = awaiting_refund(shop_a)

    first = post_json(alice_client, f"/cases/{case.pk}/refund")
    assert first.status_code == 200, first.content
    after_first = db_state()
    second = post_json(alice_client, f"/cases/{case.pk}/refund")

    assert_error(second, 409, "conflict")
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    assert db_state() == after_first


def test_r3_4_money_moves_once_however_often_refund_is_clicked(
    shop_a, alice_client, django_capture_on_commit_callbacks
):
    """The decision is executed after commit by the worker; clicks after that are refused,
    and the gateway was asked to move the money exactly once."""
    case = awaiting_refund(shop_a)
    CountingGateway.calls.clear()
    with override_settings(AFTERSALES_REFUND_GATEWAY=COUNTING_GATEWAY):
        with django_capture_on_commit_callbacks(execute=True):
            first = post_json(alice_client, f"/cases/{case.pk}/refund")
        assert first.status_code == 200
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                again = post_json(alice_client, f"/cases/{case.pk}/refund")
            assert_error(again, 409, "illegal_transition")
        with django_capture_on_commit_callbacks(execute=True):
            retry = post_json(alice_client, f"/cases/{case.pk}/refund/retry")
        assert_error(retry, 409, "conflict")

    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.refund_status == RefundStatus.REFUNDED
    assert CountingGateway.calls == [f"refund-case-{case.pk}"]
    execution = RefundExecution.objects.get(decision__case=case)
    assert (execution.status, execution.attempts) == ("succeeded", 1)
    detail = alice_client.get(f"{API}/cases/{case.pk}").json()
    assert detail["refund"]["execution_status"] == "succeeded"
    assert detail["refund"]["external_reference"] == f"test:refund-case-{case.pk}"


def test_r3_4_retry_reuses_the_failed_execution(
    shop_a, alice_client, django_capture_on_commit_callbacks
):
    case = refund_failed(shop_a)
    CountingGateway.calls.clear()
    with (
        override_settings(AFTERSALES_REFUND_GATEWAY=COUNTING_GATEWAY),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_json(alice_client, f"/cases/{case.pk}/refund/retry")
    assert response.status_code == 200
    execution = RefundExecution.objects.get(decision__case=case)
    assert (execution.status, execution.attempts) == ("succeeded", 2)
    assert CountingGateway.calls == [execution.idempotency_key]


# --- Bad input changes nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("close", {}),
        ("close", {"note": ""}),
        ("reject", {"reason_code": "no_such_code", "note": "x"}),
        ("reject", {"reason_code": "goods_used", "note": "已使用"}),  # needs evidence
        ("costs", {"kind": "return_shipping", "amount_fen": -5, "payer": "merchant"}),
        ("costs", {"kind": "bribe", "amount_fen": 100, "payer": "merchant"}),
        ("assign", {"assignee_id": 987654}),
        ("request-evidence", {"note": "   "}),
        ("reject", {"reason_code": "agreed_other_solution", "note": "已协商"}),  # evidence
    ],
)
def test_bad_input_is_400_invalid_input_and_changes_nothing(name, payload, shop_a, alice_client):
    case = pending(shop_a)
    before = db_state()
    response = post_json(alice_client, BY_NAME[name].url(case), payload)
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


def test_a_carrier_is_one_of_the_platforms_codes_not_free_text(shop_a, alice_client):
    """Issue 14, item 11: "顺丰" is refused, "shunfeng" recorded (and named in Chinese)."""
    case = awaiting_return(shop_a)
    url = BY_NAME["return-shipment"].url(case)
    before = db_state()
    body = assert_error(
        post_json(alice_client, url, {"carrier": "顺丰", "tracking_number": "SF1"}),
        400,
        "invalid_input",
    )
    assert ["body", "payload", "carrier"] in [e["loc"] for e in body["errors"]]
    assert db_state() == before

    response = post_json(alice_client, url, {"carrier": "shunfeng", "tracking_number": "SF1"})
    assert response.status_code == 200
    (shipment,) = response.json()["shipments"]
    assert (shipment["carrier"], shipment["carrier_name"]) == ("shunfeng", "顺丰速运")


def test_unreadable_json_is_400_in_the_error_shape(shop_a, alice_client):
    case = pending(shop_a)
    before = db_state()
    response = alice_client.post(
        f"{API}/cases/{case.pk}/approve", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


def test_validation_errors_say_which_field(shop_a, alice_client):
    case = pending(shop_a)
    body = assert_error(
        post_json(alice_client, f"/cases/{case.pk}/close", {}), 400, "invalid_input"
    )
    assert ["body", "payload", "note"] in [e["loc"] for e in body["errors"]]


def test_tenant_isolation_cannot_assign_to_another_shops_user(shop_a, carol, alice_client):
    case = pending(shop_a)
    before = db_state()
    response = post_json(alice_client, f"/cases/{case.pk}/assign", {"assignee_id": carol.pk})
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


def test_tenant_isolation_cannot_link_another_cases_evidence(shop_a, shop_b, alice_client):
    """Inspection photos and reject evidence must belong to the case itself."""
    other = testing.make_case(testing.make_order(shop_b))
    photo = services.attach_evidence(
        case=other,
        upload=services.Upload(stream=io.BytesIO(png_bytes())),
        source="merchant",
        by=SYSTEM,
    )
    case = awaiting_inspection(shop_a)
    before = db_state()
    response = post_json(
        alice_client,
        f"/cases/{case.pk}/inspect",
        {"result": "pass", "condition": "good", "photo_ids": [photo.pk]},
    )
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


def test_tenant_isolation_cannot_open_a_case_on_another_shops_order(shop_b, carol, alice_client):
    order = testing.make_order(shop_b)
    before = db_state()
    for extra in ({}, {"shop_id": shop_b.pk}):
        response = post_json(
            alice_client,
            "/cases",
            {
                "order_id": order.platform_order_id,
                "type": "return_refund",
                "reason": "no_reason",
                "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
                **extra,
            },
        )
        assert_error(response, 404, "not_found")
    assert db_state() == before


# --- The error shape -------------------------------------------------------------------------


def test_errors_answer_in_the_requested_language_and_carry_both(shop_a, alice_client):
    case = services.withdraw_case(case=pending(shop_a), by=SYSTEM)
    en = BY_NAME["approve"].send(
        Client(HTTP_ACCEPT_LANGUAGE="en"), case, {}
    )  # anonymous: 401 is translated too
    body = assert_error(en, 401, "unauthenticated")
    assert body["message"] == body["message_en"]

    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    body = assert_error(BY_NAME["approve"].send(alice_client, case, {}), 409, "illegal_transition")
    assert body["message"] == body["message_en"]
    assert "closed" in body["message_en"]

    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    body = assert_error(BY_NAME["approve"].send(alice_client, case, {}), 409, "illegal_transition")
    assert body["message"] == body["message_zh"]
