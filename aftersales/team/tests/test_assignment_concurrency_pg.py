"""R9.2 fairness under real concurrency (PostgreSQL row locks; skipped on SQLite).

Eight threads, each on its own connection, released together by a barrier, each assign one
new case of the same shop. The shop's duty rows are locked in one order, so the
assignments happen one after another and each sees the loads the others left: the three
agents end with 3, 3 and 2 cases — never 8 on one of them — and the audit chain verifies.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.shops.choices import Role
from aftersales.team.services import assign_automatically, set_on_duty

from .support import new_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_r9_2_eight_cases_arriving_at_once_stay_balanced(shop_a, shop_b):
    agents = [testing.make_user(name, shop_a, Role.AGENT) for name in ("ann", "ben", "cai")]
    for agent in agents:
        set_on_duty(user=agent, shop=shop_a, on_duty=True, by=testing.SYSTEM)
    # Another shop's agent is on duty too: she must get none of these.
    other = testing.make_user("dee", shop_b, Role.AGENT)
    set_on_duty(user=other, shop=shop_b, on_duty=True, by=testing.SYSTEM)
    cases = [new_case(shop_a) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(case: Case) -> None:
        try:
            barrier.wait()
            assign_automatically(case=case, by=Actor.system("assignment"))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported below
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    loads = Counter(
        Case.objects.filter(pk__in=[c.pk for c in cases]).values_list(
            "assignee__username", flat=True
        )
    )
    assert set(loads) == {"ann", "ben", "cai"}
    assert sorted(loads.values()) == [2, 3, 3]
    assert AuditEvent.objects.filter(type="case_assigned").count() == THREADS
    assert verify_chain(shop_a.pk) is None
