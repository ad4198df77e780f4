"""The outbox: written with the decision, claimed once, in order per case, the effect once
(even after an ambiguous failure or a dead worker), failures visible and retryable."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.ports import get_refund_gateway
from aftersales.core.actors import Actor
from aftersales.platforms.adapter import adapter_for_case
from aftersales.platforms.douyin.adapter import sync_state_of
from aftersales.platforms.douyin.ingest import sync_aftersale
from aftersales.platforms.douyin.models import (
    BuyerMessageTemplate,
    OutboxAttempt,
    OutboxOperation,
)
from aftersales.platforms.douyin.outbox import (
    deliver_operation,
    recover_stalled_operations,
    retry_failed_operations,
)

from . import factories
from .mini_platform import MiniPlatform

pytestmark = pytest.mark.django_db

AGENT = Actor.system("agent-test")


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


@pytest.fixture
def return_case(linked, platform):
    """A return-and-refund case opened from the platform, awaiting review (status 6)."""
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0, reason_code=1)
    case = sync_aftersale(linked, aftersale_id)
    assert case.status == "pending_review"
    return case


def agree_operation(case):
    services.approve_case(case=case, by=AGENT)
    return OutboxOperation.objects.get(case=case, kind="agree")


def test_the_operation_is_written_in_the_decisions_transaction(return_case):
    operation = agree_operation(return_case)

    assert operation.status == "pending" and operation.attempts == 0
    assert operation.params == {"operate_type": 101, "receiver_address_id": "addr-1"}
    assert operation.cause == "case_approved"
    assert operation.idempotency_key.startswith(f"douyin-case{return_case.pk}-")


def test_a_refused_decision_writes_no_operation(return_case):
    services.approve_case(case=return_case, by=AGENT)
    before = OutboxOperation.objects.count()
    with pytest.raises(Exception, match="not allowed"):
        services.approve_case(case=return_case, by=AGENT)
    assert OutboxOperation.objects.count() == before


def test_an_operation_is_claimed_once(return_case, platform):
    operation = agree_operation(return_case)
    # Another worker holds the claim: this one must not send.
    OutboxOperation.objects.filter(pk=operation.pk).update(status="sending")
    assert deliver_operation(operation.pk).status == "sending"
    assert platform.operate_calls() == []

    OutboxOperation.objects.filter(pk=operation.pk).update(status="pending")
    first = deliver_operation(operation.pk)
    second = deliver_operation(operation.pk, force=True)

    assert first.status == second.status == "synced"
    assert len(platform.operate_calls()) == 1
    (attempt,) = OutboxAttempt.objects.filter(operation=operation)
    assert (attempt.number, attempt.outcome, attempt.log_id) == (1, "succeeded", "op-101")
    assert attempt.finished_at is not None


def test_operations_of_a_case_go_out_in_the_order_decided(
    return_case, platform, django_capture_on_commit_callbacks
):
    agree = agree_operation(return_case)
    OutboxOperation.objects.filter(pk=agree.pk).update(status="failed", attempts=1)
    platform.set_status(return_case.platform_case_id, 7)
    services.receive_return(case=return_case, by=AGENT)
    receipt = OutboxOperation.objects.get(case=return_case, kind="confirm_receipt")

    assert deliver_operation(receipt.pk).status == "pending"  # waits for the agreement
    assert not [c for c in platform.gateway.calls if "WareHouse" in c.method]
    # A message to the buyer never holds anything up, but waits for what came before it.
    received_note = OutboxOperation.objects.get(
        case=return_case, cause="return_received", kind="notify_buyer"
    )
    assert deliver_operation(received_note.pk).status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        retry_failed_operations(case=return_case, by=AGENT)

    assert OutboxOperation.objects.get(pk=agree.pk).status == "synced"
    assert OutboxOperation.objects.get(pk=receipt.pk).status == "synced"
    assert OutboxOperation.objects.get(pk=received_note.pk).status == "synced"


def test_a_wrong_status_answer_is_success_when_detail_shows_the_target(return_case, platform):
    operation = agree_operation(return_case)
    # Agreed meanwhile in the back-office: the platform refuses the second agreement.
    platform.set_status(return_case.platform_case_id, 7)

    result = deliver_operation(operation.pk)

    assert result.status == "synced"
    assert OutboxAttempt.objects.get(operation=operation).outcome == "already_done"
    assert platform.applied == []


def test_an_ambiguous_failure_is_checked_not_repeated(return_case, platform):
    operation = agree_operation(return_case)
    platform.faults["afterSale.operate"] = ["after:502"]  # applied, but the answer is lost

    result = deliver_operation(operation.pk)

    assert result.status == "synced"
    assert platform.applied == [(return_case.platform_case_id, 101)]
    assert len(platform.operate_calls()) == 1
    assert OutboxAttempt.objects.get(operation=operation).outcome == "already_done"


def test_a_failure_before_the_platform_applied_it_is_retried(return_case, platform):
    operation = agree_operation(return_case)
    platform.faults["afterSale.operate"] = [(503, {})]  # refused before applying

    result = deliver_operation(operation.pk)

    assert result.status == "synced" and result.attempts == 2
    outcomes = list(
        OutboxAttempt.objects.filter(operation=operation).values_list("outcome", flat=True)
    )
    assert outcomes == ["transient_error", "succeeded"]
    assert platform.applied == [(return_case.platform_case_id, 101)]


def test_transient_failures_back_off_then_fail_visibly(return_case, platform, settings):
    settings.DOUYIN_OUTBOX_MAX_ATTEMPTS = 3
    operation = agree_operation(return_case)
    platform.faults["afterSale.operate"] = [(503, {})] * 10

    first = deliver_operation(operation.pk)

    assert first.status == "failed" and first.attempts == 3
    assert "HTTP 503" in first.last_error
    assert platform.applied == []
    failed = AuditEvent.objects.get(case_id=return_case.pk, type="platform_operation_failed")
    assert failed.payload["operation"] == operation.pk
    state = sync_state_of(return_case)
    assert state.state == "failed" and "HTTP 503" in state.reason


def test_a_transient_failure_waits_with_backoff(return_case, platform, settings):
    settings.DOUYIN_OUTBOX_INLINE_TRIES = 1
    operation = agree_operation(return_case)
    platform.faults["afterSale.operate"] = [(503, {})]
    before = timezone.now()

    result = deliver_operation(operation.pk)

    assert result.status == "pending" and result.attempts == 1
    assert before + timedelta(seconds=2) < result.next_attempt_at < before + timedelta(seconds=6)
    # Not due yet: a worker picking it up now leaves it alone.
    assert deliver_operation(operation.pk).attempts == 1


def test_a_business_refusal_fails_at_once_and_can_be_retried(
    return_case, platform, django_capture_on_commit_callbacks
):
    operation = agree_operation(return_case)
    platform.set_status(return_case.platform_case_id, 28)  # closed by the buyer meanwhile

    failed = deliver_operation(operation.pk)

    assert failed.status == "failed" and failed.attempts == 1
    assert "20309541" in failed.last_error
    assert sync_state_of(return_case).state == "failed"

    platform.set_status(return_case.platform_case_id, 6)  # (reopened, for the test)
    with django_capture_on_commit_callbacks(execute=True):
        retry_failed_operations(case=return_case, by=AGENT)

    operation.refresh_from_db()
    assert operation.status == "synced" and operation.attempts == 2
    assert AuditEvent.objects.filter(case_id=return_case.pk, type="platform_sync_retried").exists()
    with pytest.raises(Exception, match="no failed platform operation"):
        retry_failed_operations(case=return_case, by=AGENT)


def test_r13_1_an_agreement_refused_for_want_of_the_return_address_goes_once_it_is_set(
    return_case, linked, platform, django_capture_on_commit_callbacks
):
    """Issue 14: a failure the merchant can fix is fixed by the retry, which sends what the
    link holds now (the address id set after the refusal), not what it held then."""
    linked.receiver_address_id = ""
    linked.save(update_fields=["receiver_address_id"])
    operation = agree_operation(return_case)
    failed = deliver_operation(operation.pk)
    assert failed.status == "failed" and "return address" in failed.last_error

    linked.receiver_address_id = "addr-9"
    linked.save(update_fields=["receiver_address_id"])
    with django_capture_on_commit_callbacks(execute=True):
        retry_failed_operations(case=return_case, by=AGENT)

    operation.refresh_from_db()
    assert operation.status == "synced" and operation.params["receiver_address_id"] == "addr-9"
    (call,) = platform.operate_calls()
    assert call.params["items"][0]["logistics"] == {"receiver_address_id": "addr-9"}
    event = AuditEvent.objects.get(case_id=return_case.pk, type="platform_sync_retried")
    assert event.payload["updated"] == [operation.pk]


def test_a_dead_worker_is_recovered_and_the_operation_not_applied_twice(return_case, platform):
    operation = agree_operation(return_case)
    # The worker claimed the operation, the platform applied it, then the worker died
    # before recording anything.
    long_ago = timezone.now() - timedelta(hours=1)
    OutboxOperation.objects.filter(pk=operation.pk).update(
        status="sending", attempts=1, claimed_at=long_ago
    )
    OutboxAttempt.objects.create(operation=operation, number=1, started_at=long_ago)
    platform.set_status(return_case.platform_case_id, 7)
    platform.applied.append((return_case.platform_case_id, 101))

    recovered, queued = recover_stalled_operations()

    assert recovered == 1
    operation.refresh_from_db()
    assert operation.status in ("pending", "synced")
    result = deliver_operation(operation.pk)
    assert result.status == "synced" and result.attempts == 2
    outcomes = list(
        OutboxAttempt.objects.filter(operation=operation)
        .order_by("number")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["abandoned", "already_done"]
    assert platform.operate_calls() == []  # Detail said it was done: nothing sent again


def test_a_dead_worker_whose_call_never_arrived_is_sent_once(return_case, platform):
    operation = agree_operation(return_case)
    long_ago = timezone.now() - timedelta(hours=1)
    OutboxOperation.objects.filter(pk=operation.pk).update(
        status="sending", attempts=1, claimed_at=long_ago
    )

    recover_stalled_operations()
    result = deliver_operation(operation.pk)

    assert result.status == "synced"
    assert platform.applied == [(return_case.platform_case_id, 101)]


def test_a_recent_claim_is_not_taken_from_a_live_worker(return_case, platform):
    operation = agree_operation(return_case)
    OutboxOperation.objects.filter(pk=operation.pk).update(
        status="sending", attempts=1, claimed_at=timezone.now()
    )
    recover_stalled_operations()
    assert OutboxOperation.objects.get(pk=operation.pk).status == "sending"


# --- What is written for which event ---------------------------------------------------------


def test_the_platforms_own_changes_are_not_echoed_but_the_buyer_is_told(return_case):
    services.approve_case(case=return_case, by=Actor.platform("douyin"))

    assert list(
        OutboxOperation.objects.filter(case=return_case, cause="case_approved").values_list(
            "kind", flat=True
        )
    ) == ["notify_buyer"]


def test_cases_of_unlinked_shops_or_without_a_platform_id_write_nothing(shop_a, shop_b, linked):
    plain = testing.make_case(testing.make_order(shop_a))  # shop A, no platform id
    unlinked = factories.platform_case(shop_b)  # shop B has no Douyin link
    for case in (plain, unlinked):
        services.approve_case(case=case, by=AGENT)
    assert not OutboxOperation.objects.filter(case__in=[plain, unlinked]).exists()


def test_the_buyer_message_comes_from_the_shops_edited_template(return_case, shop_a):
    BuyerMessageTemplate.objects.create(
        shop=shop_a, event="case_approved", text="{shop}：订单 {order_id} 已同意。{next_step}"
    )
    services.approve_case(case=return_case, by=AGENT)

    notify = OutboxOperation.objects.get(
        case=return_case, cause="case_approved", kind="notify_buyer"
    )
    due = return_case.clocks.get(kind="return_shipment").due_at
    assert notify.params["content"] == (
        f"A店·服饰旗舰店：订单 {return_case.order.platform_order_id} 已同意。"
        f"请在 {timezone.localtime(due):%Y-%m-%d %H:%M} 前将商品寄回（退货地址见售后详情页），"
        "并在平台填写退货运单号。"
    )


# --- Every step that waits for the buyer tells the buyer (R3.5, issue 14) -------------------


def buyer_message(case, cause):
    (operation,) = OutboxOperation.objects.filter(case=case, cause=cause, kind="notify_buyer")
    return operation.params["content"]


def test_r3_5_requesting_evidence_tells_the_buyer_what_to_provide(return_case):
    """The case waits, its clocks paused, for photos: the buyer is asked for them."""
    services.request_evidence(case=return_case, note="吊牌和商品瑕疵处的清晰照片", by=AGENT)

    text = buyer_message(return_case, "evidence_requested")
    assert "请在售后详情页上传以下凭证：吊牌和商品瑕疵处的清晰照片。" in text
    assert return_case.order.platform_order_id in text


def test_r3_5_an_approved_return_says_where_to_send_the_goods_and_by_when(return_case, linked):
    linked.return_address = "浙江省杭州市余杭区文一西路 1000 号 售后组（收）400-800-0000"
    linked.save(update_fields=["return_address"])
    services.approve_case(case=return_case, by=AGENT)

    due = timezone.localtime(return_case.clocks.get(kind="return_shipment").due_at)
    text = buyer_message(return_case, "case_approved")
    assert f"请在 {due:%Y-%m-%d %H:%M} 前将商品寄回至：浙江省杭州市余杭区文一西路 1000 号" in text
    assert "7 天内" not in text  # the buyer's deadline is the case's, on working days (R2.4)


def test_r3_5_a_parcel_being_stopped_asks_the_buyer_to_refuse_it(linked, platform):
    order = platform.add_order(status=3, shipped=True)
    case = sync_aftersale(linked, platform.add_aftersale(order, type=1, reason_code=2))
    OutboxOperation.objects.filter(case=case).delete()  # what the arrival queued

    adapter_for_case(case).request_interception(case=case, by=AGENT)

    assert "请直接拒收" in buyer_message(case, "interception_requested")


def test_a_template_quotes_the_platforms_after_sale_number_not_ours(return_case, shop_a):
    """The buyer never saw our case number: {case_id} is the platform's after-sale number."""
    BuyerMessageTemplate.objects.create(
        shop=shop_a, event="case_approved", text="售后单 {case_id} 已同意。"
    )
    services.approve_case(case=return_case, by=AGENT)
    assert buyer_message(return_case, "case_approved") == (
        f"售后单 {return_case.platform_case_id} 已同意。"
    )


def test_a_switched_off_message_is_not_sent(return_case):
    BuyerMessageTemplate.objects.filter(shop__isnull=True, event="case_approved").update(
        is_active=False
    )
    services.approve_case(case=return_case, by=AGENT)
    assert not OutboxOperation.objects.filter(
        case=return_case, kind="notify_buyer", cause="case_approved"
    ).exists()


def test_default_templates_exist_for_every_step_in_chinese():
    from aftersales.platforms.douyin.choices import NotificationEvent

    defaults = dict(
        BuyerMessageTemplate.objects.filter(shop__isnull=True).values_list("event", "text")
    )
    assert set(defaults) == set(NotificationEvent.values)
    assert all(re.search(r"[\u4e00-\u9fff]{4}", text) for text in defaults.values())


# --- The refund gateway ----------------------------------------------------------------------


def test_the_refund_gateway_is_the_manual_one_for_shops_without_a_link(shop_b, fast):
    case = testing.make_case(
        testing.make_order(shop_b, status="unshipped"), type="refund_unshipped"
    )
    services.approve_case(case=case, by=AGENT)
    decision = services.refund_case(case=case, by=AGENT)

    receipt = get_refund_gateway().refund(decision.execution)

    assert receipt.reference == f"manual:{decision.execution.idempotency_key}"


def test_the_refund_is_executed_when_the_agreement_reached_the_platform(linked, platform):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2)
    case = sync_aftersale(linked, aftersale_id)  # triaged: approved and refund decided
    execution = RefundExecution.objects.get(decision__case=case)
    assert case.refund_status == "pending"  # on-commit work does not run in this test

    done = services.execute_refund(execution=execution, by=AGENT)

    assert done.status == "succeeded" and done.external_reference == f"douyin:{aftersale_id}"
    assert platform.applied == [(aftersale_id, 401)]  # delivered by the gateway itself


def test_the_refund_fails_visibly_while_the_agreement_is_refused(linked, platform):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2)
    case = sync_aftersale(linked, aftersale_id)
    platform.set_status(aftersale_id, 28)  # the merchant shipped; the request closed

    done = services.execute_refund(
        execution=RefundExecution.objects.get(decision__case=case), by=AGENT
    )

    assert done.status == "failed" and "20309541" in done.last_error
    assert Case.objects.get(pk=case.pk).refund_status == "failed"
    assert platform.applied == []


# --- The API ---------------------------------------------------------------------------------


def test_the_case_sync_state_and_retry_through_the_api(shop_a, alice, carol, audrey, fast):
    case = factories.sync_failed(shop_a)

    def client(user):
        c = Client()
        c.force_login(user)
        return c

    state = client(alice).get(f"/api/v1/cases/{case.pk}/sync")
    assert state.status_code == 200
    assert state.json()["state"] == "failed" and state.json()["reason"] == "HTTP 503"
    assert client(carol).get(f"/api/v1/cases/{case.pk}/sync").status_code == 404
    assert client(carol).post(f"/api/v1/cases/{case.pk}/sync/retry").status_code == 404
    assert client(audrey).post(f"/api/v1/cases/{case.pk}/sync/retry").status_code == 403
    assert OutboxOperation.objects.get(case=case).status == "failed"

    retried = client(alice).post(f"/api/v1/cases/{case.pk}/sync/retry")

    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = client(alice).post(f"/api/v1/cases/{case.pk}/sync/retry")
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_the_sweep_queues_what_is_due_but_not_what_waits_behind_a_failure(return_case, platform):
    agree = agree_operation(return_case)
    notify = OutboxOperation.objects.get(
        case=return_case, kind="notify_buyer", cause="case_approved"
    )
    opened = OutboxOperation.objects.get(case=return_case, kind="notify_buyer", cause="case_opened")
    OutboxOperation.objects.filter(pk=agree.pk).update(status="failed")

    recovered, queued = recover_stalled_operations()

    # The first message was due and is delivered (the immediate backend runs the task);
    # the second waits for the failed agreement and is not queued at all.
    assert (recovered, queued) == (0, 1)
    assert OutboxOperation.objects.get(pk=opened.pk).status == "synced"
    assert OutboxOperation.objects.get(pk=notify.pk).status == "pending"


def test_issue16_the_sweep_queues_one_task_per_batch_not_one_per_operation(
    return_case, platform, settings, monkeypatch
):
    """Behind a backlog the safety net must not queue the whole backlog again on every pass:
    a delivery task takes a batch of ready operations, so one task per batch covers them."""
    settings.DOUYIN_OUTBOX_BATCH = 50
    now = timezone.now()
    OutboxOperation.objects.bulk_create(
        OutboxOperation(
            shop_id=return_case.shop_id,
            case=return_case,
            kind="notify_buyer",
            params={"text": f"message {n}"},
            idempotency_key=f"backlog-{n}",
            status="pending",
            next_attempt_at=now - timedelta(minutes=5),
            created_at=now - timedelta(minutes=5),
        )
        for n in range(120)
    )
    due = list(
        OutboxOperation.objects.filter(status="pending", next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    queued: list[int] = []
    monkeypatch.setattr(
        "aftersales.platforms.douyin.outbox.enqueue_delivery", lambda pk, **kw: queued.append(pk)
    )

    recovered, counted = recover_stalled_operations(now)

    assert (recovered, counted) == (0, len(due)) and len(due) >= 120
    assert queued == due[::50]  # the oldest of each batch: 3 tasks, not 120
