"""R1.2, R3.2, R3.3, R3.4, R6.2 under random use: a Hypothesis state machine.

One shop, a few orders and items; cases are opened and every service is applied in random
order with random valid and invalid amounts and quantities. Refused requests raise a
DomainError and change nothing. After every step the invariants hold:

- R3.2 every order item's refunded amount equals the sum of its refund lines and never
  exceeds what was paid;
- R3.3 an order's shipping refund never exceeds the shipping paid, and at most one decision
  per order refunds shipping;
- R3.4 every case has at most one refund execution, and a succeeded execution is a
  completed, refunded case;
- R1.2 every status change the audit trail records is an edge of ALLOWED_TRANSITIONS, and
  replaying a case's events gives its current state (no change went unrecorded);
- R6.2 the shop's audit chain verifies.
"""

from __future__ import annotations

import pytest
from django.db.models import Count, Sum
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType, ExecutionStatus, RefundStatus
from aftersales.cases.models import Case, RefundDecision, RefundExecution, RefundLine
from aftersales.cases.ports import RefundGatewayError, RefundReceipt
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.cases.transitions import ALLOWED_TRANSITIONS
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.orders.choices import OrderStatus
from aftersales.orders.models import Order, OrderItem
from aftersales.shops.choices import Role

from . import steps


class FlakyGateway:
    """Fails when told to; counts calls per idempotency key."""

    fail = False
    calls: dict[str, int] = {}

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        FlakyGateway.calls[execution.idempotency_key] = (
            FlakyGateway.calls.get(execution.idempotency_key, 0) + 1
        )
        if FlakyGateway.fail:
            raise RefundGatewayError("通道超时")
        return RefundReceipt(reference=f"ok-{execution.pk}")


ORDER_STATES = [
    OrderStatus.UNSHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
]
WORKER = Actor.system("refund-worker")

pick = st.integers(min_value=0, max_value=1000)
amount = st.one_of(st.none(), st.integers(min_value=-100, max_value=40000))
note = st.sampled_from(["", "  ", "说明"])
ACTIONS = [
    "approve",
    "reject",
    "request_evidence",
    "buyer_evidence",
    "return_shipment",
    "receive",
    "inspect",
    "approve_final",
    "refund",
    "retry",
    "quality_check",
    "ship_replacement",
    "resend",
    "return_repaired",
    "confirm",
    "convert",
    "withdraw",
    "close",
    "reopen",
    "add_cost",
    "assign",
]


class CaseMachine(RuleBasedStateMachine):
    @initialize(
        lines=st.lists(
            st.lists(st.tuples(st.integers(1, 4), st.integers(0, 20000)), min_size=1, max_size=3),
            min_size=1,
            max_size=3,
        ),
        states=st.lists(st.sampled_from(ORDER_STATES), min_size=3, max_size=3),
        shipping=st.lists(st.sampled_from([0, 600, 1000]), min_size=3, max_size=3),
        data=st.data(),
    )
    def build_shop(self, lines, states, shipping, data):
        # A fresh shop per example: the invariants look at this shop only.
        self.shop = testing.make_shop("随机店")
        user = testing.make_user(testing.next_id("agent"), self.shop, Role.AGENT)
        self.by = testing.actor(user)
        self.other_user = testing.make_user(testing.next_id("other"))
        self.orders = [
            testing.make_order(
                self.shop,
                status=states[i],
                shipping_fee_fen=shipping[i],
                lines=[testing.Line(quantity=q, paid_amount_fen=p) for q, p in order_lines],
            )
            for i, order_lines in enumerate(lines)
        ]
        self.cases: list[Case] = []
        FlakyGateway.fail = False
        FlakyGateway.calls = {}
        for _ in range(data.draw(st.integers(1, 4), label="cases at start")):
            self.open_case(data.draw(pick), data)

    # --- helpers --------------------------------------------------------------------------

    def case(self, index: int) -> Case | None:
        if not self.cases:
            return None
        return self.cases[index % len(self.cases)]

    def attempt(self, action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except DomainError:
            return None

    # --- rules ----------------------------------------------------------------------------

    @rule(order_index=pick, data=st.data())
    def open_case(self, order_index, data):
        order = self.orders[order_index % len(self.orders)]
        items = list(order.items.order_by("pk"))
        if data.draw(st.integers(0, 3), label="sane"):
            # Mostly a request that can be accepted: a type the order's state allows,
            # quantities within what was ordered, the default amount.
            types = [
                t for t, states in services.TYPE_ORDER_STATES.items() if order.status in states
            ]
            type = data.draw(st.sampled_from(types), label="type")
            chosen = data.draw(
                st.lists(st.sampled_from(items), min_size=1, unique=True), label="items"
            )
            requested_items = [
                services.RequestedItem(item, data.draw(st.integers(1, item.quantity)))
                for item in chosen
            ]
            requested = None
        else:
            type = data.draw(st.sampled_from(CaseType.values), label="type")
            quantities = data.draw(st.lists(st.integers(-1, 5), min_size=1, max_size=3))
            requested_items = [
                services.RequestedItem(item, quantity)
                for item, quantity in zip(items, quantities, strict=False)
                if quantity != 0
            ]
            requested = data.draw(amount, label="requested")
        case = self.attempt(
            services.open_case,
            order=order,
            type=type,
            reason=data.draw(st.sampled_from(sorted(REASONS)), label="reason"),
            items=requested_items,
            by=self.by,
            requested_amount_fen=requested,
        )
        if case is not None:
            self.cases.append(case)

    @rule(i=pick, fail=st.booleans(), times=st.integers(1, 8))
    def advance(self, i, fail, times):
        """The natural next steps of a case, so random runs reach the later stages."""
        for _ in range(times):
            self.next_step(i, fail)

    def next_step(self, i, fail):
        if (case := self.case(i)) is None:
            return
        case.refresh_from_db()
        status = case.status
        if status == S.PENDING_REVIEW:
            self.attempt(steps.approve, case, self.by)
        elif status == S.AWAITING_EVIDENCE:
            self.do_buyer_evidence(case, None)
        elif status == S.AWAITING_RETURN and case.return_status == "awaiting_shipment":
            self.attempt(steps.ship_return, case, self.by)
        elif status == S.AWAITING_RETURN:
            self.attempt(steps.receive, case, self.by)
        elif status == S.AWAITING_INSPECTION:
            self.attempt(steps.inspect_pass, case, self.by)
        elif status == S.PENDING_FINAL_REVIEW:
            self.attempt(steps.approve_final, case, self.by)
        elif status == S.AWAITING_REFUND and case.refund_status == RefundStatus.NONE:
            # With `fail`, ask for the order's shipping too: only one case per order gets it.
            shipping = case.order.shipping_fee_paid_fen if fail else 0
            self.attempt(services.refund_case, case=case, by=self.by, shipping_amount_fen=shipping)
        elif status == S.AWAITING_REFUND:
            self.execute(i, fail)
        elif status == S.AWAITING_SHIPMENT:
            self.attempt(steps.ship_to_buyer, case, self.by)
        elif status == S.AWAITING_BUYER_RECEIPT:
            self.attempt(steps.confirm, case, self.by)
        elif status == S.REJECTED:
            self.attempt(services.reopen_case, case=case, by=self.by)

    @rule(i=pick, name=st.sampled_from(ACTIONS), data=st.data())
    def act(self, i, name, data):
        """Any service on any case, with random and often invalid arguments."""
        if (case := self.case(i)) is not None:
            getattr(self, f"do_{name}")(case, data)

    @rule(i=pick, fail=st.booleans())
    def execute(self, i, fail):
        """The worker runs a case's refund execution (again), the gateway up or down."""
        if (case := self.case(i)) is None:
            return
        execution = RefundExecution.objects.filter(decision__case=case).first()
        if execution is not None:
            FlakyGateway.fail = fail
            services.execute_refund(execution=execution, by=WORKER)

    # --- the actions ----------------------------------------------------------------------

    def do_approve(self, case, data):
        self.attempt(services.approve_case, case=case, by=self.by)

    def do_reject(self, case, data):
        evidence = []
        if data.draw(st.booleans(), label="with evidence"):
            evidence = [steps.attach_photo(case, by=self.by).pk]
        self.attempt(
            services.reject_case,
            case=case,
            reason_code=data.draw(st.sampled_from(sorted(REJECT_REASONS)), label="code"),
            note=data.draw(note, label="note"),
            by=self.by,
            evidence_ids=evidence,
        )

    def do_request_evidence(self, case, data):
        self.attempt(services.request_evidence, case=case, note=data.draw(note), by=self.by)

    def do_buyer_evidence(self, case, data):
        self.attempt(
            services.record_buyer_evidence,
            case=case,
            uploads=[steps.png_upload()],
            by=Actor.buyer("buyer"),
        )

    def do_return_shipment(self, case, data):
        self.attempt(
            services.record_return_shipment,
            case=case,
            carrier="SF",
            tracking_number=data.draw(st.sampled_from(["", "SF1"]), label="tracking"),
            by=self.by,
        )

    def do_receive(self, case, data):
        self.attempt(services.receive_return, case=case, by=self.by)

    def do_inspect(self, case, data):
        self.attempt(
            services.inspect_return,
            case=case,
            result=data.draw(st.sampled_from(["pass", "fail"]), label="result"),
            condition="good",
            notes=data.draw(note, label="notes"),
            by=self.by,
        )

    def do_approve_final(self, case, data):
        self.attempt(services.approve_after_inspection, case=case, by=self.by)

    def do_refund(self, case, data):
        self.attempt(
            services.refund_case,
            case=case,
            by=self.by,
            goods_amount_fen=data.draw(amount, label="goods"),
            shipping_amount_fen=data.draw(st.sampled_from([0, 300, 600, 1000, 1001])),
            reason=data.draw(note, label="reason"),
        )

    def do_retry(self, case, data):
        self.attempt(services.retry_refund, case=case, by=self.by)

    def do_quality_check(self, case, data):
        self.attempt(
            services.record_quality_check,
            case=case,
            quality_ok=data.draw(st.booleans(), label="quality ok"),
            packaging_intact=data.draw(st.booleans(), label="packaging intact"),
            by=self.by,
        )

    def do_ship_replacement(self, case, data):
        self.attempt(steps.ship_replacement, case, self.by)

    def do_resend(self, case, data):
        self.attempt(steps.resend, case, self.by)

    def do_return_repaired(self, case, data):
        self.attempt(steps.return_repaired, case, self.by)

    def do_confirm(self, case, data):
        self.attempt(services.confirm_buyer_receipt, case=case, by=self.by)

    def do_convert(self, case, data):
        self.attempt(services.convert_to_refund, case=case, note=data.draw(note), by=self.by)

    def do_withdraw(self, case, data):
        self.attempt(services.withdraw_case, case=case, by=Actor.buyer("buyer"))

    def do_close(self, case, data):
        self.attempt(services.close_case, case=case, note=data.draw(note), by=self.by)

    def do_reopen(self, case, data):
        self.attempt(services.reopen_case, case=case, by=self.by)

    def do_add_cost(self, case, data):
        self.attempt(
            services.add_cost,
            case=case,
            kind=data.draw(st.sampled_from(["return_shipping", "compensation", "bogus"])),
            amount_fen=data.draw(st.integers(-10, 3000), label="cost"),
            payer=data.draw(st.sampled_from(["buyer", "merchant", "nobody"])),
            by=self.by,
        )

    def do_assign(self, case, data):
        member = data.draw(st.booleans(), label="member")
        assignee = self.by.user if member else self.other_user
        self.attempt(services.assign_case, case=case, assignee=assignee, by=self.by)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def refunds_match_lines_and_stay_within_paid_r3_2(self):
        lines = dict(
            RefundLine.objects.filter(order_item__shop=self.shop)
            .values("order_item_id")
            .annotate(total=Sum("amount_fen"))
            .values_list("order_item_id", "total")
        )
        for item in OrderItem.objects.filter(shop=self.shop):
            assert item.refunded_amount_fen == lines.get(item.pk, 0)
            assert item.refunded_amount_fen <= item.paid_amount_fen

    @invariant()
    def shipping_is_refunded_once_and_within_paid_r3_3(self):
        for order in Order.objects.filter(shop=self.shop):
            decisions = RefundDecision.objects.filter(order=order, shipping_amount_fen__gt=0)
            assert decisions.count() <= 1
            refunded = decisions.aggregate(total=Sum("shipping_amount_fen"))["total"] or 0
            assert order.shipping_refunded_fen == refunded
            assert order.shipping_refunded_fen <= order.shipping_fee_paid_fen

    @invariant()
    def one_execution_per_case_and_its_outcome_shows_on_the_case_r3_4(self):
        per_case = (
            RefundExecution.objects.filter(shop=self.shop)
            .values("decision__case")
            .annotate(n=Count("pk"))
        )
        assert all(row["n"] == 1 for row in per_case)
        for execution in RefundExecution.objects.filter(shop=self.shop).select_related(
            "decision__case"
        ):
            case = execution.decision.case
            assert execution.amount_fen == execution.decision.total_fen
            assert FlakyGateway.calls.get(execution.idempotency_key, 0) == execution.attempts
            if execution.status == ExecutionStatus.SUCCEEDED:
                assert (case.status, case.refund_status) == (S.COMPLETED, RefundStatus.REFUNDED)
            else:
                assert case.status == S.AWAITING_REFUND
                assert case.refund_status in {RefundStatus.PENDING, RefundStatus.FAILED}
        assert not Case.objects.filter(
            shop=self.shop, refund_decision__isnull=True, refund_status__in=["pending", "failed"]
        ).exists()

    @invariant()
    def audited_status_changes_are_edges_and_replay_to_the_state_r1_2_r6_2(self):
        replayed: dict[int, dict] = {}
        for event in AuditEvent.objects.filter(shop=self.shop, case__isnull=False).order_by("seq"):
            if event.type == "case_opened":
                assert event.after["status"] == S.PENDING_REVIEW
                replayed[event.case_id] = dict(event.after)
                continue
            state = replayed[event.case_id]
            assert {k: state[k] for k in event.before} == event.before
            if "status" in event.before or "status" in event.after:
                edge = (event.before["status"], event.after["status"])
                assert edge[1] in ALLOWED_TRANSITIONS[edge[0]], (event.type, edge)
            state.update(event.after)
        for case in Case.objects.filter(shop=self.shop):
            assert replayed[case.pk] == case.axes()

    @invariant()
    def the_audit_chain_verifies_r6_2(self):
        assert verify_chain(self.shop.pk) is None


@pytest.mark.django_db
def test_random_use_never_breaks_the_money_state_or_audit_invariants_r1_2_r3_r6_2(settings):
    settings.AFTERSALES_REFUND_GATEWAY = f"{__name__}.FlakyGateway"
    run_state_machine_as_test(
        CaseMachine,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
