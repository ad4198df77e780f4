"""Incidents (R12.1): declared with a scope rule, the matching cases join (those there and
those that arrive), bulk actions and templated messages with per-case results, tightened
deadlines until closed, the timeline on the audit trail; proposals when arrivals jump."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftersales import testing
from aftersales.analytics.tests.support import open_case, order, product, sh
from aftersales.audit.chain import verify_chain
from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.incidents import services, surges
from aftersales.incidents.models import Incident, IncidentCase, IncidentStatus
from aftersales.shops.choices import Role
from aftersales.shops.models import Shop
from aftersales.sla.models import ClockState, SlaClock

T0 = sh(2026, 6, 10, 10)


@pytest.fixture
def sup_a(shop_a):
    return testing.make_user("suzy", shop_a, Role.SUPERVISOR)


@pytest.fixture
def world(shop_a, shop_b):
    dress = product(shop_a, "连衣裙")
    mug = product(shop_a, "马克杯")
    other_shop_dress = product(shop_b, "连衣裙")
    cases = {
        "dress1": open_case(
            order(shop_a, dress, T0 - timedelta(days=3)),
            T0 - timedelta(days=2),
            reason="quality_issue",
        ),
        "dress2": open_case(
            order(shop_a, dress, T0 - timedelta(days=3)),
            T0 - timedelta(days=1),
            reason="quality_issue",
        ),
        "mug": open_case(
            order(shop_a, mug, T0 - timedelta(days=3)),
            T0 - timedelta(days=1),
            reason="quality_issue",
        ),
        "b": open_case(
            order(shop_b, other_shop_dress, T0 - timedelta(days=3)),
            T0 - timedelta(days=1),
            reason="quality_issue",
        ),
    }
    return {"dress": dress, "mug": mug, "cases": cases}


def _declare(shop, sup, world, **kwargs):
    return services.declare_incident(
        shop=shop,
        kind="batch_defect",
        title="连衣裙批次开线",
        scope=services.Scope(product_id=world["dress"].product_id),
        since=T0 - timedelta(days=7),
        target_hours=4,
        by=testing.actor(sup),
        **kwargs,
    )


def test_r12_1_declared_incident_groups_matching_cases_existing_and_arriving(shop_a, sup_a, world):
    cases = world["cases"]
    with time_machine.travel(T0, tick=False):
        incident = _declare(shop_a, sup_a, world)
    members = set(services.member_cases(incident).values_list("pk", flat=True))
    assert members == {cases["dress1"].pk, cases["dress2"].pk}  # not the mug, not shop B's
    # A new case for the product joins as it opens; one for the mug does not.
    new = open_case(
        order(shop_a, world["dress"], T0), T0 + timedelta(hours=1), reason="quality_issue"
    )
    mug = open_case(
        order(shop_a, world["mug"], T0), T0 + timedelta(hours=1), reason="quality_issue"
    )
    members = set(services.member_cases(incident).values_list("pk", flat=True))
    assert new.pk in members and mug.pk not in members
    # Closed: no case joins any more.
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        services.close_incident(incident=incident, by=testing.actor(sup_a), note="供应商已换批次")
    late = open_case(
        order(shop_a, world["dress"], T0), T0 + timedelta(hours=3), reason="quality_issue"
    )
    assert not IncidentCase.objects.filter(case=late).exists()
    types = list(services.timeline(incident).values_list("type", flat=True))
    assert types[0] == "incident_declared" and types[-1] == "incident_closed"
    assert types.count("incident_case_joined") == 3
    assert verify_chain(shop_a.pk) is None


def test_r12_1_member_cases_deadlines_are_tightened_and_others_are_not(shop_a, sup_a, world):
    cases = world["cases"]
    before = {
        c.pk: c.due_at
        for c in SlaClock.objects.filter(state=ClockState.RUNNING, is_buyer_clock=False)
    }
    with time_machine.travel(T0, tick=False):
        _declare(shop_a, sup_a, world)
    live = SlaClock.objects.filter(case=cases["dress2"], is_buyer_clock=False).exclude(
        state=ClockState.STOPPED
    )
    for clock in live:
        assert clock.due_at <= max(clock.started_at + timedelta(hours=4), T0 + timedelta(hours=1))
        assert clock.due_at <= before[clock.pk]
    assert any(clock.due_at < before[clock.pk] for clock in live)
    for clock in SlaClock.objects.filter(case=cases["mug"], is_buyer_clock=False).exclude(
        state=ClockState.STOPPED
    ):
        assert clock.due_at == before[clock.pk]
    # A clock that starts later on a member case is tightened too.
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        case_services.approve_case(case=cases["dress2"], by=testing.SYSTEM)
        now = timezone.now()
    started = SlaClock.objects.filter(case=cases["dress2"], started_at=now, is_buyer_clock=False)
    for clock in started:
        assert clock.due_at <= now + timedelta(hours=4)


def test_r12_1_only_a_lead_declares_and_another_shop_sees_nothing(
    shop_a, alice, carol, sup_a, world
):
    with pytest.raises(PermissionDenied):
        _declare(shop_a, alice, world)
    with pytest.raises(InvalidInput):
        services.declare_incident(
            shop=shop_a,
            kind="batch_defect",
            title="x",
            scope=services.Scope(),
            by=testing.actor(sup_a),
        )
    with time_machine.travel(T0, tick=False):
        incident = _declare(shop_a, sup_a, world)
    with pytest.raises(NotFound):
        services.get_incident_for_actor(testing.actor(carol), incident.pk)
    assert services.get_incident_for_actor(testing.actor(alice), incident.pk) == incident


def test_r12_1_bulk_templated_message_reports_each_case(shop_a, sup_a, world):
    cases = world["cases"]
    with time_machine.travel(T0, tick=False):
        incident = _declare(shop_a, sup_a, world)
    results = services.apply_bulk(
        incident=incident, action="message", template="delay_notice", by=testing.actor(sup_a)
    )
    assert {r.case_id: r.outcome for r in results} == {
        cases["dress1"].pk: "done",
        cases["dress2"].pk: "done",
    }
    from aftersales.audit.models import AuditEvent

    sent = AuditEvent.objects.filter(
        type="buyer_message_sent", case__in=[cases["dress1"], cases["dress2"]]
    )
    assert sent.count() == 2
    assert not AuditEvent.objects.filter(type="buyer_message_sent", case=cases["mug"]).exists()
    bulk = services.timeline(incident).get(type="incident_bulk_applied")
    assert sorted(bulk.payload["done"]) == sorted([cases["dress1"].pk, cases["dress2"].pk])
    with pytest.raises(InvalidInput):
        services.apply_bulk(
            incident=incident, action="message", template="nope", by=testing.actor(sup_a)
        )
    # Approve: each case through the same service; refusals named per case.
    results = services.apply_bulk(incident=incident, action="approve", by=testing.actor(sup_a))
    assert {r.case_id for r in results} == {cases["dress1"].pk, cases["dress2"].pk}
    assert all(r.outcome in {"done", "not_allowed_by_policy", "wrong_status"} for r in results)


def test_r12_1_poisson_bound():
    assert surges.poisson_upper_tail(0, 2.0) == 1.0
    assert abs(surges.poisson_upper_tail(1, 1.0) - (1 - 0.36787944)) < 1e-6
    assert surges.surge("reason", "x", "x", 4, 0) is None  # fewer than MIN_CASES
    assert surges.surge("reason", "x", "x", 5, 28) is None  # λ=1: P(X≥5) ≈ 0.0037
    found = surges.surge("reason", "x", "x", 7, 28)  # λ=1: P(X≥7) ≈ 0.00008
    assert found is not None and found.p_value < surges.P_VALUE


def _arrivals(shop, sku, per_day_baseline: int, today: int, now):
    for day in range(1, surges.BASELINE_DAYS + 1):
        for _ in range(per_day_baseline):
            open_case(
                order(shop, sku, now - timedelta(days=day + 2)), now - timedelta(days=day, hours=2)
            )
    for i in range(today):
        open_case(order(shop, sku, now - timedelta(days=2)), now - timedelta(hours=i + 1))


def test_r12_1_a_jump_in_arrivals_proposes_an_incident_and_a_normal_day_does_not(shop_a, sup_a):
    now = sh(2026, 7, 1, 12)
    steady, jumped = product(shop_a, "毛巾"), product(shop_a, "保温杯")
    _arrivals(
        shop_a, steady.sku if hasattr(steady, "sku") else steady, 0, 4, now
    )  # 4 today: too few
    _arrivals(shop_a, jumped, 0, 6, now)
    with time_machine.travel(now, tick=False):
        proposed = services.detect_surges()
    by_product = {i.product_id: i for i in proposed}
    assert jumped.product_id in by_product and steady.product_id not in by_product
    incident = by_product[jumped.product_id]
    assert incident.status == IncidentStatus.PROPOSED
    assert incident.proposal["count"] == 6 and incident.proposal["threshold"] == surges.P_VALUE
    assert not IncidentCase.objects.filter(incident=incident).exists()  # no case touched yet
    with time_machine.travel(now, tick=False):
        assert services.detect_surges() == []  # proposed once
        services.confirm_incident(incident=incident, by=testing.actor(sup_a))
    assert services.member_cases(incident).count() == 6
    with pytest.raises(Conflict):
        services.confirm_incident(incident=incident, by=testing.actor(sup_a))


def test_r12_1_a_product_with_a_normal_rate_needs_a_bigger_jump(shop_a):
    now = sh(2026, 7, 1, 12)
    sku = product(shop_a, "袜子")
    # 28 cases in the 28 days before: λ = 1 a day. Five today is not a surge (p ≈ 0.004).
    _arrivals(shop_a, sku, 1, 5, now)
    with time_machine.travel(now, tick=False):
        assert [i for i in services.detect_surges() if i.product_id == sku.product_id] == []
        for i in range(2):
            open_case(order(shop_a, sku, now - timedelta(days=2)), now - timedelta(minutes=10 + i))
        found = [i for i in services.detect_surges() if i.product_id == sku.product_id]
    assert len(found) == 1 and found[0].proposal["count"] == 7


def test_r12_1_the_reaction_proposes_once_the_case_is_committed(
    shop_a, django_capture_on_commit_callbacks
):
    now = sh(2026, 7, 1, 12)
    sku = product(shop_a, "围巾")
    _arrivals(shop_a, sku, 0, 5, now)
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        open_case(order(shop_a, sku, now - timedelta(days=2)), now)
    assert (
        Incident.objects.filter(product_id=sku.product_id, status=IncidentStatus.PROPOSED).count()
        == 1
    )
    assert Case.objects.filter(shop=shop_a).count() == 6


def _open_incidents(shop) -> int:
    return Shop.objects.get(pk=shop.pk).open_incidents


def _surge(dimension: str, value: str) -> surges.Surge:
    return surges.Surge(dimension, value, value, 9, 3, 1.0, 1e-6)


def test_r12_1_the_shop_counts_its_open_incidents_as_they_open_and_close(shop_a, sup_a, world):
    """Issue 16: a case's status change asks for the incidents it is a member of only while
    its shop has one open; the count moves in the transactions that open and close them."""
    lead = testing.actor(sup_a)
    with time_machine.travel(T0, tick=False):
        declared = _declare(shop_a, sup_a, world)
        assert _open_incidents(shop_a) == 1
        proposed = services.propose_incident(
            shop_id=shop_a.pk, surge=_surge("product", str(world["mug"].product_id))
        )
        assert proposed is not None and _open_incidents(shop_a) == 1  # a proposal is not open
        services.confirm_incident(incident=proposed, by=lead)
        assert _open_incidents(shop_a) == 2
        dismissed = services.propose_incident(
            shop_id=shop_a.pk, surge=_surge("reason", "quality_issue")
        )
        assert dismissed is not None
        services.dismiss_incident(incident=dismissed, by=lead)
        assert _open_incidents(shop_a) == 2
        services.close_incident(incident=declared, by=lead)
        services.close_incident(incident=proposed, by=lead)
    assert _open_incidents(shop_a) == 0


def test_r12_1_a_status_change_skips_the_member_read_only_while_no_incident_is_open(
    shop_a, sup_a, world
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def incident_reads(case) -> int:
        with CaptureQueriesContext(connection) as queries:
            case_services.approve_case(case=case, by=testing.SYSTEM)
        return len([q for q in queries.captured_queries if '"incidents_incident"' in q["sql"]])

    assert incident_reads(world["cases"]["mug"]) == 0  # no incident open in the shop
    with time_machine.travel(T0, tick=False):
        _declare(shop_a, sup_a, world)
    # Open: a member case's new clocks are tightened (the test above), so the read happens.
    assert incident_reads(world["cases"]["dress1"]) == 1
