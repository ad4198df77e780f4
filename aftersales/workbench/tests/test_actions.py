"""The case page's actions: each one through the page, and the rule that the page offers an
action only where its service accepts it (every case type, every status it can reach)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.choices import RefundStatus
from aftersales.cases.models import Case, Evidence, RefundDecision
from aftersales.cases.tests.steps import path_to, reachable_statuses
from aftersales.cases.transitions import ALLOWED_TRANSITIONS
from aftersales.shops.services import actor_for_user
from aftersales.sla.models import ClockKind, SlaClock
from aftersales.testing import png_bytes
from aftersales.workbench.actions import ACTIONS, available_actions

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"


def photo(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(width=4, height=3), content_type="image/png")


def post(client, case: Case, action: str, data: dict | None = None):
    return client.post(f"/cases/{case.pk}/do/{action}/", data or {}, follow=True)


def ok(response) -> None:
    html = response.content.decode()
    assert response.status_code == 200
    assert "message-error" not in html, html[html.find("message-error") :][:300]
    assert "message-success" in html


def last_event(case: Case) -> AuditEvent:
    return AuditEvent.objects.filter(case=case).order_by("-seq").first()


def new_case(shop, case_type: str = T.RETURN_REFUND, reason: str = "wrong_size", **kwargs) -> Case:
    order_status = {
        T.REFUND_UNSHIPPED: "unshipped",
        T.REFUND_SHIPPED: "shipped",
    }.get(case_type, "delivered")
    order = testing.make_order(shop, status=order_status, **kwargs)
    return testing.make_case(order, type=case_type, reason=reason)


def walk(case: Case, status: str) -> Case:
    for step in path_to(case.type, status):
        step(Case.objects.get(pk=case.pk), SYSTEM)
    return Case.objects.get(pk=case.pk)


# --- A delivered return, start to end --------------------------------------------------------


def test_a_return_is_worked_to_the_refund_through_the_page(
    client, alice, shop_a, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    case = new_case(shop_a)
    ok(post(client, case, "approve", {"note": "同意退货"}))
    ok(post(client, case, "return-shipment", {"carrier": "shunfeng", "tracking_number": "SF1"}))
    ok(post(client, case, "receive-return"))
    ok(
        post(
            client,
            case,
            "inspect",
            {
                "result": "pass",
                "condition": "good",
                "package_intact": "yes",
                "notes": "完好",
                "photos": [photo("a.png"), photo("b.png")],
            },
        )
    )
    inspection = case.inspections.get()
    assert inspection.package_intact is True
    assert inspection.photos.count() == 2
    ok(post(client, case, "approve-final"))
    with django_capture_on_commit_callbacks(execute=True):  # the worker pays the refund
        ok(post(client, case, "refund", {"goods_amount": "88.00", "shipping_amount": "0"}))
    case.refresh_from_db()
    assert case.status == S.COMPLETED
    assert case.refund_status == RefundStatus.REFUNDED
    decision = case.refund_decision
    assert (decision.goods_amount_fen, decision.is_partial) == (8800, False)


def test_a_partial_refund_needs_a_reason(client, alice, shop_a):
    client.force_login(alice)
    case = walk(new_case(shop_a, T.REFUND_UNSHIPPED, "changed_mind"), S.AWAITING_REFUND)
    response = post(client, case, "refund", {"goods_amount": "50.00", "shipping_amount": "0"})
    assert "A partial refund needs a reason." in response.content.decode()
    assert not RefundDecision.objects.filter(case=case).exists()
    ok(post(client, case, "refund", {"goods_amount": "50.00", "reason": "买家同意部分退款"}))
    decision = RefundDecision.objects.get(case=case)
    assert (decision.goods_amount_fen, decision.is_partial) == (5000, True)


def test_a_refund_above_what_was_paid_is_refused(client, alice, shop_a):
    client.force_login(alice)
    case = walk(new_case(shop_a, T.REFUND_UNSHIPPED, "changed_mind"), S.AWAITING_REFUND)
    response = post(client, case, "refund", {"goods_amount": "88.01"})
    assert "message-error" in response.content.decode()
    assert not RefundDecision.objects.filter(case=case).exists()


def test_the_refund_form_offers_the_refundable_amount(client, alice, shop_a):
    client.force_login(alice)
    case = walk(
        new_case(
            shop_a,
            T.REFUND_UNSHIPPED,
            "changed_mind",
            lines=[testing.Line(quantity=3, paid_amount_fen=10000)],
        ),
        S.AWAITING_REFUND,
    )
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'value="100.00"' in html
    assert "Refundable for the goods: 100.00 yuan" in html
    assert 'data-confirm="Refund ¥100.00 to the buyer?' in html


def test_a_failed_refund_can_be_retried(
    client, alice, shop_a, settings, django_capture_on_commit_callbacks
):
    settings.AFTERSALES_REFUND_GATEWAY = "aftersales.api.tests.support.FailingGateway"
    case = walk(new_case(shop_a, T.REFUND_UNSHIPPED, "changed_mind"), S.AWAITING_REFUND)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_case(case=case, by=SYSTEM)
    case.refresh_from_db()
    assert case.refund_status == RefundStatus.FAILED
    client.force_login(alice)
    assert 'data-action="retry-refund"' in client.get(f"/cases/{case.pk}/").content.decode()
    settings.AFTERSALES_REFUND_GATEWAY = "aftersales.platforms.gateway.ManualRefundGateway"
    with django_capture_on_commit_callbacks(execute=True):
        ok(post(client, case, "retry-refund"))
    case.refresh_from_db()
    assert case.refund_status == RefundStatus.REFUNDED


def test_reject_with_a_reason_code_and_uploaded_evidence(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    ok(
        post(
            client,
            case,
            "reject",
            {"reason_code": "goods_used", "note": "商品已使用", "uploads": [photo()]},
        )
    )
    case.refresh_from_db()
    assert (case.status, case.reject_reason) == (S.REJECTED, "goods_used")
    assert last_event(case).payload["evidence"] == [Evidence.objects.get(case=case).pk]


def test_a_refused_rejection_keeps_no_evidence(client, alice, shop_a):
    """Upload and rejection are one transaction: the refusal takes the evidence row back."""
    client.force_login(alice)
    case = walk(new_case(shop_a), S.AWAITING_RETURN)  # not a state one can reject in
    post(client, case, "reject", {"reason_code": "goods_used", "note": "x", "uploads": [photo()]})
    assert not Evidence.objects.filter(case=case).exists()


def test_r4_1_a_reason_the_platform_refuses_without_evidence_is_refused_by_the_form(
    client, alice, shop_a
):
    """R4.1, R13.1: "agreed another solution" needs the chat screenshot on the platform; the
    form says so next to the reason and refuses it without evidence, deciding nothing."""
    client.force_login(alice)
    case = new_case(shop_a)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    option = html[html.find('<option value="agreed_other_solution"') :][:200]
    assert 'data-needs-evidence="true"' in option and "evidence required" in option
    plain = html[html.find('<option value="no_evidence"') :][:120]
    assert "data-needs-evidence" not in plain.split(">")[0]
    assert 'data-evidence-hint="' in html

    response = post(
        client, case, "reject", {"reason_code": "agreed_other_solution", "note": "已协商换货"}
    )
    assert "needs evidence" in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.reject_reason) == (S.PENDING_REVIEW, "")
    assert last_event(case).type != "case_rejected"

    ok(
        post(
            client,
            case,
            "reject",
            {"reason_code": "agreed_other_solution", "note": "已协商换货", "uploads": [photo()]},
        )
    )
    case.refresh_from_db()
    assert case.status == S.REJECTED


def test_the_reject_form_offers_the_reasons_of_the_review_the_case_is_in(client, alice, shop_a):
    """R1.3: before the goods came back, "returned goods damaged" is not a reason; after the
    inspection, "outside the return period" is not one either."""
    client.force_login(alice)
    first = new_case(shop_a)
    html = client.get(f"/cases/{first.pk}/").content.decode()
    assert 'value="beyond_window"' in html and 'value="returned_damaged"' not in html
    second = walk(new_case(shop_a), S.PENDING_FINAL_REVIEW)
    html = client.get(f"/cases/{second.pk}/").content.decode()
    assert 'value="returned_damaged"' in html and 'value="beyond_window"' not in html


def test_evidence_request_and_the_buyers_evidence(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a, reason="quality_issue")
    ok(post(client, case, "request-evidence", {"note": "请上传照片"}))
    case.refresh_from_db()
    assert case.status == S.AWAITING_EVIDENCE
    ok(post(client, case, "buyer-evidence", {"uploads": [photo()], "note": "买家微信发来"}))
    case.refresh_from_db()
    assert case.status == S.PENDING_REVIEW
    assert case.evidence.get().source == "buyer"
    assert case.policy_decisions.exists()  # the evidence may change the advice


def test_an_exchange_is_quality_checked_then_shipped_and_received(client, alice, shop_a):
    client.force_login(alice)
    case = walk(new_case(shop_a, T.EXCHANGE, "quality_issue"), S.AWAITING_SHIPMENT)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="ship-replacement"' not in html  # not before a passed check
    ok(post(client, case, "quality-check", {"quality_ok": "on", "notes": "外观良好"}))
    assert 'data-action="ship-replacement"' not in client.get(f"/cases/{case.pk}/").content.decode()
    ok(post(client, case, "quality-check", {"quality_ok": "on", "packaging_intact": "on"}))
    ok(post(client, case, "ship-replacement", {"carrier": "yuantong", "tracking_number": "YT1"}))
    ok(post(client, case, "confirm-receipt"))
    case.refresh_from_db()
    assert case.status == S.COMPLETED


def test_an_exchange_converted_to_a_refund(client, alice, shop_a):
    client.force_login(alice)
    case = walk(new_case(shop_a, T.EXCHANGE, "quality_issue"), S.AWAITING_SHIPMENT)
    ok(post(client, case, "convert-to-refund", {"note": "缺货"}))
    case.refresh_from_db()
    assert case.status == S.AWAITING_REFUND


def test_resend_and_repair_ship_to_the_buyer(client, alice, shop_a):
    client.force_login(alice)
    resend = walk(new_case(shop_a, T.RESEND, "missing_item"), S.AWAITING_SHIPMENT)
    ok(post(client, resend, "resend", {"carrier": "zhongtong", "tracking_number": "ZT1"}))
    repair = walk(new_case(shop_a, T.REPAIR, "functional_fault"), S.AWAITING_SHIPMENT)
    ok(
        post(
            client,
            repair,
            "return-repaired",
            {"carrier": "jd", "tracking_number": "JD1", "repair_notes": "更换电池"},
        )
    )
    assert Case.objects.get(pk=resend.pk).status == S.AWAITING_BUYER_RECEIPT
    assert Case.objects.get(pk=repair.pk).status == S.AWAITING_BUYER_RECEIPT


def test_close_and_reopen(client, alice, shop_a):
    client.force_login(alice)
    case = walk(new_case(shop_a), S.REJECTED)
    ok(post(client, case, "reopen", {"note": "买家修改申请"}))
    assert Case.objects.get(pk=case.pk).status == S.PENDING_REVIEW
    ok(post(client, case, "close", {"note": "买家不再回复"}))
    case.refresh_from_db()
    assert (case.status, case.close_note) == (S.CLOSED, "买家不再回复")


def test_technical_support_stops_the_first_response_clock(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a, reason="functional_fault")
    ok(post(client, case, "technical-support", {"notes": "指导重启设备", "resolved": "on"}))
    clock = SlaClock.objects.get(case=case, kind=ClockKind.FIRST_RESPONSE)
    assert clock.state == "stopped"


def test_a_deadline_is_extended_with_a_reason_and_a_message(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    clock = SlaClock.objects.get(case=case, kind=ClockKind.REVIEW)
    due = clock.due_at
    ok(
        post(
            client,
            case,
            "extend",
            {
                "clock": "review",
                "hours": "24",
                "reason": "等待厂家检测",
                "message_to_buyer": "抱歉,需要多一天",
            },
        )
    )
    clock.refresh_from_db()
    assert clock.due_at == due + timedelta(hours=24)
    assert last_event(case).payload["message"] == "抱歉,需要多一天"


def test_a_passed_deadline_cannot_be_extended(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    SlaClock.objects.filter(case=case, kind="review").update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    response = post(
        client,
        case,
        "extend",
        {"clock": "review", "hours": "2", "reason": "x", "message_to_buyer": "y"},
    )
    assert "message-error" in response.content.decode()
    assert not AuditEvent.objects.filter(case=case, type="deadline_extended").exists()


def test_take_assign_cost_and_evidence(client, alice, sam, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    ok(post(client, case, "take"))
    assert Case.objects.get(pk=case.pk).assignee == alice
    assert 'data-action="take"' not in client.get(f"/cases/{case.pk}/").content.decode()
    ok(post(client, case, "assign", {"assignee": str(sam.pk)}))
    assert Case.objects.get(pk=case.pk).assignee == sam
    ok(post(client, case, "assign", {"assignee": ""}))
    assert Case.objects.get(pk=case.pk).assignee is None
    ok(
        post(
            client,
            case,
            "cost",
            {"kind": "return_shipping", "amount": "12.50", "payer": "merchant"},
        )
    )
    assert case.costs.get().amount_fen == 1250
    ok(post(client, case, "evidence", {"uploads": [photo()], "note": "发货前照片"}))
    assert case.evidence.get().source == "merchant"


def test_an_auditor_cannot_be_assigned(client, alice, audrey, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    response = post(client, case, "assign", {"assignee": str(audrey.pk)})
    assert "message-error" in response.content.decode()
    assert Case.objects.get(pk=case.pk).assignee is None


def test_a_note_and_a_message_are_on_the_record(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    ok(post(client, case, "note", {"text": "买家情绪激动,注意措辞"}))
    assert last_event(case).type == "note_added"
    ok(post(client, case, "message", {"template": "received", "text": "您好,已收到"}))
    event = last_event(case)
    assert (event.type, event.payload) == (
        "buyer_message_sent",
        {"text": "您好,已收到", "template": "received"},
    )
    # A message is the merchant's first response (docs/sla.md).
    assert SlaClock.objects.get(case=case, kind="first_response").state == "stopped"
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "买家情绪激动,注意措辞" in html and "您好,已收到" in html


def test_message_templates_are_filled_with_the_case(client, alice, shop_a):
    client.force_login(alice)
    case = new_case(shop_a)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="message-templates"' in html
    assert case.order.platform_order_id in html
    assert "{order_id}" not in html and "{deadline}" not in html


def test_the_page_shows_the_policy_decision_with_its_reasons(client, alice, shop_a):
    from aftersales.policy.services import decide_case

    client.force_login(alice)
    client.cookies["django_language"] = "zh-hans"
    case = new_case(shop_a, reason="no_reason")
    stored = decide_case(case=case, by=SYSTEM)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    for hit in stored.payload["trace"]:
        assert hit["zh"] in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert stored.payload["trace"][0]["en"] in html


# --- Offered only where the service accepts it -----------------------------------------------

VALID_DATA = {
    "approve": {"note": ""},
    "request-evidence": {"note": "请上传照片"},
    "buyer-evidence": {"note": ""},
    # Offered at both reviews; it needs evidence (the photo below).
    "reject": {"reason_code": "goods_used", "note": "商品已使用"},
    "return-shipment": {"carrier": "shunfeng", "tracking_number": "SF1"},
    "receive-return": {},
    "inspect": {"result": "pass", "condition": "good", "package_intact": "yes"},
    "approve-final": {"note": ""},
    "refund": {"goods_amount": "1.00", "reason": "部分"},
    "retry-refund": {},
    "quality-check": {"quality_ok": "on", "packaging_intact": "on"},
    "ship-replacement": {"carrier": "yuantong", "tracking_number": "YT1"},
    "resend": {"carrier": "zhongtong", "tracking_number": "ZT1"},
    "return-repaired": {"carrier": "jd", "tracking_number": "JD1", "repair_notes": "修好"},
    "convert-to-refund": {"note": "缺货"},
    "confirm-receipt": {},
    "technical-support": {"notes": "指导使用", "resolved": ""},
    "reopen": {"note": ""},
    "close": {"note": "结束"},
    "extend": {"hours": "2", "reason": "原因", "message_to_buyer": "告知买家"},
    "take": {},
    "assign": {"assignee": ""},
    "cost": {"kind": "return_shipping", "amount": "5.00", "payer": "merchant"},
    "evidence": {"note": ""},
    "packaging": {"packaging": "box"},  # and the order's first outbound parcel, below
    "platform-extension": {},
    "platform-remark": {"remark": "已电话联系买家"},
    "note": {"text": "备注"},
    "message": {"text": "您好"},
}
FILE_FIELDS = {"buyer-evidence": "uploads", "evidence": "uploads", "reject": "uploads"}


def test_every_action_has_valid_test_data():
    assert set(VALID_DATA) == {a.name for a in ACTIONS}


@pytest.mark.parametrize("case_type", T.values)
def test_every_offered_action_is_accepted_by_its_service(alice, shop_a, case_type):
    """For every status the type can reach: each action the page offers succeeds with valid
    input, and moves the case, if at all, along an edge of the table."""
    actor = actor_for_user(alice)
    reason = {T.RESEND: "missing_item", T.REPAIR: "functional_fault"}.get(
        case_type, "quality_issue"
    )
    for status in reachable_statuses(case_type):
        case = walk(new_case(shop_a, case_type, reason), status)
        assert case.status == status
        for action in available_actions(case, actor):
            data = dict(VALID_DATA[action.name])
            if action.name == "extend":
                choices = action.form_class(case=case, action=action.name).fields["clock"].choices
                data["clock"] = choices[0][0]
            if action.name == "packaging":
                field = action.form_class(case=case, action=action.name).fields["shipment"]
                data["shipment"] = field.choices[0][0]
            files = {FILE_FIELDS[action.name]: [photo()]} if action.name in FILE_FIELDS else {}
            form = action.form_class(data, files, case=case, action=action.name)
            assert form.is_valid(), (case_type, status, action.name, form.errors)
            sid = transaction.savepoint()
            try:
                action.perform(
                    Case.objects.get(pk=case.pk), actor, form.cleaned_data, sum(files.values(), [])
                )
                after = Case.objects.get(pk=case.pk).status
                assert after == status or after in ALLOWED_TRANSITIONS[status]
            except Exception as exc:  # pragma: no cover - the failure message names the case
                raise AssertionError(f"{case_type} {status} {action.name}: {exc!r}") from exc
            finally:
                transaction.savepoint_rollback(sid)


# --- Carriers and the outbound parcel (issue 14, item 11) ------------------------------------


def test_a_shipment_form_offers_the_platforms_carriers_by_name_and_refuses_free_text(
    client, alice, shop_a
):
    client.cookies["django_language"] = "zh-hans"
    client.force_login(alice)
    case = walk(new_case(shop_a), S.AWAITING_RETURN)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert '<option value="yunda">韵达快递</option>' in html

    post(client, case, "return-shipment", {"carrier": "韵达", "tracking_number": "YD1"})
    assert not case.shipments.exists()

    ok(post(client, case, "return-shipment", {"carrier": "yunda", "tracking_number": "YD1"}))
    assert case.shipments.get().carrier == "yunda"
    html = client.get(f"/cases/{case.pk}/").content.decode()
    shipments = html[html.find("<caption>") :]
    assert "韵达快递" in shipments and ">yunda<" not in shipments


def test_the_case_page_shows_the_outbound_parcel_with_its_history(client, alice, shop_a):
    from aftersales.orders.choices import ShipmentKind, ShipmentStatus
    from aftersales.orders.services import create_shipment, update_shipment_status

    case = new_case(shop_a, T.REFUND_SHIPPED, "changed_mind")
    parcel = create_shipment(
        order=case.order, kind=ShipmentKind.OUTBOUND, carrier="yunda", tracking_number="YD88"
    )
    update_shipment_status(shipment=parcel, status=ShipmentStatus.INTERCEPTED, note="拦截成功")
    client.force_login(alice)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    panel = html[html.find('id="logistics"') :]
    panel = panel[: panel.find("</section>")]
    assert "Outbound parcel" in panel and "Yunda Express" in panel and "YD88" in panel
    assert "In transit" in panel and "Intercepted" in panel and "拦截成功" in panel
