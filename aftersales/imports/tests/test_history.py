"""The back-office import's history (R13.3): new after-sales already finished on the platform
are written a batch at a time in their final state, equal to what the row-by-row path through
the services ends with, with the audit trail complete and the reports' counts equal to a
recount; open rows, and whatever the bulk path does not take, still go row by row."""

from __future__ import annotations

from collections import Counter
from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from aftersales import testing
from aftersales.analytics.facts import (
    recount_daily_facts,
    recount_refund_facts,
    recount_time_histogram,
    stored_daily_facts,
    stored_refund_facts,
    stored_time_histogram,
)
from aftersales.analytics.models import CaseFact, CaseProductFact
from aftersales.analytics.overview import overview
from aftersales.analytics.periods import Period
from aftersales.analytics.scope import Cuts, scope_for
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus, CaseType, RefundStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, Inspection, QualityCheck, RefundDecision, RefundExecution
from aftersales.imports import columns as C
from aftersales.imports.fixtures import finished_rows
from aftersales.imports.models import ImportedAftersale
from aftersales.orders.models import Order
from aftersales.orders.totals import recount_order_totals, stored_order_totals
from aftersales.policy.models import PolicyDecision
from aftersales.shops.choices import Role
from aftersales.sla.models import SlaClock

from .test_import import NOW, row, run

NOW_DAY = date(2026, 11, 25)
RETURNED = {"return_tracking": "7531000000000001", "return_carrier": "中通快递"}
NO_REFUND = {"refund_goods": "-", "refund_method": "无需退款"}


def history_rows():
    """Every type's finished ends, as the export writes them, and a realistic shop's."""
    rows = [
        row(1, status="同意退款，退款成功", **RETURNED),
        row(2, status="同意退款，退款成功", refund_goods="44.50", **RETURNED),  # partial
        row(3, status="同意退款，退款成功"),  # returned without a tracking number
        row(4, status="售后关闭", **RETURNED),
        row(5, type="仅退款", ship_status="未发货", status="同意退款，退款成功"),
        row(6, type="仅退款", status="同意退款，退款成功", refund_goods="12.34"),
        row(7, type="仅退款", status="售后关闭"),
        row(8, type="换货", status="换货成功", exchange_tracking="SF8", **NO_REFUND, **RETURNED),
        row(9, type="换货", status="售后关闭", **NO_REFUND),
        row(10, type="补寄", status="补寄成功", exchange_tracking="YT10", refund_goods="-"),
        row(13, type="补寄", status="售后关闭", refund_goods="-"),
        row(11, type="维修", status="维修成功", exchange_tracking="SF11", refund_goods="-"),
        row(12, type="维修", status="售后关闭", refund_goods="-"),
    ]
    return rows + list(finished_rows(40, seed=7, start=500))


def outcome(shop) -> dict[str, tuple]:
    """Each case of the shop as the users see it once it is over, by its after-sale id."""
    result = {}
    for case in Case.objects.filter(shop=shop).select_related("order"):
        decision = RefundDecision.objects.filter(case=case).first()
        execution = RefundExecution.objects.filter(decision=decision).first()
        fact = CaseFact.objects.get(case=case)
        item = case.items.get().order_item
        result[case.platform_case_id] = (
            case.type,
            case.status,
            case.refund_status,
            case.return_status,
            case.approved_at is not None,
            case.final_approved_at is not None,
            case.resolved_at is not None,
            case.requested_amount_fen,
            case.assignee_id,
            None
            if decision is None
            else (decision.goods_amount_fen, decision.shipping_amount_fen, decision.is_partial),
            None if execution is None else (execution.status, execution.amount_fen),
            item.paid_amount_fen,
            item.refunded_amount_fen,
            (case.order.status, case.order.shipping_fee_paid_fen, case.order.shipping_refunded_fen),
            sorted(case.shipments.values_list("kind", "carrier", "tracking_number", "status")),
            list(Inspection.objects.filter(case=case).values_list("result", "condition")),
            QualityCheck.objects.filter(case=case, quality_ok=True).count(),
            # The reports' facts (the response and decision times aside: the export does
            # not say when the merchant answered, the bulk path leaves them unknown).
            (fact.reason, fact.type, fact.applied_day, fact.refunded_fen),
            (fact.refund_executed_at, fact.refund_bucket),
            CaseProductFact.objects.filter(case=case).count(),
        )
    return result


def counts_equal_a_recount(shops) -> None:
    assert stored_daily_facts(shops) == recount_daily_facts(shops)
    assert stored_refund_facts(shops) == recount_refund_facts(shops)
    assert stored_time_histogram(shops) == recount_time_histogram(shops)
    assert stored_order_totals(shops) == recount_order_totals(shops)


def without_shop(counter: Counter) -> Counter:
    return Counter({key[1:]: n for key, n in counter.items()})


@pytest.fixture
def one_by_one(monkeypatch):
    """The row-by-row path for every row (the bulk path off)."""
    from aftersales.imports import services

    def off():
        monkeypatch.setattr(services, "FINISHED_STAGES", frozenset())

    return off


@time_machine.travel(NOW, tick=False)
def test_r13_3_finished_rows_end_as_the_services_would_end_them(shop_a, shop_b, one_by_one):
    rows = history_rows()
    admin_a = testing.make_user("adam", shop_a, Role.ADMIN)
    bulk = run(shop_a, rows, admin_a)
    one_by_one()
    services_job = run(shop_b, rows, testing.make_user("bert", shop_b, Role.ADMIN))
    assert (bulk.created, bulk.failed) == (len(rows), 0)
    assert (services_job.created, services_job.failed) == (len(rows), 0)

    written, through_services = outcome(shop_a), outcome(shop_b)
    assert set(written) == {r.aftersale_id for r in rows}
    # One difference, on purpose: a refund of goods not shipped that the platform closed.
    # The policy refunds such a request the moment it opens, before the row-by-row path
    # gets to the close; the bulk path writes what the platform says, closed, no refund.
    closed_unshipped = {
        pk for pk, o in through_services.items() if o[0] == CaseType.REFUND_UNSHIPPED
    } & {r.aftersale_id for r in rows if r.status == "售后关闭"}
    assert closed_unshipped  # the realistic rows have some
    for pk in closed_unshipped:
        assert through_services[pk][1:3] == (CaseStatus.COMPLETED, RefundStatus.REFUNDED)
        assert written[pk][1:3] == (CaseStatus.CLOSED, RefundStatus.NONE)
        assert written[pk][9] is None and written[pk][12] == 0  # no refund, nothing booked
    auto_refunded = sum(through_services[pk][17][3] for pk in closed_unshipped)
    for pk in closed_unshipped:
        del written[pk], through_services[pk]
    assert written == through_services
    # Every type's both ends are there, with their money in fen.
    ends = {(o[0], o[1]) for o in written.values()}
    both = {(t, s) for t in CaseType for s in (CaseStatus.COMPLETED, CaseStatus.CLOSED)}
    assert ends == both - {(CaseType.REFUND_UNSHIPPED, CaseStatus.CLOSED)}
    assert written[row(2).aftersale_id][9] == (4450, 0, True)
    assert written[row(1).aftersale_id][14] == [
        ("return", "zhongtong", RETURNED["return_tracking"], "delivered")
    ]

    # The history needed no policy, no clock, no assignment, no message.
    assert not PolicyDecision.objects.filter(case__shop=shop_a).exists()
    assert not SlaClock.objects.filter(case__shop=shop_a).exists()
    assert not Case.objects.filter(shop=shop_a, assignee__isnull=False).exists()
    assert not AuditEvent.objects.filter(shop=shop_a, type=CaseEvent.BUYER_MESSAGE_SENT).exists()

    # The shop's numbers equal a recount, and the two paths' days agree.
    counts_equal_a_recount([shop_a.pk, shop_b.pk])
    a, b = stored_daily_facts([shop_a.pk]), stored_daily_facts([shop_b.pk])
    assert without_shop(a) == without_shop(b)
    refunds_a, refunds_b = stored_refund_facts([shop_a.pk]), stored_refund_facts([shop_b.pk])
    assert sum(refunds_a[1].values()) + auto_refunded == sum(refunds_b[1].values())
    # The overview read from the facts is the overview read from the raw rows.
    scope = scope_for(testing.actor(admin_a), Cuts())
    for period in (Period(date(2026, 11, 1), date(2026, 11, 30)), Period(NOW_DAY, NOW_DAY)):
        from_facts = overview(scope, period, compare=False)
        raw = overview(scope, period, compare=False, facts=False)
        assert from_facts.totals.as_dict() == raw.totals.as_dict()
        assert [d.as_dict() for d in from_facts.days] == [d.as_dict() for d in raw.days]
        assert from_facts.times == raw.times
    assert overview(scope, Period(NOW_DAY, NOW_DAY), compare=False).totals.as_dict()


@time_machine.travel(NOW, tick=False)
def test_r13_3_the_imported_history_is_on_the_audit_trail_and_the_chain_verifies(shop_a):
    admin = testing.make_user("adam", shop_a, Role.ADMIN)
    rows = history_rows()
    run(shop_a, rows[:5], admin)  # a chain that already has links
    job = run(shop_a, rows[5:], admin)
    assert job.created == len(rows) - 5
    assert verify_chain(shop_a.pk) is None
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"shop {shop_a.pk} ({shop_a.name}): ok" in out.getvalue()
    imported = AuditEvent.objects.filter(shop=shop_a, type=CaseEvent.CASE_IMPORTED)
    assert imported.count() == len(rows)
    assert set(imported.values_list("case_id", flat=True)) == set(
        Case.objects.filter(shop=shop_a).values_list("pk", flat=True)
    )
    refunded = Case.objects.get(platform_case_id=row(2).aftersale_id)
    event = imported.get(case=refunded)
    assert event.after["status"] == CaseStatus.COMPLETED
    assert event.payload["refunded_fen"] == 4450 and event.payload["note"].startswith("抖店后台")
    assert event.actor_kind == "platform" and event.actor_label.startswith("back-office import #")


@time_machine.travel(NOW, tick=False)
def test_r13_3_the_history_imported_again_changes_nothing(shop_a):
    admin = testing.make_user("adam", shop_a, Role.ADMIN)
    rows = history_rows()
    run(shop_a, rows, admin)
    before = (
        Case.objects.count(),
        AuditEvent.objects.count(),
        Order.objects.count(),
        RefundExecution.objects.count(),
        stored_daily_facts([shop_a.pk]),
        stored_refund_facts([shop_a.pk]),
        stored_order_totals([shop_a.pk]),
    )
    again = run(shop_a, rows, admin)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, len(rows), 0)
    after = (
        Case.objects.count(),
        AuditEvent.objects.count() - 1,  # the import's own summary
        Order.objects.count(),
        RefundExecution.objects.count(),
        stored_daily_facts([shop_a.pk]),
        stored_refund_facts([shop_a.pk]),
        stored_order_totals([shop_a.pk]),
    )
    assert after == before


@time_machine.travel(NOW, tick=False)
def test_r13_3_each_shop_imports_its_own_history(shop_a, shop_b):
    """The same export in two shops: two sets of cases, and neither shop's numbers move
    with the other's import."""
    rows = history_rows()
    run(shop_a, rows, testing.make_user("adam", shop_a, Role.ADMIN))
    assert not Case.objects.filter(shop=shop_b).exists()
    assert not stored_daily_facts([shop_b.pk])
    assert not Order.objects.filter(shop=shop_b).exists()
    run(shop_b, rows, testing.make_user("bert", shop_b, Role.ADMIN))
    for shop in (shop_a, shop_b):
        cases = Case.objects.filter(shop=shop)
        assert cases.count() == len(rows)
        assert not cases.exclude(order__shop=shop).exists()
        assert not ImportedAftersale.objects.filter(shop=shop).exclude(case__shop=shop).exists()
        assert not CaseFact.objects.filter(shop=shop).exclude(case__shop=shop).exists()
        assert verify_chain(shop.pk) is None
    counts_equal_a_recount([shop_a.pk, shop_b.pk])


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_bad_finished_row_does_not_stop_the_good_ones(shop_a):
    admin = testing.make_user("adam", shop_a, Role.ADMIN)
    over = {"type": "仅退款", "status": "同意退款，退款成功", "payable": "10.00"}
    rows = [
        row(1, status="同意退款，退款成功", **RETURNED),
        # The services refuse a shipping refund above the fee paid: this row alone.
        row(2, refund_goods="10.00", refund_shipping="8.00", **over),
        row(3, type="仅退款", status="售后关闭"),
        row(4),  # still open: the services
        # Two after-sales of one order, finished: the row-by-row path, in the file's order.
        row(5, status="售后关闭"),
        row(6, order_id=row(5).order_id, status="售后关闭"),
    ]
    job = run(shop_a, rows, admin)
    assert (job.created, job.failed) == (5, 1)
    assert job.row_errors.get().problems[0]["column"] == C.REFUND_SHIPPING
    assert not Order.objects.filter(platform_order_id=row(2).order_id).exists()
    assert not ImportedAftersale.objects.filter(aftersale_id=row(2).aftersale_id).exists()
    assert Case.objects.get(platform_case_id=row(1).aftersale_id).status == CaseStatus.COMPLETED
    assert Case.objects.get(platform_case_id=row(4).aftersale_id).policy_decisions.exists()
    assert Case.objects.filter(order__platform_order_id=row(5).order_id).count() == 2
    assert verify_chain(shop_a.pk) is None
    counts_equal_a_recount([shop_a.pk])


@time_machine.travel(NOW, tick=False)
def test_r13_3_a_database_error_in_the_bulk_write_sends_its_rows_one_by_one(shop_a, monkeypatch):
    from aftersales.cases import services as case_services

    def broken(**kwargs):
        raise IntegrityError("boom")

    monkeypatch.setattr(case_services, "import_finished_cases", broken)
    rows = history_rows()[:12]
    job = run(shop_a, rows, testing.make_user("adam", shop_a, Role.ADMIN))
    assert (job.created, job.failed) == (12, 0)
    # Nothing of the rolled-back bulk write is left: one order, one case per row.
    assert Order.objects.filter(shop=shop_a).count() == 12
    assert Case.objects.filter(shop=shop_a).count() == 12
    assert not AuditEvent.objects.filter(type=CaseEvent.CASE_IMPORTED).exists()
    assert PolicyDecision.objects.filter(case__shop=shop_a).count() == 12  # the services
    assert verify_chain(shop_a.pk) is None
    counts_equal_a_recount([shop_a.pk])


@time_machine.travel(NOW, tick=False)
def test_r13_3_the_history_takes_the_same_statements_for_more_rows(shop_a, shop_b):
    """The bulk path writes a batch in a fixed number of statements, not some per row (a
    few more where the database splits a long INSERT)."""

    def statements(shop, count):
        admin = testing.make_user(f"admin{shop.pk}", shop, Role.ADMIN)
        rows = [row(n, type="仅退款", status="同意退款，退款成功") for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            job = run(shop, rows, admin)
        assert job.created == count
        return len(queries)

    few, many = statements(shop_a, 10), statements(shop_b, 40)
    assert many <= few + 5
