"""R5.1–R5.3, R2.6: negotiation, the platform's intervention, the evidence package, the ruling
and the appeal, through the services (time frozen; tasks inline, on commit)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as cs
from aftersales.cases.models import Case, CaseCost, RefundDecision, RefundExecution
from aftersales.cases.tests import steps
from aftersales.core.errors import Conflict, InvalidInput, NotFound
from aftersales.disputes import services
from aftersales.disputes.models import Intervention, Offer
from aftersales.platforms.douyin.ingest import record_platform_dispute
from aftersales.platforms.models import StoredBuyerMessage
from aftersales.shops.choices import Role
from aftersales.sla.models import SlaClock

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # a Monday
BY = testing.SYSTEM


@pytest.fixture
def clock(db):
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def refund_case(shop, **kwargs) -> Case:
    """A shipped refund-only case for 88.00 paid (the buyer asks for all of it)."""
    return steps.new_case(shop, "refund_shipped", reason="quality_issue", **kwargs)


def types_of(case: Case) -> list[str]:
    return list(AuditEvent.objects.filter(case=case).order_by("seq").values_list("type", flat=True))


def rejected_with_intervention(shop, due: datetime, **details) -> Case:
    case = refund_case(shop)
    cs.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=BY)
    record_platform_dispute(
        case=case,
        dispute_status="platform_intervening",
        details={"arbitrate_id": "ARB-1", "evidence_deadline": due.isoformat(), **details},
    )
    return Case.objects.get(pk=case.pk)


# --- Negotiation (R5.1) -----------------------------------------------------------------------


def test_r5_1_partial_refund_offer_accepted_is_refunded_once_through_the_case_services(
    shop_a, clock, django_capture_on_commit_callbacks
):
    case = refund_case(shop_a)
    offer = services.make_offer(
        case=case, kind="partial_refund", amount_fen=3000, note="商品有轻微瑕疵", by=BY
    )
    # The buyer reads it through the case's channel (the plain adapter keeps it for the staff).
    (message,) = StoredBuyerMessage.objects.filter(case=case, cause="offer_made")
    assert "部分退款 30.00 元" in message.text

    with django_capture_on_commit_callbacks(execute=True):
        services.answer_offer(offer=offer, accepted=True, note="买家在聊天中同意", by=BY)

    case.refresh_from_db()
    decision = RefundDecision.objects.get(case=case)
    assert (decision.goods_amount_fen, decision.is_partial) == (3000, True)
    assert "协商一致" in decision.reason
    assert RefundExecution.objects.get(decision=decision).status == "succeeded"
    assert (case.status, case.refund_status) == ("completed", "refunded")
    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.outcome == f"refund_decided:{decision.pk}"
    assert {"offer_made", "settlement_agreed", "refund_decided", "offer_answered"} <= set(
        types_of(case)
    )
    # Answering again changes nothing: the offer is no longer open, the refund is one.
    with pytest.raises(Conflict):
        services.answer_offer(offer=offer, accepted=True, by=BY)
    assert RefundDecision.objects.filter(case=case).count() == 1


def test_r5_1_a_partial_offer_at_or_above_what_may_be_refunded_is_refused(shop_a, clock):
    case = refund_case(shop_a)
    before = types_of(case)
    with pytest.raises(InvalidInput) as refused:
        services.make_offer(case=case, kind="partial_refund", amount_fen=8800, by=BY)
    assert refused.value.field == "amount_fen"
    assert types_of(case) == before and not Offer.objects.exists()


def test_r5_1_counter_offer_replaces_the_open_one_and_compensation_is_a_cost(shop_a, clock):
    case = refund_case(shop_a)
    first = services.make_offer(case=case, kind="partial_refund", amount_fen=2000, by=BY)
    counter = services.make_offer(
        case=case, kind="compensation", amount_fen=1500, side="buyer", counter_to=first, by=BY
    )
    first.refresh_from_db()
    assert first.status == "countered" and counter.counter_to == first
    # Only the shop's own offers go to the buyer.
    assert StoredBuyerMessage.objects.filter(case=case, cause="offer_made").count() == 1
    services.answer_offer(offer=counter, accepted=True, by=BY)
    cost = CaseCost.objects.get(case=case)
    assert (cost.kind, cost.amount_fen, cost.payer) == ("compensation", 1500, "merchant")
    assert not RefundDecision.objects.filter(case=case).exists()


# --- Intervention (R5.2) ----------------------------------------------------------------------


def test_r5_2_intervention_opens_a_ticket_with_the_platforms_deadline_as_a_clock_and_handler(
    shop_a, clock
):
    handler = testing.make_user("disputes-lead", shop_a, Role.SUPERVISOR)
    lead = testing.actor(handler)
    services.set_dispute_settings(
        shop_id=shop_a.pk, by=lead, handler_id=handler.pk, baseline_per_mille=50, warn_multiple=5
    )
    due = T0 + timedelta(hours=48)
    case = rejected_with_intervention(shop_a, due)

    ticket = Intervention.objects.get(case=case)
    assert (ticket.platform_ref, ticket.evidence_due_at, ticket.handler) == ("ARB-1", due, handler)
    assert case.assignee == handler
    clock_row = SlaClock.objects.get(case=case, kind="platform_evidence")
    assert clock_row.due_at == due and clock_row.state == "running"
    assert clock_row.at_risk_at < due
    # The same push again opens nothing new.
    record_platform_dispute(case=case, dispute_status="platform_intervening", details={})
    assert Intervention.objects.filter(case=case).count() == 1


def test_r5_2_the_package_pdf_reads_in_chinese_and_the_zip_carries_sha256(shop_a, clock):
    pypdf = pytest.importorskip("pypdf")
    case = rejected_with_intervention(shop_a, T0 + timedelta(hours=48))
    photo = steps.attach_photo(case, source="buyer")
    services.make_offer(case=case, kind="partial_refund", amount_fen=2000, by=BY)

    package = services.build_package(case=case, by=BY)

    with package.pdf.open("rb") as handle:
        pdf = handle.read()
    assert hashlib.sha256(pdf).hexdigest() == package.pdf_sha256
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for words in (
        "售后争议证据包",
        "订单信息",
        "纯棉短袖T恤",
        "沟通与协商记录",
        "处理时间线",
        "政策判定",
    ):
        assert words in text, words
    assert "13987654321" not in text  # the receiver's phone stays masked (R6.5)
    with package.archive.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    sums = dict(
        reversed(line.split("  ", 1)) for line in archive.read("SHA256SUMS").decode().splitlines()
    )
    (name,) = [n for n in sums if n.startswith("buyer/")]
    assert hashlib.sha256(archive.read(name)).hexdigest() == sums[name] == photo.sha256
    assert "evidence_package_built" in types_of(case)


def test_r5_2_submitting_stops_the_evidence_clock_on_time(shop_a, clock):
    case = rejected_with_intervention(shop_a, T0 + timedelta(hours=48))
    photo = steps.attach_photo(case)
    package = services.build_package(case=case, by=BY)
    with pytest.raises(InvalidInput):
        services.submit_package(package=package, evidence_ids=[], comment="见照片", by=BY)
    clock.move_to(T0 + timedelta(hours=20))
    services.submit_package(package=package, evidence_ids=[photo.pk], comment="见照片", by=BY)
    ticket = Intervention.objects.get(case=case)
    assert ticket.status == "evidence_submitted"
    assert SlaClock.objects.get(case=case, kind="platform_evidence").state == "stopped"
    week = services.week_tickets(shop_a.pk)
    assert (week.on_time, week.late, week.level) == (1, 0, "ok")


# --- Ruling and appeal (R5.3) -----------------------------------------------------------------


def test_r5_3_a_ruling_for_the_buyer_is_refunded_exactly_once_and_can_be_appealed_in_7_days(
    shop_a, clock, django_capture_on_commit_callbacks
):
    case = rejected_with_intervention(shop_a, T0 + timedelta(hours=48))
    with django_capture_on_commit_callbacks(execute=True):
        record_platform_dispute(
            case=case,
            dispute_status="ruled_for_buyer",
            details={"conclusion": 1, "blame": 1, "refund_amount_fen": 8800},
        )
    ticket = Intervention.objects.get(case=case)
    assert (ticket.ruling, ticket.responsible) == ("for_buyer", "merchant")
    for _ in range(3):  # a redelivered task, a second worker
        with django_capture_on_commit_callbacks(execute=True):
            services.execute_ruling(ticket.pk)
    case.refresh_from_db()
    decision = RefundDecision.objects.get(case=case)
    assert decision.goods_amount_fen == 8800
    assert (case.status, case.refund_status) == ("completed", "refunded")
    assert types_of(case).count("ruling_executed") == 1
    appeal_clock = SlaClock.objects.get(case=case, kind="appeal")
    assert appeal_clock.state == "running"  # the refund ended the case, not the appeal window
    assert appeal_clock.due_at == ticket.ruled_at + timedelta(days=7)

    clock.move_to(T0 + timedelta(days=6))
    appeal = services.file_appeal(case=case, statement="买家提供的照片与商品不符", by=BY)
    assert SlaClock.objects.get(case=case, kind="appeal").state == "stopped"
    with pytest.raises(Conflict):
        services.file_appeal(case=case, statement="again", by=BY)
    services.record_appeal_outcome(appeal=appeal, outcome="rejected", note="维持原判", by=BY)
    appeal.refresh_from_db()
    assert appeal.outcome == "rejected"


def test_r5_3_appeal_after_seven_days_is_refused(shop_a, clock, django_capture_on_commit_callbacks):
    case = rejected_with_intervention(shop_a, T0 + timedelta(hours=48))
    with django_capture_on_commit_callbacks(execute=True):
        record_platform_dispute(case=case, dispute_status="ruled_for_buyer", details={})
    clock.move_to(T0 + timedelta(days=7, minutes=1))
    with pytest.raises(Conflict):
        services.file_appeal(case=case, statement="太晚了", by=BY)


def test_r5_3_a_ruling_for_the_shop_closes_the_case_with_no_refund(
    shop_a, clock, django_capture_on_commit_callbacks
):
    case = rejected_with_intervention(shop_a, T0 + timedelta(hours=48))
    with django_capture_on_commit_callbacks(execute=True):
        record_platform_dispute(
            case=case, dispute_status="ruled_for_merchant", details={"conclusion": 2, "blame": 2}
        )
    case.refresh_from_db()
    assert case.status == "closed" and not RefundDecision.objects.filter(case=case).exists()
    ticket = Intervention.objects.get(case=case)
    assert (ticket.ruling, ticket.responsible, ticket.ruling_outcome) == (
        "for_shop",
        "buyer",
        "case_closed",
    )
    with pytest.raises(Conflict):  # nothing to appeal
        services.file_appeal(case=case, statement="-", by=BY)


# --- Staying out of penalties -----------------------------------------------------------------


def test_week_tickets_count_late_unanswered_against_the_30_and_60_percent_lines(shop_a, clock):
    for hours in (2, 4, 30):
        rejected_with_intervention(shop_a, T0 + timedelta(hours=hours))
    clock.move_to(T0 + timedelta(hours=5))  # two are past their deadline, unanswered
    week = services.week_tickets(shop_a.pk)
    assert (week.total, week.on_time, week.late, week.waiting) == (3, 0, 2, 1)
    assert week.level == "fine"


def test_r2_6_extension_is_suggested_for_a_parcel_in_transit_two_days_before_the_platform(
    shop_a, clock
):
    case = steps.case_in(shop_a, "awaiting_return", "return_refund")
    steps.ship_return(case, BY)
    case.refresh_from_db()
    assert services.suggests_extension(case, T0 + timedelta(hours=40))
    assert not services.suggests_extension(case, T0 + timedelta(days=3))
    assert not services.suggests_extension(refund_case(shop_a), T0 + timedelta(hours=40))


def test_rejection_guard_warns_at_the_configured_multiple(shop_a, clock):
    lead = testing.actor(testing.make_user("lead-guard", shop_a, Role.ADMIN))
    services.set_dispute_settings(
        shop_id=shop_a.pk, by=lead, handler_id=None, baseline_per_mille=10, warn_multiple=5
    )
    for _ in range(4):
        refund_case(shop_a)
    case = refund_case(shop_a)
    cs.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=BY)
    rows = {r.reason_code: r for r in services.rejection_guard(shop_a.pk)}
    assert rows["no_evidence"].rate_per_mille == 200.0 and rows["no_evidence"].warn
    assert not rows["goods_used"].warn and rows["goods_used"].needs_proof


def test_settings_are_for_the_shops_leads_only(shop_a, alice):
    with pytest.raises(NotFound):
        services.set_dispute_settings(
            shop_id=shop_a.pk,
            by=testing.actor(alice),
            handler_id=None,
            baseline_per_mille=10,
            warn_multiple=5,
        )
