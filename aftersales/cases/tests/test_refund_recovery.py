"""R3.4 and "nothing lost": a refund whose worker crashed or whose task was lost is recovered
by the sweep, visibly, and never paid twice."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import ExecutionStatus, RefundStatus
from aftersales.cases.models import RefundExecution
from aftersales.orders.choices import OrderStatus

GATEWAY = "aftersales.cases.tests.test_refund_recovery.RecordingGateway"
CRASHING = "aftersales.cases.tests.test_refund_recovery.CrashingGateway"


class RecordingGateway:
    calls: list[str] = []

    def refund(self, execution):
        from aftersales.cases.ports import RefundReceipt

        RecordingGateway.calls.append(execution.idempotency_key)
        return RefundReceipt(reference="ref-" + execution.idempotency_key)


class CrashingGateway:
    def refund(self, execution):
        raise ConnectionResetError("connection reset by peer")


@pytest.fixture
def decided(shop_a):
    RecordingGateway.calls = []
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = testing.make_case(order, type="refund_unshipped", reason="changed_mind")
    services.approve_case(case=case, by=testing.SYSTEM)
    decision = services.refund_case(case=case, by=testing.SYSTEM)  # task not run: no commit
    return case, decision.execution


def test_a_crash_in_the_gateway_is_recorded_as_a_failure_not_left_executing_r3_4(decided):
    case, execution = decided
    with override_settings(AFTERSALES_REFUND_GATEWAY=CRASHING):
        services.execute_refund(execution=execution, by=testing.SYSTEM)
    execution.refresh_from_db()
    case.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED
    assert "ConnectionResetError" in execution.last_error
    assert case.refund_status == RefundStatus.FAILED
    assert AuditEvent.objects.filter(case=case, type="refund_failed").count() == 1


@override_settings(AFTERSALES_REFUND_GATEWAY=GATEWAY)
def test_a_lost_task_is_queued_again_by_the_sweep_and_pays_once_r3_4(
    decided, django_capture_on_commit_callbacks
):
    case, execution = decided
    assert services.recover_stalled_refunds() == (0, 0)  # too young to be called lost
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        call_command("sweep")
        call_command("sweep")
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert RecordingGateway.calls == [execution.idempotency_key]


@override_settings(AFTERSALES_REFUND_GATEWAY=GATEWAY)
def test_a_worker_that_died_mid_call_leaves_a_retryable_failure_r3_4(decided):
    case, execution = decided
    # The worker claimed the execution, then was killed before it could record anything.
    RefundExecution.objects.filter(pk=execution.pk).update(
        status=ExecutionStatus.EXECUTING, attempts=1, claimed_at=timezone.now()
    )
    assert services.recover_stalled_refunds() == (0, 0)  # maybe still working
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.recover_stalled_refunds() == (1, 0)
        assert services.recover_stalled_refunds() == (0, 0)
    execution.refresh_from_db()
    case.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED
    assert case.refund_status == RefundStatus.FAILED
    assert RecordingGateway.calls == []

    services.retry_refund(case=case, by=testing.SYSTEM)
    services.execute_refund(execution=execution, by=testing.SYSTEM)
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == (ExecutionStatus.SUCCEEDED, 2)
    assert RecordingGateway.calls == [execution.idempotency_key]
