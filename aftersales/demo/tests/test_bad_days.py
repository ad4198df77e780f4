"""The demo seeds a bad day (issue 13): an incident with its cases and a few signals worth
reviewing, through the services, with the audit chains intact."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from aftersales.audit.chain import verify_chain
from aftersales.demo.seed import demo_shops
from aftersales.incidents.models import Incident, IncidentCase
from aftersales.signals.models import RuleCode, Signal

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_r12_1_the_demo_has_an_incident_and_signals_to_review():
    import time_machine

    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", orders_per_shop=150, stdout=StringIO())
    shop = demo_shops()[0]
    incident = Incident.objects.get(shop=shop, status="open")
    assert IncidentCase.objects.filter(incident=incident).count() >= 1
    rules = set(Signal.objects.filter(shop=shop).values_list("rule", flat=True))
    assert {
        RuleCode.SHARED_RETURN_TRACKING,
        RuleCode.REUSED_IMAGE,
        RuleCode.TRACKING_OTHER_ROUTE,
    } <= rules
    assert all(verify_chain(s.pk) is None for s in demo_shops())


def test_r12_1_the_bad_day_on_its_own_raises_the_two_signals(shop_a):
    from django.utils import timezone

    from aftersales import testing
    from aftersales.demo.bad_days import seed_bad_days
    from aftersales.shops.choices import Role

    supervisor = testing.make_user("supervisor", shop_a, Role.SUPERVISOR)
    testing.make_user("agent", shop_a, Role.AGENT)
    testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    for _ in range(4):
        testing.make_order(shop_a)
    made = seed_bad_days([shop_a], {"supervisor": supervisor}, timezone.now())
    assert made["incidents"] == 1
    rules = list(Signal.objects.filter(shop=shop_a).values_list("rule", flat=True))
    assert (
        rules.count(RuleCode.SHARED_RETURN_TRACKING) == 2
        and rules.count(RuleCode.REUSED_IMAGE) == 1
    )
    assert verify_chain(shop_a.pk) is None


def test_issue13_the_bad_day_pushes_a_return_picked_up_in_another_city(shop_a):
    from django.utils import timezone

    from aftersales import testing
    from aftersales.demo.bad_days import seed_bad_days
    from aftersales.platforms.kuaidi100.models import PushStatus, TrackingPush
    from aftersales.shops.choices import Role

    supervisor = testing.make_user("supervisor", shop_a, Role.SUPERVISOR)
    for _ in range(5):
        testing.make_order(shop_a)
    seed_bad_days([shop_a], {"supervisor": supervisor}, timezone.now())
    (push,) = TrackingPush.objects.filter(shop=shop_a)
    assert push.status == PushStatus.APPLIED and push.scans_applied == 2
    (signal,) = Signal.objects.filter(shop=shop_a, rule=RuleCode.TRACKING_OTHER_ROUTE)
    assert signal.evidence["off"] == ["origin"] and signal.evidence["picked_up"] == "乌鲁木齐市"
    assert verify_chain(shop_a.pk) is None
