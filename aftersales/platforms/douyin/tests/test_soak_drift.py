"""Issue 15, the soak's second run (docs/benchmarks.md, "Soak"): the drifts that
`douyin_reconcile` found and could not repair. Each test strikes what the soak found and
asserts what must (not) happen; each fails without its fix."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from aftersales.cases import services
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict
from aftersales.platforms.douyin.models import OutboxOperation

from .mini_platform import MiniPlatform
from .support import body_of, message, post_push

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = Actor.system("agent")


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def push(link, tag, aftersale_id, **data):
    body = body_of(message(tag, aftersale_id, link.platform_shop_id, **data))
    response = post_push(Client(), body, app_key=link.app_key, secret=link.app_secret)
    assert response.status_code == 200, response.content
    return response


def pending_case(link, platform, *, type, **order):
    """A new after-sale of `type`, its case waiting for the merchant's first review."""
    platform_order = platform.add_order(**order)
    aftersale_id = platform.add_aftersale(platform_order, type=type, reason_code=1)
    push(link, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.status == "pending_review", case.status
    return case, aftersale_id


# --- (a) a refusal the platform has no operation for -----------------------------------------


def test_r1_3_an_unshipped_refund_cannot_be_rejected_here_the_platform_has_no_refusal(
    linked, platform
):
    """未发货仅退款: Douyin's operate has no refusal (type 2 takes 401 only; the merchant
    declines by shipping the order). The soak's run 2 had two cases `rejected` here while the
    platform still waited for the merchant (6). The rejection is refused, in both languages,
    saying what to do instead; nothing is recorded or sent."""
    case, aftersale_id = pending_case(linked, platform, type=2, status=2, pay_amount=60000)
    events_before = case.events.count()

    with pytest.raises(Conflict) as refused:
        services.reject_case(
            case=case, reason_code="no_evidence", note="请补充有效凭证后重新申请", by=AGENT
        )

    assert "未发货仅退款" in refused.value.render("en")
    assert "ship the order" in refused.value.render("en")
    with translation.override("zh-hans"):
        chinese = refused.value.render("zh-hans")
    assert "发货" in chinese and "同意退款" in chinese
    case.refresh_from_db()
    assert case.status == "pending_review"
    assert case.events.count() == events_before
    assert not OutboxOperation.objects.filter(case=case, kind="reject").exists()
    assert platform.operate_calls(aftersale_id) == []
    # Approving it stays possible.
    services.approve_case(case=case, by=AGENT)
    case.refresh_from_db()
    assert case.status == "awaiting_refund"


def test_r1_3_a_refund_after_shipping_is_still_rejected_through_the_platform(linked, platform):
    """The objection is about the platform's missing operation only: a shipped refund-only
    request is refused with 202 as before."""
    case, aftersale_id = pending_case(
        linked, platform, type=1, status=3, shipped=True, signed=True, pay_amount=60000
    )

    services.reject_case(
        case=case, reason_code="no_evidence", note="请补充有效凭证后重新申请", by=AGENT
    )

    case.refresh_from_db()
    assert case.status == "rejected"
    assert [c.params["type"] for c in platform.operate_calls(aftersale_id)] == [202]


# --- (b) a refund execution left executing after the platform refunded ---------------------


def test_r3_4_a_refund_whose_worker_died_after_the_platform_acted_completes_once(
    linked, platform, monkeypatch, settings
):
    """The soak's run 2: two executions left `executing` although the platform refunded — the
    worker executing the refund was SIGKILLed inside the agreement's call, after the platform
    applied it. Here the kill's leftovers are made by hand (the execution `executing`, the
    agreement `sending`, the platform at 12 refunding). The sweep takes both back once their
    leases ran out; the agreement is found done (Detail), and the execution completes — with
    no second agreement sent, one `refund_executed`, the booking unchanged."""
    from datetime import timedelta

    from django.utils import timezone

    from aftersales.cases.models import RefundExecution
    from aftersales.platforms.douyin.sync import run_safety_net

    settings.AFTERSALES_REFUND_LEASE_SECONDS = 60
    case, aftersale_id = pending_case(
        linked, platform, type=1, status=3, shipped=True, signed=True, pay_amount=60000
    )
    services.approve_case(case=case, by=AGENT)
    # The worker that takes the refund dies in the middle: nothing is delivered here.
    monkeypatch.setattr("aftersales.platforms.douyin.outbox.queue_delivery", lambda *a, **k: None)
    monkeypatch.setattr("aftersales.cases.services.enqueue_refund_execution", lambda pk: None)
    decision = services.refund_case(case=case, by=AGENT)
    monkeypatch.undo()
    now = timezone.now()
    execution = RefundExecution.objects.get(decision=decision)
    RefundExecution.objects.filter(pk=execution.pk).update(
        status="executing", attempts=1, claimed_at=now
    )
    agreement = OutboxOperation.objects.get(case=case, kind="agree")
    OutboxOperation.objects.filter(pk=agreement.pk).update(
        status="sending", attempts=1, claimed_at=now
    )
    agreement.attempt_log.create(number=1, started_at=now)
    platform.set_status(aftersale_id, 12, refund_status=2)  # applied; the answer never came

    later = now + timedelta(minutes=10)  # past both leases
    run_safety_net(now=later)  # the agreement: Detail says done
    agreement.refresh_from_db()
    assert agreement.status == "synced"
    assert services.recover_stalled_refunds(now=later) == (1, 0)

    execution.refresh_from_db()
    case.refresh_from_db()
    assert (execution.status, execution.attempts) == ("succeeded", 2)
    assert (case.status, case.refund_status) == ("completed", "refunded")
    assert case.events.filter(type="refund_executed").count() == 1
    assert case.events.filter(type="refund_failed").count() == 1  # the stall, on the trail
    assert platform.operate_calls(aftersale_id) == []  # never a second agreement
    assert decision.order_refund_fen == 60000
    # Nothing is left to recover or pay again.
    assert services.recover_stalled_refunds(now=later + timedelta(minutes=5)) == (0, 0)
    services.execute_refund(execution=execution, by=AGENT)
    execution.refresh_from_db()
    assert execution.attempts == 2


def test_r3_4_a_stalled_refund_whose_instruction_the_platform_refused_stays_failed(
    linked, platform, monkeypatch, settings
):
    """The resumption is only for an instruction the platform has: one it refused leaves the
    execution failed, for a person (nothing retried in a loop)."""
    from datetime import timedelta

    from django.utils import timezone

    from aftersales.cases.models import RefundExecution

    settings.AFTERSALES_REFUND_LEASE_SECONDS = 60
    case, aftersale_id = pending_case(
        linked, platform, type=1, status=3, shipped=True, signed=True, pay_amount=60000
    )
    services.approve_case(case=case, by=AGENT)
    monkeypatch.setattr("aftersales.platforms.douyin.outbox.queue_delivery", lambda *a, **k: None)
    monkeypatch.setattr("aftersales.cases.services.enqueue_refund_execution", lambda pk: None)
    decision = services.refund_case(case=case, by=AGENT)
    monkeypatch.undo()
    now = timezone.now()
    RefundExecution.objects.filter(decision=decision).update(
        status="executing", attempts=1, claimed_at=now
    )
    OutboxOperation.objects.filter(case=case, kind="agree").update(
        status="failed", last_error="50002 售后状态错误"
    )

    assert services.recover_stalled_refunds(now=now + timedelta(minutes=5)) == (1, 0)

    execution = RefundExecution.objects.get(decision=decision)
    assert (execution.status, execution.attempts) == ("failed", 1)


# --- (c) the amount booked is the amount the platform pays ----------------------------------


def test_r3_2_a_refund_booked_here_is_what_the_platform_pays_its_shipping_included(
    linked, platform, alice
):
    """The soak's run 2: decision 513.00 元, the platform paid 519.00 元. An unshipped refund of
    the whole order is applied for with its shipping (6 元); the agreement (401) carries no
    amount, so the platform pays the application whatever is booked here. A decision without
    the shipping is refused, saying what the platform pays, and books nothing; the defaults
    are the application, and the booked refund equals what the platform pays."""
    from aftersales.cases.models import RefundDecision
    from aftersales.orders.models import OrderItem

    case, aftersale_id = pending_case(
        linked, platform, type=2, status=2, pay_amount=51300, post_amount=600
    )
    platform.info(aftersale_id).update(refund_amount=51900, refund_post_amount=600)
    platform.set_status(aftersale_id, 6)
    push(linked, "208", aftersale_id)  # the Detail with the application's shipping
    agent = Actor(kind="user", label="alice", user=alice, shop_roles={case.shop_id: "agent"})
    services.approve_case(case=case, by=agent)

    with pytest.raises(Conflict) as refused:
        services.refund_case(case=case, by=agent, shipping_amount_fen=0)

    assert "519.00" in refused.value.render("en") and "6.00" in refused.value.render("en")
    assert not RefundDecision.objects.filter(case=case).exists()
    assert OrderItem.objects.get(order__cases=case).refunded_amount_fen == 0
    assert platform.operate_calls(aftersale_id) == []

    defaults = services.refund_defaults(case)
    assert (defaults.goods_fen, defaults.shipping_fen) == (51300, 600)
    decision = services.refund_case(case=case, by=agent, shipping_amount_fen=None)

    assert decision.order_refund_fen == 51900
    assert [c.params["type"] for c in platform.operate_calls(aftersale_id)] == [401]
    case.refresh_from_db()
    assert (case.status, case.refund_status) == ("completed", "refunded")


def test_r3_2_a_shop_on_no_platform_still_decides_its_own_amount(shop_a):
    """The platform's amount binds only a case on a platform that pays its own amount: a
    plain shop's partial refund is booked as decided."""
    from aftersales import testing
    from aftersales.orders.choices import OrderStatus

    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = testing.make_case(order, type="refund_unshipped", reason="changed_mind")
    services.approve_case(case=case, by=AGENT)
    decision = services.refund_case(
        case=case, by=AGENT, goods_amount_fen=100, reason="协商部分退款"
    )
    assert decision.order_refund_fen == 100


# --- (d) a case behind the platform after the platform agreed by itself ---------------------


def returned_case(link, platform):
    """A return agreed here, shipped by the buyer and received here: awaiting inspection,
    the platform at 11 (待商家二次同意)."""
    order = platform.add_order(status=5, shipped=True, signed=True, pay_amount=51900)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=1)
    push(link, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    services.approve_case(case=case, by=AGENT)
    platform.aftersales[aftersale_id]["process_info"]["logistics_info"]["return"] = {
        "company_code": "yunda",
        "tracking_no": "YD778899",
        "status": 1,
    }
    platform.set_status(aftersale_id, 7)
    push(link, "203", aftersale_id)
    services.receive_return(case=Case.objects.get(pk=case.pk), by=AGENT)
    case.refresh_from_db()
    assert case.status == "awaiting_inspection"
    assert platform.info(aftersale_id)["after_sale_status"] == 11
    return case, aftersale_id


@pytest.mark.parametrize("local", ["awaiting_inspection", "pending_final_review"])
def test_r13_1_a_second_review_the_platform_agreed_before_ours_is_followed_to_the_refund(
    linked, platform, local
):
    """The soak's run 2: local `awaiting_inspection`, the platform 12 售后成功 with the refund
    paid (its timeout agreed the second review). The Detail read afterwards brings the case
    to completed and refunded with the platform's amount, and nothing is sent back: no
    second-review refund instruction of ours."""
    case, aftersale_id = returned_case(linked, platform)
    if local == "pending_final_review":
        services.inspect_return(case=case, result="pass", condition="good", by=AGENT)
    platform.set_status(aftersale_id, 12, refund_status=3)

    push(linked, "201", aftersale_id)

    case.refresh_from_db()
    assert (case.status, case.refund_status) == ("completed", "refunded")
    decision = case.refund_decision
    assert decision.order_refund_fen == 51900
    assert case.events.get(type="case_final_approved").actor_kind == "platform"
    assert [t for _, t in platform.applied] == [101, 0]  # no 111 of ours
    assert not OutboxOperation.objects.filter(case=case, kind="second_review").exists()
    assert not OutboxOperation.objects.filter(case=case, status__in=["pending", "failed"]).exclude(
        kind="notify_buyer"
    )


def test_r1_2_an_agent_still_cannot_skip_the_inspection(linked, platform):
    """The new edge from the inspection is the platform's: an agent inspects first."""
    case, _ = returned_case(linked, platform)
    with pytest.raises(Exception, match="awaiting_inspection"):
        services.approve_after_inspection(case=case, by=AGENT)


def test_r5_3_a_rejection_the_platform_overruled_is_followed_without_the_ruling_task(
    linked, platform, monkeypatch
):
    """Found by bench/soak.py (issue 15, the run before run 3): a rejected refund-only case,
    the platform ruled for the buyer and refunded (12, paid), the disputes app's ruling task
    never ran (lost with a killed worker): the case stayed `rejected`. The Detail read now
    brings it to completed with the platform's amount, sending nothing back."""
    case, aftersale_id = pending_case(
        linked, platform, type=1, status=3, shipped=True, signed=True, pay_amount=6800
    )
    services.reject_case(
        case=case, reason_code="no_evidence", note="请补充有效凭证后重新申请", by=AGENT
    )
    assert platform.info(aftersale_id)["after_sale_status"] == 27
    monkeypatch.setattr("aftersales.disputes.services._enqueue_ruling", lambda pk: None)
    platform.aftersales[aftersale_id]["process_info"]["arbitrate_info"].update(
        arbitrate_status=2, arbitrate_conclusion=3, arbitrate_id="8100000000002"
    )
    platform.set_status(aftersale_id, 12, refund_status=3)

    push(linked, "206", aftersale_id)

    case.refresh_from_db()
    assert (case.status, case.refund_status) == ("completed", "refunded")
    assert case.refund_decision.order_refund_fen == 6800
    assert [c.params["type"] for c in platform.operate_calls(aftersale_id)] == [202]
