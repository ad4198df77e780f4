"""The reports' facts are kept by the case events, and equal a recount from the raw rows after
random activity (issue #10, scale; R8.1).

A seeded random walk through the real case services — cases opened on shared orders,
assigned and reassigned, answered by message, approved, rejected, reopened, refunded, closed,
with the clock moving across Shanghai midnights — and after it: the daily counts equal the
recount of the cases, each case's fact row equals the one rebuilt from the audit trail and
the refunds, and the overview read from the facts equals the overview counted from the raw
rows, for several periods and cuts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from aftersales import testing
from aftersales.analytics.facts import (
    fill_time_buckets,
    rebuild_facts,
    recount_daily_facts,
    recount_time_histogram,
    stored_daily_facts,
    stored_time_histogram,
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
                            )
                        )
                    cases.append(open_case(rng.choice(orders), moment, reason=rng.choice(REASONS)))
                    continue
                case = rng.choice(cases)
                case.refresh_from_db()
                by = testing.actor(rng.choice(people))
                if action < 0.4:
                    case_services.assign_case(
                        case=case, assignee=rng.choice(people), by=testing.SYSTEM
                    )
                elif action < 0.5:
                    case_services.message_buyer(case=case, text="您好，正在处理", by=by)
                elif action < 0.65 and case.status == CaseStatus.PENDING_REVIEW:
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
