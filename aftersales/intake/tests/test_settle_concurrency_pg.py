"""A new case is decided once, whoever settles it at the same moment (PostgreSQL; skipped on
SQLite). Found by bench/soak.py (issue 15): two workers applying two pushes of one new
after-sale both found "no policy decision yet" and both triaged it — two decisions, two
interception requests, the buyer told twice that the parcel is being stopped.

The second settlement is started while the first is between its check and its decision
(inside `triage_case`); it must wait for the first and then find the case decided.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from aftersales import testing
from aftersales.intake import services as intake
from aftersales.orders.choices import OrderStatus
from aftersales.policy.models import PolicyDecision

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_session_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot unless cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_r3_1_a_case_settled_twice_at_once_is_decided_once(shop_a, monkeypatch):
    order = testing.make_order(
        shop_a, status=OrderStatus.DELIVERED, lines=[testing.Line(category="apparel")]
    )
    case = testing.make_case(order, type="return_refund", reason="no_reason")
    real_triage = intake.triage_case
    errors: list[BaseException] = []
    second: list[threading.Thread] = []

    def settle_in_another_session() -> None:
        try:
            intake.settle_case(type(case).objects.get(pk=case.pk), by=intake.POLICY)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def triage_while_another_settles(**kwargs):
        if not second:
            thread = threading.Thread(target=settle_in_another_session)
            second.append(thread)
            thread.start()
            # The other settlement either finishes (it did not wait for this one) or waits
            # for this one's row lock; either way it has made its check.
            while thread.is_alive() and not _other_session_waits_for_a_lock():
                thread.join(0.01)
        return real_triage(**kwargs)

    monkeypatch.setattr(intake, "triage_case", triage_while_another_settles)
    intake.settle_case(case, by=intake.POLICY)
    second[0].join()

    assert errors == []
    assert PolicyDecision.objects.filter(case=case).count() == 1
    assert case.events.filter(type="policy_decided").count() == 1
