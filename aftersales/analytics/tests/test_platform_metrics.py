"""The platform's service metrics (issue #10; R8.1): versioned definitions with effective
dates — the review metric changed on 2026-07-14 — counted by hand on a small shop.

Before the change (6–13 July 2026): c1 applied 8 July 10:00, approved 11:00 (its 48 h review
clock met); c2 applied 9 July 10:00, approved 12 July 10:00 (72 h: missed). 售后处理时长达成率
= 1/2.

After it (20–26 July), three orders paid 20 July, and:
- c3 applied 20 July 23:30, approved 21 July 09:00: counts from 08:00, 1 h;
- c4 applied 21 July 07:00, approved 07:30: counts from 08:00, so 0 h (never negative);
- c5 "quality" applied 21 July 10:00, approved 13:00: 3 h; refunded 22 July.
售后平均审核时长 = (1 + 0 + 3) / 3 = 1.33 h. c3 (alice's) goes to the platform on 22 July and
is ruled for the buyer on 25 July: 平台求助率 1/3, 纠纷商责率 1 / 3 orders; 品退率 (c5) 1/3.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from aftersales import testing
from aftersales.analytics.periods import Period
from aftersales.analytics.platform_metrics import (
    platform_metrics,
    review_clock_start,
    split_by_version,
    weeks,
)
from aftersales.analytics.scope import scope_for
from aftersales.cases import services as case_services
from aftersales.cases.events import CaseEvent
from aftersales.cases.transitions import change_case
from aftersales.core.actors import Actor

from .support import at, client_for, open_case, order, product, sh

BEFORE = Period(date(2026, 7, 6), date(2026, 7, 13))
AFTER = Period(date(2026, 7, 20), date(2026, 7, 26))
PLATFORM = Actor.platform("douyin")


def set_dispute(case, status, moment):
    with at(moment), transaction.atomic():
        change_case(
            case_services.lock_case(case),
            by=PLATFORM,
            event_type=CaseEvent.DISPUTE_STATUS_CHANGED,
            dispute_status=status,
        )


@pytest.fixture
def july(shop_a, shop_b, alice):
    a = testing.actor(alice)
    sku = product(shop_a)
    c1 = open_case(order(shop_a, sku, sh(2026, 7, 7, 10)), sh(2026, 7, 8, 10))
    with at(sh(2026, 7, 8, 11)):
        case_services.approve_case(case=c1, by=a)
    c2 = open_case(order(shop_a, sku, sh(2026, 7, 7, 11)), sh(2026, 7, 9, 10))
    with at(sh(2026, 7, 12, 10)):
        case_services.approve_case(case=c2, by=a)

    c3 = open_case(order(shop_a, sku, sh(2026, 7, 20, 9)), sh(2026, 7, 20, 23, 30))
    with at(sh(2026, 7, 20, 23, 31)):
        case_services.assign_case(case=c3, assignee=alice, by=testing.SYSTEM)
    c4 = open_case(order(shop_a, sku, sh(2026, 7, 20, 10)), sh(2026, 7, 21, 7))
    c5 = open_case(
        order(shop_a, sku, sh(2026, 7, 20, 11)), sh(2026, 7, 21, 10), reason="quality_issue"
    )
    with at(sh(2026, 7, 21, 9)):
        case_services.approve_case(case=c3, by=a)
    with at(sh(2026, 7, 21, 7, 30)):
        case_services.approve_case(case=c4, by=a)
    with at(sh(2026, 7, 21, 13)):
        case_services.approve_case(case=c5, by=a)
        case_services.receive_return(case=c5, by=a)
        case_services.inspect_return(case=c5, result="pass", condition="good", by=a)
        case_services.approve_after_inspection(case=c5, by=a)
    with at(sh(2026, 7, 22, 10)):
        decision = case_services.refund_case(case=c5, by=a)
        case_services.execute_refund(execution=decision.execution, by=a)
    set_dispute(c3, "platform_intervening", sh(2026, 7, 22, 12))
    set_dispute(c3, "ruled_for_buyer", sh(2026, 7, 25, 12))
    # Another shop's slow reviews never count in shop A's figures.
    other = open_case(order(shop_b, product(shop_b), sh(2026, 7, 20, 9)), sh(2026, 7, 20, 10))
    with at(sh(2026, 7, 24, 10)):
        case_services.approve_case(case=other, by=testing.SYSTEM)
    return {"c3": c3, "c5": c5}


def by_metric(reports):
    return {r.metric: r for r in reports}


def test_the_night_rule_of_the_review_time():
    assert review_clock_start(sh(2026, 7, 20, 23, 30)) == sh(2026, 7, 21, 8)
    assert review_clock_start(sh(2026, 7, 21, 7)) == sh(2026, 7, 21, 8)
    assert review_clock_start(sh(2026, 7, 21, 8)) == sh(2026, 7, 21, 8)
    assert review_clock_start(sh(2026, 7, 21, 22, 59)) == sh(2026, 7, 21, 22, 59)
    assert review_clock_start(sh(2026, 7, 21, 23)) == sh(2026, 7, 22, 8)


def test_a_period_across_the_change_is_split_and_weeks_are_monday_to_sunday():
    parts = split_by_version("review", Period(date(2026, 7, 6), date(2026, 7, 26)))
    assert [(v.name, p.first, p.last) for v, p in parts] == [
        ("售后处理时长达成率", date(2026, 7, 6), date(2026, 7, 13)),
        ("售后平均审核时长", date(2026, 7, 14), date(2026, 7, 26)),
    ]
    assert [(w.first, w.last) for w in weeks(Period(date(2026, 7, 8), date(2026, 7, 21)))] == [
        (date(2026, 7, 8), date(2026, 7, 12)),
        (date(2026, 7, 13), date(2026, 7, 19)),
        (date(2026, 7, 20), date(2026, 7, 21)),
    ]


def test_the_platform_metrics_by_hand(july, alice):
    scope = scope_for(testing.actor(alice))
    before = by_metric(platform_metrics(scope, BEFORE))["review"].parts
    assert [(v.name, value.value) for v, _p, value in before] == [("售后处理时长达成率", 0.5)]

    after = by_metric(platform_metrics(scope, AFTER))
    ((version, _part, review),) = after["review"].parts
    assert version.name == "售后平均审核时长"
    assert review.denominator == 3 and review.value == pytest.approx(4 / 3)
    assert [m.key for m in review.cases] == [july["c5"].pk, july["c3"].pk, review.cases[2].key]
    ((_v, _p, help_rate),) = after["help_rate"].parts
    assert (help_rate.numerator, help_rate.denominator) == (1, 3)
    assert [(m.label, m.count) for m in help_rate.agents] == [("alice", 1)]
    assert help_rate.agents[0].effect == pytest.approx(1 / 3)
    ((_v, _p, disputes),) = after["merchant_fault_disputes"].parts
    assert (disputes.numerator, disputes.denominator) == (1, 3)
    assert disputes.cases[0].key == july["c3"].pk
    ((_v, _p, quality),) = after["quality_returns"].parts
    assert (quality.numerator, quality.denominator, quality.value) == (1, 3, 1 / 3)
    assert quality.cases[0].key == july["c5"].pk


def test_the_page_and_the_api_are_tenant_scoped(july, alice, carol, shop_a):
    params = {"period": "custom", "start": "2026-07-06", "end": "2026-07-26"}
    html = client_for(alice).get("/analytics/platform/", params).content.decode()
    assert "售后平均审核时长" in html and "售后处理时长达成率" in html
    body = client_for(alice).get("/api/v1/analytics/platform-metrics", params).json()
    review = body["metrics"]["review"]["parts"]
    assert [p["version"] for p in review] == ["售后处理时长达成率", "售后平均审核时长"]
    assert review[1]["value"] == pytest.approx(4 / 3)
    theirs = client_for(carol).get("/api/v1/analytics/platform-metrics", params).json()
    assert theirs["metrics"]["review"]["parts"][1]["denominator"] == 1
    assert theirs["metrics"]["help_rate"]["parts"][0]["numerator"] == 0
    foreign = client_for(carol).get(
        "/api/v1/analytics/platform-metrics", {**params, "shop": shop_a.pk}
    )
    assert foreign.status_code == 404
