"""R3.2, R3.3, R3.4: refunds are what was actually paid, never more, and happen exactly once.

R3.2 the refund is the paid amount (after discounts, never the list price) for the case's
quantities, never more than paid minus what was already refunded, partial refunds carry a
reason; R3.3 shipping is refunded at most once per order and never above what was paid;
R3.4 the decision is recorded apart from its execution, which happens exactly once however
often it is triggered, and a failed execution is retried under the same idempotency key.
The database's own constraints hold the money rules even when the services are bypassed.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import money, services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.choices import ExecutionStatus, RefundStatus
from aftersales.cases.models import RefundDecision, RefundExecution, RefundLine
from aftersales.cases.ports import RefundGatewayError, RefundReceipt
from aftersales.cases.tasks import execute_refund_task
from aftersales.core.actors import Actor
from aftersales.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    RefundCapExceeded,
)
from aftersales.core.money import fen_to_yuan, share_of, yuan_to_fen
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import Order, OrderItem

from . import steps

WORKER = Actor.system("refund-worker")


class CountingGateway:
    """Records every refund it is asked to make; fails while `failures` is above zero."""

    lock = threading.Lock()
    calls: list[str] = []
    failures = 0

    @classmethod
    def reset(cls, failures: int = 0) -> None:
        with cls.lock:
            cls.calls = []
            cls.failures = failures

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        with CountingGateway.lock:
            CountingGateway.calls.append(execution.idempotency_key)
            if CountingGateway.failures > 0:
                CountingGateway.failures -= 1
                raise RefundGatewayError("银行通道维护中")
        return RefundReceipt(reference=f"gw-{len(CountingGateway.calls)}")


@pytest.fixture
def gateway(settings):
    settings.AFTERSALES_REFUND_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.reset()
    yield CountingGateway
    CountingGateway.reset()


@pytest.fixture
def by(alice):
    return testing.actor(alice)


def refund_case_on(order, *, case_type=T.RETURN_REFUND, quantities=None, by=testing.SYSTEM):
    """A case on `order` approved all the way to awaiting its refund."""
    case = testing.make_case(order, type=case_type, quantities=quantities)
    for step in steps.path_to(case_type, S.AWAITING_REFUND):
        step(case, by)
    return case


def item_of(order) -> OrderItem:
    return OrderItem.objects.get(order=order)


# --- R3.2: the amount is what was paid -------------------------------------------------------


def test_the_refund_is_the_amount_actually_paid_not_the_list_price_r3_2(shop_a, by):
    order = testing.make_order(
        shop_a, lines=[testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=15000)]
    )
    case = refund_case_on(order)
    decision = services.refund_case(case=case, by=by)
    assert decision.goods_amount_fen == 15000  # not 2 × 100.00 list price
    assert decision.shipping_amount_fen == 0
    assert decision.is_partial is False
    assert item_of(order).refunded_amount_fen == 15000
    assert list(decision.lines.values_list("amount_fen", flat=True)) == [15000]
    assert decision.execution.amount_fen == 15000


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, 3333), (2, 6666), (3, 10000)],
    ids=["one-of-three", "two-of-three", "all-three"],
)
def test_a_partial_quantity_refunds_its_share_rounded_down_r3_2(shop_a, by, quantity, expected):
    order = testing.make_order(
        shop_a, lines=[testing.Line(quantity=3, list_price_fen=5000, paid_amount_fen=10000)]
    )
    case = refund_case_on(order, quantities={item_of(order).pk: quantity})
    decision = services.refund_case(case=case, by=by)
    assert decision.goods_amount_fen == expected
    assert decision.is_partial is False  # the share for the quantity is the full refund
    assert item_of(order).refunded_amount_fen == expected


def test_a_multi_item_refund_splits_by_item_and_leaves_other_items_alone_r3_2(shop_a, by):
    order = testing.make_order(
        shop_a,
        lines=[
            testing.Line(quantity=2, paid_amount_fen=3001),
            testing.Line(quantity=1, paid_amount_fen=999),
            testing.Line(quantity=1, paid_amount_fen=5000),
        ],
    )
    first, second, third = order.items.order_by("pk")
    case = refund_case_on(order, quantities={first.pk: 1, second.pk: 1})
    decision = services.refund_case(case=case, by=by)
    assert decision.goods_amount_fen == 1500 + 999
    lines = dict(decision.lines.values_list("order_item_id", "amount_fen"))
    assert lines == {first.pk: 1500, second.pk: 999}
    third.refresh_from_db()
    assert third.refunded_amount_fen == 0


def test_two_cases_on_one_item_never_refund_more_than_paid_in_total_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=3, paid_amount_fen=10000)])
    item = item_of(order)
    two = refund_case_on(order, quantities={item.pk: 2})
    everything = refund_case_on(order, quantities={item.pk: 3})
    late = refund_case_on(order, quantities={item.pk: 1})

    assert services.refund_case(case=two, by=by).goods_amount_fen == 6666
    # The second case asked for all three, but only what is left can be refunded.
    assert services.refund_case(case=everything, by=by).goods_amount_fen == 3334
    item.refresh_from_db()
    assert item.refunded_amount_fen == 10000

    with pytest.raises(InvalidInput, match="zero"):
        services.refund_case(case=late, by=by)
    with pytest.raises(RefundCapExceeded):
        services.refund_case(case=late, by=by, goods_amount_fen=1, reason="补差")
    item.refresh_from_db()
    assert item.refunded_amount_fen == 10000
    assert not RefundDecision.objects.filter(case=late).exists()
    late.refresh_from_db()
    assert late.refund_status == RefundStatus.NONE


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(paid_amount_fen=8800)])
    case = refund_case_on(order)
    events = AuditEvent.objects.count()
    with pytest.raises(RefundCapExceeded) as exceeded:
        services.refund_case(case=case, by=by, goods_amount_fen=8801, reason="多退")
    assert exceeded.value.status == 409
    assert "88.00" in str(exceeded.value)
    with pytest.raises(InvalidInput):
        services.refund_case(case=case, by=by, goods_amount_fen=-1, reason="负数")
    assert item_of(order).refunded_amount_fen == 0
    assert not RefundDecision.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_partial_refund_needs_a_reason_and_records_it_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(paid_amount_fen=8800)])
    case = refund_case_on(order)
    with pytest.raises(InvalidInput, match="reason"):
        services.refund_case(case=case, by=by, goods_amount_fen=5000, reason="  ")
    assert not RefundDecision.objects.exists()

    decision = services.refund_case(case=case, by=by, goods_amount_fen=5000, reason="协商部分退款")
    assert (decision.goods_amount_fen, decision.is_partial, decision.reason) == (
        5000,
        True,
        "协商部分退款",
    )
    assert item_of(order).refunded_amount_fen == 5000
    event = AuditEvent.objects.get(case=case, type="refund_decided")
    assert (event.payload["is_partial"], event.payload["reason"]) == (True, "协商部分退款")


def test_the_database_refuses_refunding_more_than_paid_even_bypassing_services_r3_2(shop_a):
    order = testing.make_order(shop_a, lines=[testing.Line(paid_amount_fen=8800)])
    item = item_of(order)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.filter(pk=item.pk).update(refunded_amount_fen=8801)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(shipping_refunded_fen=1001)
    item.refresh_from_db()
    order.refresh_from_db()
    assert (item.refunded_amount_fen, order.shipping_refunded_fen) == (0, 0)
    # At the limit is allowed: the constraint is "not above paid", not "never".
    OrderItem.objects.filter(pk=item.pk).update(refunded_amount_fen=8800)


def test_the_database_refuses_a_partial_decision_without_reason_r3_2(shop_a):
    order = testing.make_order(shop_a)
    case = refund_case_on(order)
    with pytest.raises(IntegrityError), transaction.atomic():
        RefundDecision.objects.create(
            shop=shop_a,
            case=case,
            order=order,
            goods_amount_fen=1,
            is_partial=True,
            reason="",
            decided_by="x",
            decided_at=timezone.now(),
        )


# --- R3.3: shipping --------------------------------------------------------------------------


def test_shipping_is_refunded_once_per_order_a_second_case_gets_conflict_r3_3(shop_a, by):
    order = testing.make_order(
        shop_a,
        lines=[testing.Line(paid_amount_fen=5000), testing.Line(paid_amount_fen=3000)],
        shipping_fee_fen=1000,
    )
    first_item, second_item = order.items.order_by("pk")
    first = refund_case_on(order, quantities={first_item.pk: 1})
    second = refund_case_on(order, quantities={second_item.pk: 1})

    decision = services.refund_case(case=first, by=by, shipping_amount_fen=1000)
    assert (decision.goods_amount_fen, decision.shipping_amount_fen, decision.total_fen) == (
        5000,
        1000,
        6000,
    )
    assert decision.execution.amount_fen == 6000
    order.refresh_from_db()
    assert order.shipping_refunded_fen == 1000

    with pytest.raises(Conflict, match="already been refunded"):
        services.refund_case(case=second, by=by, shipping_amount_fen=1000)
    # Nothing of the second refund happened, not even its goods part.
    assert not RefundDecision.objects.filter(case=second).exists()
    second_item.refresh_from_db()
    assert second_item.refunded_amount_fen == 0
    order.refresh_from_db()
    assert order.shipping_refunded_fen == 1000
    # Without shipping, the second case refunds its goods.
    assert services.refund_case(case=second, by=by).total_fen == 3000


def test_shipping_is_never_refunded_above_what_was_paid_r3_3(shop_a, by):
    order = testing.make_order(shop_a, shipping_fee_fen=600)
    case = refund_case_on(order)
    with pytest.raises(InvalidInput, match="6.00"):
        services.refund_case(case=case, by=by, shipping_amount_fen=601)
    with pytest.raises(InvalidInput):
        services.refund_case(case=case, by=by, shipping_amount_fen=-600)
    order.refresh_from_db()
    assert order.shipping_refunded_fen == 0
    assert not RefundDecision.objects.exists()


def test_an_order_without_shipping_paid_refunds_no_shipping_r3_3(shop_a, by):
    order = testing.make_order(shop_a, shipping_fee_fen=0)
    case = refund_case_on(order)
    with pytest.raises(DomainError):
        services.refund_case(case=case, by=by, shipping_amount_fen=1)
    assert not RefundDecision.objects.exists()


def test_the_database_refuses_a_second_shipping_decision_per_order_r3_3(shop_a, by):
    order = testing.make_order(
        shop_a, lines=[testing.Line(), testing.Line()], shipping_fee_fen=1000
    )
    first_item, second_item = order.items.order_by("pk")
    first = refund_case_on(order, quantities={first_item.pk: 1})
    second = refund_case_on(order, quantities={second_item.pk: 1})
    services.refund_case(case=first, by=by, shipping_amount_fen=400, reason="部分运费")
    with pytest.raises(IntegrityError), transaction.atomic():
        RefundDecision.objects.create(
            shop=shop_a,
            case=second,
            order=order,
            goods_amount_fen=0,
            shipping_amount_fen=1,
            decided_by="bypass",
            decided_at=timezone.now(),
        )


# --- R3.4: execution exactly once ------------------------------------------------------------


def test_the_decision_is_recorded_apart_from_its_execution_r3_4(shop_a, by, gateway):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = refund_case_on(order, case_type=T.REFUND_UNSHIPPED)
    decision = services.refund_case(case=case, by=by)  # the test transaction never commits
    assert gateway.calls == []  # deciding pays nothing: execution waits for the commit
    execution = RefundExecution.objects.get(decision=decision)
    assert (execution.status, execution.attempts, execution.idempotency_key) == (
        ExecutionStatus.PENDING,
        0,
        f"refund-case-{case.pk}",
    )


def test_executing_twice_calls_the_gateway_once_r3_4(shop_a, by, gateway):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = refund_case_on(order, case_type=T.REFUND_UNSHIPPED)
    execution = services.refund_case(case=case, by=by).execution

    first = services.execute_refund(execution=execution, by=WORKER)
    second = services.execute_refund(execution=execution, by=WORKER)
    execute_refund_task.enqueue(execution.pk)  # a redelivered message

    assert gateway.calls == [execution.idempotency_key]
    assert first.status == second.status == ExecutionStatus.SUCCEEDED
    execution.refresh_from_db()
    assert (execution.attempts, execution.external_reference) == (1, "gw-1")
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (S.COMPLETED, RefundStatus.REFUNDED)
    assert AuditEvent.objects.filter(case=case, type="refund_executed").count() == 1
    assert RefundExecution.objects.filter(decision__case=case).count() == 1


def test_a_refund_decided_twice_is_refused_and_executes_once_r3_4(
    shop_a, by, gateway, django_capture_on_commit_callbacks
):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = refund_case_on(order, case_type=T.REFUND_UNSHIPPED)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_case(case=case, by=by)
    with pytest.raises(DomainError):
        services.refund_case(case=case, by=by)
    assert len(gateway.calls) == 1
    assert RefundDecision.objects.filter(case=case).count() == 1
    assert item_of(order).refunded_amount_fen == 8800


def test_a_failed_execution_is_recorded_and_retried_with_the_same_key_r3_4(
    shop_a, by, gateway, django_capture_on_commit_callbacks
):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = refund_case_on(order, case_type=T.REFUND_UNSHIPPED)
    gateway.reset(failures=1)
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.refund_case(case=case, by=by)

    execution = RefundExecution.objects.get(decision=decision)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.attempts == 1
    assert "银行通道维护中" in execution.last_error
    assert execution.executed_at is None
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (S.AWAITING_REFUND, RefundStatus.FAILED)
    failed = AuditEvent.objects.get(case=case, type="refund_failed")
    assert failed.after == {"refund_status": RefundStatus.FAILED}
    assert "银行通道维护中" in failed.payload["error"]

    with django_capture_on_commit_callbacks(execute=True):
        retried = services.retry_refund(case=case, by=by)

    assert retried.pk == execution.pk
    execution.refresh_from_db()
    assert (execution.status, execution.attempts, execution.last_error) == (
        ExecutionStatus.SUCCEEDED,
        2,
        "",
    )
    assert gateway.calls == [f"refund-case-{case.pk}"] * 2  # the same idempotency key
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (S.COMPLETED, RefundStatus.REFUNDED)
    # The money moved once: the decision's lines were counted once, not per attempt.
    assert item_of(order).refunded_amount_fen == 8800
    assert [e.type for e in steps.events_of(case)][-4:] == [
        "refund_decided",
        "refund_failed",
        "refund_retried",
        "refund_executed",
    ]


def test_only_a_failed_refund_can_be_retried_r3_4(shop_a, by, gateway):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)
    case = refund_case_on(order, case_type=T.REFUND_UNSHIPPED)
    with pytest.raises(Conflict):
        services.retry_refund(case=case, by=by)  # nothing decided yet
    execution = services.refund_case(case=case, by=by).execution
    with pytest.raises(Conflict):
        services.retry_refund(case=case, by=by)  # pending, not failed
    services.execute_refund(execution=execution, by=WORKER)
    with pytest.raises(Conflict):
        services.retry_refund(case=case, by=by)  # succeeded
    assert len(gateway.calls) == 1
    assert not AuditEvent.objects.filter(case=case, type="refund_retried").exists()


# --- aftersales.core.money -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [("12.30", 1230), ("0.01", 1), ("88", 8800), (5, 500), (Decimal("19.9"), 1990), ("0", 0)],
)
def test_yuan_to_fen_parses_exact_amounts_r3_2(yuan, fen):
    assert yuan_to_fen(yuan) == fen


def test_yuan_to_fen_refuses_floats_r3_2():
    with pytest.raises(TypeError):
        yuan_to_fen(0.1)


@pytest.mark.parametrize("yuan", ["12.345", "0.001", "abc", ""])
def test_yuan_to_fen_refuses_more_than_two_decimals_and_non_numbers_r3_2(yuan):
    with pytest.raises(ValueError):
        yuan_to_fen(yuan)


@pytest.mark.parametrize(
    ("fen", "yuan"), [(1234, "12.34"), (5, "0.05"), (0, "0.00"), (100, "1.00")]
)
def test_fen_to_yuan_shows_two_decimals_r3_2(fen, yuan):
    assert fen_to_yuan(fen) == yuan


@given(st.integers(min_value=0, max_value=10**12))
def test_yuan_and_fen_round_trip_exactly_r3_2(fen):
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.integers(0, 10**9), st.integers(1, 1000), st.data())
def test_share_of_rounds_down_and_the_whole_gets_everything_r3_2(total, whole, data):
    part = data.draw(st.integers(0, whole))
    share = share_of(total, part, whole)
    assert share <= total * part / whole
    assert share_of(total, whole, whole) == total
    # The shares of a split never add up to more than the total.
    assert share + share_of(total, whole - part, whole) <= total


def test_share_of_refuses_a_part_outside_the_whole_r3_2():
    for part, whole in [(-1, 3), (4, 3), (1, 0)]:
        with pytest.raises(ValueError):
            share_of(100, part, whole)


# --- aftersales.cases.money.allocate ---------------------------------------------------------


def caps_of(values):
    return [
        money.ItemCap(order_item=f"item-{i}", quantity=1, cap_fen=v) for i, v in enumerate(values)
    ]


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=6), st.data())
def test_allocate_sums_exactly_and_never_exceeds_a_cap_r3_2(values, data):
    amount = data.draw(st.integers(0, sum(values)))
    lines = money.allocate(amount, caps_of(values))
    assert sum(line for _, line in lines) == amount
    assert [item for item, _ in lines] == [f"item-{i}" for i in range(len(values))]
    for (_, line), cap in zip(lines, values, strict=True):
        assert 0 <= line <= cap


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=6), st.integers(1, 10**6))
def test_allocate_refuses_more_than_the_caps_together_r3_2(values, excess):
    with pytest.raises(RefundCapExceeded):
        money.allocate(sum(values) + excess, caps_of(values))


def test_allocate_refuses_a_negative_amount_and_splits_by_cap_r3_2():
    with pytest.raises(ValueError):
        money.allocate(-1, caps_of([10]))
    assert [line for _, line in money.allocate(100, caps_of([300, 100]))] == [75, 25]
    assert [line for _, line in money.allocate(0, caps_of([0, 0]))] == [0, 0]


def test_item_cap_never_exceeds_what_is_left_unrefunded_r3_2(shop_a):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=4, paid_amount_fen=1000)])
    item = item_of(order)
    assert money.item_cap(item, 4).cap_fen == 1000
    assert money.item_cap(item, 3).cap_fen == 750
    item.refunded_amount_fen = 900
    assert money.item_cap(item, 3).cap_fen == 100
    assert money.item_cap(item, 1).cap_fen == 100


def test_refund_lines_add_up_to_the_item_totals_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=5, paid_amount_fen=9999)])
    item = item_of(order)
    for quantity in (2, 2, 1):
        services.refund_case(case=refund_case_on(order, quantities={item.pk: quantity}), by=by)
    item.refresh_from_db()
    lines = list(RefundLine.objects.filter(order_item=item).values_list("amount_fen", flat=True))
    assert lines == [3999, 4000, 2000]
    assert item.refunded_amount_fen == sum(lines) == 9999


def test_returning_every_unit_in_separate_cases_refunds_exactly_what_was_paid_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=3, paid_amount_fen=10000)])
    item = item_of(order)
    amounts = [
        services.refund_case(
            case=refund_case_on(order, quantities={item.pk: 1}), by=by
        ).goods_amount_fen
        for _ in range(3)
    ]
    # Each unit is rounded down on its own; the last one gets the fen the floors left.
    assert amounts == [3333, 3333, 3334]
    item.refresh_from_db()
    assert item.refunded_amount_fen == 10000


def test_a_partial_refund_on_one_unit_does_not_raise_another_units_share_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=3, paid_amount_fen=30000)])
    item = item_of(order)
    compensation = refund_case_on(order, quantities={item.pk: 1})
    services.refund_case(case=compensation, by=by, goods_amount_fen=1000, reason="轻微瑕疵补偿")
    returned = refund_case_on(order, quantities={item.pk: 2})
    # Two units are worth 200.00 of what was paid, not the 290.00 still unrefunded.
    assert services.refund_case(case=returned, by=by).goods_amount_fen == 20000
    # The compensated unit itself can still come back for the rest of its price.
    again = refund_case_on(order, quantities={item.pk: 1})
    assert services.refund_case(case=again, by=by).goods_amount_fen == 9000
    item.refresh_from_db()
    assert item.refunded_amount_fen == 30000


def test_the_requested_amount_counts_units_other_cases_refunded_r3_2(shop_a, by):
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=3, paid_amount_fen=10000)])
    item = item_of(order)
    for _ in range(2):
        services.refund_case(case=refund_case_on(order, quantities={item.pk: 1}), by=by)
    last = testing.make_case(order, quantities={item.pk: 1})
    assert last.requested_amount_fen == 3334
