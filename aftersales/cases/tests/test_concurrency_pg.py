"""R3.2, R3.4, R6.2 under real concurrency (PostgreSQL row locks; skipped on SQLite).

Sixteen threads released together by a barrier, each on its own database connection:
- all approve and refund one refund-only case: exactly one decision, one execution, one
  "case_approved" and one "refund_decided" event, the paid amount refunded once, everyone
  else refused with a DomainError, and the audit chain still verifies;
- half refund one case and half another case on the same item: never more than paid;
- all execute the same refund execution: the gateway is called exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus, CaseType, ExecutionStatus, RefundStatus
from aftersales.cases.models import RefundDecision, RefundExecution, RefundLine
from aftersales.cases.ports import RefundReceipt
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import OrderItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


class LockedCountingGateway:
    calls: list[str] = []
    lock = threading.Lock()

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        with LockedCountingGateway.lock:
            LockedCountingGateway.calls.append(execution.idempotency_key)
        return RefundReceipt(reference="gw-ok")


def run_together(work: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    """Run `work(n)` in THREADS threads released at once; collect results and errors."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def target(n: int) -> None:
        try:
            barrier.wait()
            outcome = work(n)
            with guard:
                results.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported by the test
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def attempt(action, **kwargs) -> str:
    try:
        action(**kwargs)
    except DomainError as exc:
        return type(exc).__name__
    return "ok"


def test_sixteen_clicks_approve_and_refund_a_case_exactly_once_r3_4(shop_a, alice):
    by = testing.actor(alice)
    order = testing.make_order(
        shop_a,
        status=OrderStatus.UNSHIPPED,
        lines=[testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=17600)],
    )
    case = testing.make_case(order, type=CaseType.REFUND_UNSHIPPED)

    def click(n: int) -> tuple[str, str]:
        return (
            attempt(services.approve_case, case=case, by=by),
            attempt(services.refund_case, case=case, by=by),
        )

    results, errors = run_together(click)

    assert errors == []
    approvals = [a for a, _ in results]
    refunds = [r for _, r in results]
    assert approvals.count("ok") == 1
    assert refunds.count("ok") == 1
    assert set(approvals) | set(refunds) <= {"ok", "IllegalTransition", "Conflict"}
    assert RefundDecision.objects.filter(case=case).count() == 1
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    assert AuditEvent.objects.filter(case=case, type="case_approved").count() == 1
    assert AuditEvent.objects.filter(case=case, type="refund_decided").count() == 1
    assert AuditEvent.objects.filter(case=case, type="refund_executed").count() == 1
    item = OrderItem.objects.get(order=order)
    assert item.refunded_amount_fen == item.paid_amount_fen == 17600
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (CaseStatus.COMPLETED, RefundStatus.REFUNDED)
    assert verify_chain(shop_a.pk) is None


def test_two_cases_refunding_one_item_at_once_never_refund_more_than_paid_r3_2(shop_a, alice):
    by = testing.actor(alice)
    order = testing.make_order(
        shop_a, status=OrderStatus.UNSHIPPED, lines=[testing.Line(quantity=3, paid_amount_fen=9999)]
    )
    cases = [testing.make_case(order, type=CaseType.REFUND_UNSHIPPED) for _ in range(2)]
    for case in cases:
        services.approve_case(case=case, by=by)

    results, errors = run_together(
        lambda n: attempt(services.refund_case, case=cases[n % 2], by=by)
    )

    assert errors == []
    assert results.count("ok") == 1  # the first takes it all; the second finds nothing left
    item = OrderItem.objects.get(order=order)
    assert item.refunded_amount_fen <= item.paid_amount_fen
    assert item.refunded_amount_fen == 9999
    lines = RefundLine.objects.filter(order_item=item).values_list("amount_fen", flat=True)
    assert sum(lines) == item.refunded_amount_fen
    assert RefundDecision.objects.filter(order=order).count() == 1
    assert verify_chain(shop_a.pk) is None


def test_sixteen_workers_executing_one_refund_call_the_gateway_once_r3_4(
    shop_a, alice, settings, monkeypatch
):
    settings.AFTERSALES_REFUND_GATEWAY = f"{__name__}.LockedCountingGateway"
    LockedCountingGateway.calls = []
    by = testing.actor(alice)
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = testing.make_case(order, type=CaseType.REFUND_UNSHIPPED)
    services.approve_case(case=case, by=by)
    # The decision commits; the worker has not picked it up yet.
    monkeypatch.setattr(services, "enqueue_refund_execution", lambda execution_id: None)
    execution = services.refund_case(case=case, by=by).execution
    assert LockedCountingGateway.calls == []

    worker = Actor.system("refund-worker")
    results, errors = run_together(
        lambda n: (
            services.execute_refund(
                execution=RefundExecution.objects.get(pk=execution.pk), by=worker
            ).status
        )
    )

    assert errors == []
    assert LockedCountingGateway.calls == [execution.idempotency_key]
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == (ExecutionStatus.SUCCEEDED, 1)
    # Callers that lost the claim saw it executing or done, never a second payment.
    assert set(results) <= {ExecutionStatus.SUCCEEDED, ExecutionStatus.EXECUTING}
    assert AuditEvent.objects.filter(case=case, type="refund_executed").count() == 1
    case.refresh_from_db()
    assert case.refund_status == RefundStatus.REFUNDED
    assert verify_chain(shop_a.pk) is None


def _wait_until_a_session_waits_on_a_lock(deadline_s: float = 10.0) -> bool:
    """Poll PostgreSQL until another session of this database waits on a row lock."""
    import time

    with connection.cursor() as cursor:
        for _ in range(int(deadline_s / 0.02)):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_r2_8_a_vip_level_set_while_a_case_opens_reaches_that_case(shop_a):
    """The buyer becomes VIP while one of their cases is being opened from an order read
    before: the case must not keep the old flag (the queue's VIP filter) nor the old
    priority. The level's change holds the buyer's row; the opening waits for it."""
    from django.db import transaction

    from aftersales.cases.choices import Priority
    from aftersales.cases.models import Case

    order = testing.make_order(shop_a)  # its buyer object says level 0, and stays so
    level_set, commit_level = threading.Event(), threading.Event()
    opened: dict[str, object] = {}

    def set_level() -> None:
        try:
            with transaction.atomic():
                services.set_buyer_vip_level(order.buyer_id, 3)
                level_set.set()
                commit_level.wait(timeout=30)
        finally:
            connection.close()

    def open_it() -> None:
        try:
            opened["case"] = testing.make_case(order)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            opened["error"] = exc
        finally:
            connection.close()

    setter = threading.Thread(target=set_level)
    setter.start()
    assert level_set.wait(timeout=30)
    opener = threading.Thread(target=open_it)
    opener.start()
    waited = _wait_until_a_session_waits_on_a_lock()
    commit_level.set()
    setter.join()
    opener.join()
    assert "error" not in opened, opened.get("error")
    case = Case.objects.get(pk=opened["case"].pk)
    assert waited, "the opening did not wait for the buyer's row"
    assert case.buyer_vip is True
    assert case.priority == Priority.HIGH
