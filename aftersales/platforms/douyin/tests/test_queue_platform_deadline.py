"""The platform's own timers in the agents' queue (R5.2): sorted by the platform's deadline
(Douyin's `status_deadline`), filtered to those due within 24 hours, another shop never seen."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import testing
from aftersales.cases.models import Case

from ..ingest import link_case, store_snapshot
from ..models import DouyinAftersale, DouyinShopLink
from . import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def ids(response) -> list[int]:
    return [int(x) for x in re.findall(r'data-case="(\d+)"', response.content.decode())]


def counts(response) -> dict[str, int]:
    html = response.content.decode()
    return {k: int(v) for k, v in re.findall(r'data-bucket="(\w+)">(\d+)<', html)}


def with_deadline(link: DouyinShopLink, hours: float | None) -> Case:
    """A Douyin case whose after-sale, as last read, says the platform acts in `hours`: the
    record stored, then linked to its case as ingest links it (which carries the deadline
    onto the case row)."""
    case = factories.platform_case(link.shop)
    record = DouyinAftersale.objects.create(
        link=link,
        aftersale_id=case.platform_case_id,
        order_id=case.order.platform_order_id,
        platform_status=6,
        update_time=int(NOW.timestamp()),
        status_deadline=None if hours is None else timezone.now() + timedelta(hours=hours),
        synced_at=timezone.now(),
    )
    link_case(record, case)
    return case


def detail(case: Case, *, update_time: int, deadline: datetime | None) -> dict[str, Any]:
    """A Detail of the case's after-sale, as the platform answers it (the parts read here)."""
    return {
        "process_info": {
            "after_sale_info": {
                "after_sale_id": case.platform_case_id,
                "after_sale_status": 6,
                "update_time": update_time,
                "status_deadline": int(deadline.timestamp()) if deadline else None,
            }
        },
        "order_info": {"order_id": case.order.platform_order_id},
    }


@pytest.fixture
def link_a(shop_a):
    return factories.link(shop_a)


@pytest.fixture
def agent(client, alice):
    client.force_login(alice)
    return client


def test_r5_2_sorting_puts_the_soonest_platform_deadline_first_and_cases_without_one_last(
    agent, link_a, shop_a
):
    later = with_deadline(link_a, 30)
    soonest = with_deadline(link_a, 2)
    unknown = with_deadline(link_a, None)  # the platform set no deadline for this step
    plain = testing.make_case(testing.make_order(shop_a))  # on no platform at all
    middle = with_deadline(link_a, 10)

    shown = ids(agent.get("/?sort=platform_deadline"))

    assert shown[:3] == [soonest.pk, middle.pk, later.pk]
    assert set(shown[3:]) == {unknown.pk, plain.pk}
    # Without the sort, the queue keeps its own order (the team's time limits), not this one.
    assert set(ids(agent.get("/"))) == set(shown)


def test_r5_2_the_filter_keeps_exactly_the_cases_due_within_24_hours(agent, link_a, shop_a):
    in_an_hour = with_deadline(link_a, 1)
    just_within = with_deadline(link_a, 24)
    with_deadline(link_a, 24.02)  # a minute too late
    with_deadline(link_a, -1)  # past: the platform has acted already
    with_deadline(link_a, None)
    testing.make_case(testing.make_order(shop_a))

    response = agent.get("/?platform_due=on")

    assert sorted(ids(response)) == sorted([in_an_hour.pk, just_within.pk])
    assert counts(response)["all"] == 2
    # Combined with the sort: still the same cases, the soonest first.
    both = agent.get("/?platform_due=on&sort=platform_deadline")
    assert ids(both) == [in_an_hour.pk, just_within.pk]


def test_r5_2_the_row_shows_the_platform_deadline_in_chinese_by_default(agent, link_a):
    case = with_deadline(link_a, 5)
    html = agent.get("/").content.decode()
    row = html[html.find(f'data-case="{case.pk}"') :]
    row = row[: row.find("</tr>")]
    assert "平台处理时限" in row
    assert "03-02 15:00" in row  # 10:00 + 5 h, in the shop's time
    assert "平台时限 24 小时内" in html
    assert "平台处理时限（最早优先）" in html


def test_r5_2_the_platform_deadline_words_in_english(agent, link_a):
    with_deadline(link_a, 5)
    html = agent.get("/", headers={"accept-language": "en"}).content.decode()
    assert "Platform deadline within 24 h" in html
    assert "Platform deadline (soonest first)" in html
    assert "平台时限" not in html and "平台处理时限" not in html


def test_r5_2_another_shops_cases_never_appear(agent, link_a, shop_b, client, carol):
    mine = with_deadline(link_a, 3)
    theirs = with_deadline(factories.link(shop_b), 1)  # sooner, in the other shop

    assert ids(agent.get("/?sort=platform_deadline")) == [mine.pk]
    assert ids(agent.get("/?platform_due=on")) == [mine.pk]
    assert str(theirs.pk) not in str(ids(agent.get("/?platform_due=on&sort=platform_deadline")))

    client.force_login(carol)
    assert ids(client.get("/?platform_due=on&sort=platform_deadline")) == [theirs.pk]


def test_r5_2_sorting_and_filtering_by_it_adds_no_query(agent, link_a):
    for hours in range(20):
        with_deadline(link_a, hours + 0.5)
    # The platform deadline is part of the page's own queries: the same number as the
    # queue of the same linked shop without it.
    with CaptureQueriesContext(connection) as plain:
        agent.get("/")
    with CaptureQueriesContext(connection) as by_deadline:
        response = agent.get("/?platform_due=on&sort=platform_deadline")
    assert len(by_deadline) == len(plain)
    assert len(ids(response)) == 20


def test_r5_2_each_stored_detail_keeps_the_deadline_the_case_carries(agent, link_a):
    """The queue reads the platform's deadline from the case row: each newer Detail stored
    moves it (in the same transaction), an older one arriving late does not, and a step
    without a deadline clears it."""
    case = with_deadline(link_a, 30)
    start = int(NOW.timestamp())
    assert ids(agent.get("/?platform_due=on")) == []

    soon = timezone.now() + timedelta(hours=3)
    store_snapshot(link_a, detail(case, update_time=start + 10, deadline=soon))
    assert Case.objects.get(pk=case.pk).platform_deadline == soon
    assert ids(agent.get("/?platform_due=on")) == [case.pk]

    late = timezone.now() + timedelta(hours=50)  # read before the one above, stored after
    store_snapshot(link_a, detail(case, update_time=start + 5, deadline=late))
    assert Case.objects.get(pk=case.pk).platform_deadline == soon

    store_snapshot(link_a, detail(case, update_time=start + 20, deadline=None))
    assert Case.objects.get(pk=case.pk).platform_deadline is None
    assert ids(agent.get("/?platform_due=on")) == []


def test_r5_2_an_after_sale_not_yet_linked_puts_no_deadline_on_any_case(link_a, shop_a):
    """A Detail stored before its case exists touches no case; linking it carries it."""
    case = factories.platform_case(link_a.shop)
    soon = timezone.now() + timedelta(hours=2)
    record = store_snapshot(link_a, detail(case, update_time=1, deadline=soon))
    assert record.case_id is None
    assert Case.objects.filter(platform_deadline__isnull=False).count() == 0
    link_case(record, case)
    assert Case.objects.get(pk=case.pk).platform_deadline == soon
