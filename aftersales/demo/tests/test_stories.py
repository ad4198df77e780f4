"""The demo's history tells the stories the reports must find (issue #10): the skirt's size
returns fall after its size-chart change, the flask arrives damaged in 韵达's poly bags, the
agent is slow at the first response, and one month the platform's review metric dips.

The history is seeded once for the module at a fixed "now" (reproducible) with a small set of
orders per shop; each test asks the report a shop owner would open.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from aftersales.analytics.costs import damage_by_carrier
from aftersales.analytics.improvements import measure
from aftersales.analytics.models import Improvement
from aftersales.analytics.overview import overview
from aftersales.analytics.periods import Period
from aftersales.analytics.platform_metrics import platform_metrics
from aftersales.analytics.scope import Cuts, scope_for
from aftersales.demo import seed as demo_seed
from aftersales.shops.services import actor_for_user

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
HISTORY = Period(date(2025, 12, 2), date(2026, 3, 2))


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    # One seed for the module, rolled back after it: a flush would also empty what the
    # migrations seeded (reply templates, holidays) for every test that runs later.
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", orders_per_shop=1200, now=NOW, stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def owner(seeded, db):
    return actor_for_user(get_user_model().objects.get(username="admin"))


def test_r8_4_the_skirt_has_fewer_size_returns_after_its_new_size_chart(owner):
    (improvement,) = Improvement.objects.filter(product__name=demo_seed.STORY_SKIRT)
    assert improvement.kind == "size_chart"
    effect = measure(improvement, today=NOW.date())
    assert effect.enough, effect.sentence
    assert effect.change_points is not None and effect.change_points < 0
    assert effect.p is not None and effect.p < 0.05, effect.sentence


def test_r11_1_the_flask_is_damaged_in_yunda_bags(owner):
    rows = damage_by_carrier(scope_for(owner), HISTORY, by_packaging=True)
    worst = max((r for r in rows if r.orders >= 20), key=lambda r: r.rate or 0)
    assert (worst.carrier, worst.packaging) == (demo_seed.STORY_CARRIER, "bag")
    # The same carrier's cartons do not break: the packaging, not the carrier alone.
    (boxed,) = [r for r in rows if (r.carrier, r.packaging) == (demo_seed.STORY_CARRIER, "box")]
    assert (boxed.rate or 0) < (worst.rate or 0)


def test_r8_1_the_agent_is_slow_at_first_response(owner):
    users = {u.username: u.pk for u in get_user_model().objects.all()}
    medians = {}
    for name in ("agent", "supervisor"):
        ov = overview(scope_for(owner, Cuts(agent=users[name])), HISTORY, compare=False, now=NOW)
        medians[name] = ov.times[0].median
    assert medians["agent"] > 2 * medians["supervisor"], medians


def test_r8_3_one_month_the_platform_review_metric_dips(owner):
    first = (NOW - timedelta(days=demo_seed.DIP_DAYS_AGO)).date().replace(day=1)
    months = [
        Period(date(2025, 12, 1), date(2025, 12, 31)),
        Period(date(2026, 1, 1), date(2026, 1, 31)),
        Period(date(2026, 2, 1), date(2026, 2, 28)),
    ]
    values = {}
    for month in months:
        (report,) = [
            r for r in platform_metrics(scope_for(owner), month) if r.metric == "review"
        ] or [None]
        assert report is not None
        values[month.first] = report.parts[0][2].value
    dip = values[first]
    others = [v for k, v in values.items() if k != first]
    assert dip is not None and all(v is not None and dip < v for v in others), values
