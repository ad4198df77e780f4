"""Reports read from a PostgreSQL replica when `DATABASE_REPLICA_URL` is set (issue #10,
scale): the router sends a report's reads to the `replica` database, everything else (writes,
the case pages, an export's status) to the primary.
"""

from __future__ import annotations

from django.conf import settings

from aftersales.analytics import api as analytics_api
from aftersales.analytics import views as analytics_views
from aftersales.cases.models import Case
from aftersales.core import replica
from aftersales.core.replica import REPLICA, ReplicaRouter, in_reports, reading_reports

from .support import client_for

WITH_REPLICA = {**settings.DATABASES, REPLICA: {**settings.DATABASES["default"]}}


def test_r8_1_the_router_sends_report_reads_to_the_replica_only(monkeypatch):
    router = ReplicaRouter()
    assert "aftersales.core.replica.ReplicaRouter" in settings.DATABASE_ROUTERS
    assert not replica.replica_configured()  # the tests have none
    with reading_reports():  # no replica configured: nothing changes
        assert router.db_for_read(Case) is None

    monkeypatch.setattr(replica.settings, "DATABASES", WITH_REPLICA)
    assert router.db_for_read(Case) is None  # not a report: the primary
    with reading_reports():
        assert router.db_for_read(Case) == REPLICA
        assert router.db_for_write(Case) is None  # writes: always the primary
    assert router.db_for_read(Case) is None
    assert router.allow_migrate(REPLICA, "cases") is False
    assert router.allow_migrate("default", "cases") is None


def test_r8_1_report_pages_and_api_read_inside_reading_reports(monkeypatch, shop_a, alice):
    seen: list[tuple[str, bool]] = []

    def spy(where, real):
        def wrapped(*args, **kwargs):
            seen.append((where, in_reports()))
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(analytics_views, "overview", spy("page", analytics_views.overview))
    monkeypatch.setattr(analytics_api, "overview", spy("api", analytics_api.overview))
    client = client_for(alice)
    assert client.get("/analytics/").status_code == 200
    assert client.get("/api/v1/analytics/overview").status_code == 200
    assert seen == [("page", True), ("api", True)]
    assert not in_reports()  # and it is off again after the request
