"""The reports' facts are kept by the case events, and equal a recount from the raw rows after
random activity (issue #10, scale; R8.1).

A seeded random walk through the real case services — cases opened on shared orders,
assigned and reassigned, answered by message, approved, rejected, reopened, refunded, closed,
with the clock moving across Shanghai midnights — and after it: the daily counts equal the
recount of the cases, the refund rows per day and the clocks' daily outcomes equal theirs
recounted from the refunds and the clocks, each case's fact row equals the one rebuilt from
the audit trail and the refunds, and the overview read from the facts equals the overview
counted from the raw rows (SLA compliance included), for several periods and cuts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from aftersales import testing
from aftersales.analytics.facts import (
    NO_EARLIER_REFUND,
    fill_time_buckets,
    rebuild_facts,
    recount_daily_facts,
    recount_refund_facts,
    recount_time_histogram,
    stored_daily_facts,
    stored_refund_facts,
    stored_time_histogram,
    write_refund_facts,
)
from aftersales.analytics.models import CaseFact, CaseProductFact
from aftersales.analytics.overview import overview
from aftersales.analytics.periods import Period
from aftersales.analytics.problems import problem_products
from aftersales.analytics.scope import Cuts, scope_for
from aftersales.cases import services as case_services
from aftersales.cases.choices import CaseStatus
from aftersales.core.errors import DomainError
from aftersales.orders.totals import recount_order_totals, stored_order_totals
from aftersales.sla.outcomes import (
    rebuild_clock_outcomes,
    recount_clock_outcomes,
    stored_clock_outcomes,
)

from .support import at, open_case, order, product, sh

START = sh(2026, 3, 1, 20)
FIELDS = [
    "shop_id",
    "order_id",
    "reason",
    "type",
    "assignee_id",
    "applied_at",
    "applied_day",
    "first_response_at",
    "decided_at",
    "refund_executed_at",
    "refunded_fen",
    "response_bucket",
    "decision_bucket",
    "refund_bucket",
]
REASONS = ["wrong_size", "quality_issue", "damaged", "no_reason", "not_as_described"]


def fact_rows():
    return {
        f.case_id: tuple(getattr(f, name) for name in FIELDS)
        for f in CaseFact.objects.order_by("case_id")
    }


def walk(shop, people, seed: int, steps: int):
    rng = random.Random(seed)
    skus = [product(shop, f"商品{i}", rng.choice(["apparel", "home"])) for i in range(3)]
    moment = START
    orders, cases = [], []
    for _ in range(steps):
        moment += timedelta(minutes=rng.choice([7, 45, 130, 400]))
        action = rng.random()
        with at(moment):
            try:
                if action < 0.25 or not cases:
                    if not orders or rng.random() < 0.6:
                        room = rng.choice(["", "", "r1", "r2"])
                        orders.append(
                            order(
                                shop,
                                rng.choice(skus),
                                moment,
                                paid_fen=rng.choice([990, 5000, 12800]),
                                live_room=room,
                                channel="" if room else rng.choice(["", "video", "other"]),
                                # Three of a kind: up to three cases, each refunded its own day.
                                quantity=rng.choice([1, 3]),
                            )
                        )
                    placed = rng.choice(orders)
                    item = placed.items.get()
                    cases.append(
                        testing.make_case(
                            placed,
                            reason=rng.choice(REASONS),
                            applied_at=moment,
                            quantities={item.pk: 1} if item.quantity > 1 else None,
                        )
                    )
                    continue
                case = rng.choice(cases)
                case.refresh_from_db()
                by = testing.actor(rng.choice(people))
                if action < 0.35:
                    case_services.assign_case(
                        case=case, assignee=rng.choice(people), by=testing.SYSTEM
                    )
                elif action < 0.45:
                    case_services.message_buyer(case=case, text="您好，正在处理", by=by)
                elif action < 0.7 and case.status == CaseStatus.PENDING_REVIEW:
                    case_services.approve_case(case=case, by=by)
                    case_services.receive_return(case=case, by=by)
                    case_services.inspect_return(case=case, result="pass", condition="good", by=by)
                    case_services.approve_after_inspection(case=case, by=by)
                    if rng.random() < 0.8:
                        decision = case_services.refund_case(case=case, by=by)
                        case_services.execute_refund(execution=decision.execution, by=by)
                elif action < 0.8 and case.status == CaseStatus.PENDING_REVIEW:
                    case_services.reject_case(
                        case=case, reason_code="no_evidence", note="无", by=by
                    )
                elif action < 0.9 and case.status == CaseStatus.REJECTED:
                    case_services.reopen_case(case=case, by=by)
                elif case.status in (CaseStatus.PENDING_REVIEW, CaseStatus.REJECTED):
                    case_services.close_case(case=case, note="买家撤回", by=by)
            except DomainError:
                pass  # a refused step changes nothing, as for a person
    return moment


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_r8_1_the_rollup_equals_a_recount_after_random_activity(seed, shop_a, shop_b, alice, carol):
    bob = testing.make_user("bob", shop_a, "agent")
    walk(shop_a, [alice, bob], seed, 160)
    walk(shop_b, [carol], seed + 100, 40)
    shops = [shop_a.pk, shop_b.pk]

    assert stored_daily_facts(shops) == recount_daily_facts(shops)
    refund_rows = stored_refund_facts(shops)
    assert refund_rows == recount_refund_facts(shops)
    outcomes = stored_clock_outcomes(shops)
    assert outcomes == recount_clock_outcomes(shops)
    assert sum(outcomes[0].values()) > sum(outcomes[1].values()) > 0  # some met, some not
    histogram = stored_time_histogram(shops)
    assert histogram == recount_time_histogram(shops)
    assert {metric for _shop, _day, metric, _bucket in histogram} == {
        "first_response",
        "decision",
        "refund",
    }
    kept = fact_rows()
    assert len(kept) > 40
    products = product_fact_rows()
    assert len(products) == len(kept)  # one product per case in this walk
    rebuild_facts(shops)
    assert fact_rows() == kept
    assert product_fact_rows() == products
    assert stored_time_histogram(shops) == histogram
    # The migration's backfill (one UPDATE with width_bucket on PostgreSQL) gives each row
    # the bucket the reaction gives it.
    CaseFact.objects.update(response_bucket=None, decision_bucket=None, refund_bucket=None)
    fill_time_buckets(shops)
    assert fact_rows() == kept
    assert stored_time_histogram(shops) == histogram
    assert stored_order_totals(shops) == recount_order_totals(shops)
    assert stored_refund_facts(shops) == refund_rows
    # The migrations' backfills (0010 analytics, 0007 sla) give the same rows.
    write_refund_facts(shops)
    assert stored_refund_facts(shops) == refund_rows
    rebuild_clock_outcomes(shops)
    assert stored_clock_outcomes(shops) == outcomes

    actor = testing.actor(alice)
    product_id = CaseProductFact.objects.filter(shop_id=shop_a.pk).values_list(
        "product_id", flat=True
    )[0]
    for first, last in [
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 3, 2), date(2026, 3, 2)),
        (date(2026, 3, 3), date(2026, 3, 9)),
    ]:
        period = Period(first, last)
        for cuts in [
            Cuts(),
            Cuts(reason="wrong_size"),
            Cuts(agent=bob.pk),
            Cuts(type="return_refund"),
            Cuts(channel="live"),
            Cuts(live_room="r2", reason="damaged"),
            Cuts(channel="video"),
        ]:
            scope = scope_for(actor, cuts)
            from_facts = overview(scope, period, compare=False)
            raw = overview(scope, period, compare=False, facts=False)
            assert from_facts.totals.as_dict() == raw.totals.as_dict(), (period, cuts)
            assert [d.as_dict() for d in from_facts.days] == [d.as_dict() for d in raw.days]
            assert from_facts.reasons == raw.reasons
            assert from_facts.times == raw.times
            assert from_facts.sla == raw.sla, (period, cuts)
        for cuts in [Cuts(), Cuts(category="apparel"), Cuts(product=product_id)]:
            scope = scope_for(actor, cuts)
            assert findings(problem_products(scope, period)) == findings(
                problem_products(scope, period, facts=False)
            ), (period, cuts)


def findings(rows):
    return sorted(
        (f.product_id, f.orders, f.orders_with_case, f.cases, f.flagged, tuple(f.reasons))
        for f in rows
    )


def product_fact_rows():
    return sorted(
        CaseProductFact.objects.values_list(
            "case_id", "shop_id", "product_id", "order_id", "paid_day", "reason"
        )
    )


def test_the_reaction_reads_nothing_for_events_it_ignores(shop_a, alice, django_assert_num_queries):
    placed = order(shop_a, product(shop_a), START)
    case = open_case(placed, START)
    from aftersales.analytics.facts import record_case_facts
    from aftersales.cases.ports import CaseChange

    with django_assert_num_queries(0):
        record_case_facts(
            CaseChange(
                case=case, event="note_added", by=testing.SYSTEM, previous_status=case.status
            )
        )


def test_r8_1_an_order_refunded_on_several_days_counts_once_in_each_period(shop_a, alice):
    """One order of three skirts, three cases: refunded 2 March 10:00 and 23:30 and 4 March
    (Shanghai). The refund rows say: 2 March, no earlier refund; 2 March after 2 March; 4 March
    after 2 March. So the order is one refunded order on 2 March, on 4 March, and over 1–5
    March; none on 3 March; and the amounts add up over every refund."""
    from aftersales.analytics.overview import by_day, totals

    from .support import refund_return

    placed = order(shop_a, product(shop_a), sh(2026, 3, 1, 9), paid_fen=30000, quantity=3)
    item = placed.items.get()
    cases = [
        testing.make_case(placed, applied_at=sh(2026, 3, 1, 10 + n), quantities={item.pk: 1})
        for n in range(3)
    ]
    for case, refunded in zip(
        cases, [sh(2026, 3, 2, 10), sh(2026, 3, 2, 23, 30), sh(2026, 3, 4, 9)], strict=True
    ):
        refund_return(case, approved=refunded - timedelta(hours=1), refunded=refunded)
    cells, fen = stored_refund_facts([shop_a.pk])
    assert cells == {
        (shop_a.pk, date(2026, 3, 2), NO_EARLIER_REFUND): 1,
        (shop_a.pk, date(2026, 3, 2), date(2026, 3, 2)): 1,
        (shop_a.pk, date(2026, 3, 4), date(2026, 3, 2)): 1,
    }
    assert (cells, fen) == recount_refund_facts([shop_a.pk])
    assert sum(fen.values()) == 30000
    scope = scope_for(testing.actor(alice))
    for first, last, orders in [
        (date(2026, 3, 1), date(2026, 3, 5), 1),
        (date(2026, 3, 2), date(2026, 3, 2), 1),
        (date(2026, 3, 3), date(2026, 3, 3), 0),
        (date(2026, 3, 3), date(2026, 3, 4), 1),
        (date(2026, 3, 4), date(2026, 3, 9), 1),
    ]:
        period = Period(first, last)
        for facts in (True, False):
            assert totals(scope, period, facts=facts).refunded_orders == orders, (period, facts)
    days = {d.day: d for d in by_day(scope, Period(date(2026, 3, 1), date(2026, 3, 5)))}
    assert [days[date(2026, 3, n)].refunded_orders for n in range(1, 6)] == [0, 1, 0, 1, 0]
    assert days[date(2026, 3, 2)].refunded_fen == 20000
    assert days[date(2026, 3, 4)].refunded_fen == 10000
