"""Issue 16: a worker's batch makes its platform calls side by side — the outbox's calls of
different cases, the inbox's Detail reads — and keeps every guarantee of calls made one
after another: each operation sent once and recorded on itself, each case's operations in
the order decided, one failed call failing its own operation or after-sale only.

The fake platform holds every call it answers for a while and counts how many are in
flight at once, in all and per after-sale.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from aftersales.cases import services
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.platforms.douyin.client import side_by_side
from aftersales.platforms.douyin.ingest import process_inbox, sync_aftersale
from aftersales.platforms.douyin.models import ApiCallLog, InboundMessage, OutboxOperation
from aftersales.platforms.douyin.outbox import deliver_operations

from .fake_gateway import error
from .mini_platform import MiniPlatform
from .test_inbox_batch import stored

AGENT = Actor.system("agent-test")
HELD = 0.15  # seconds each held call takes: long enough for the others to arrive meanwhile


class InFlight:
    """Wraps the platform's answers: holds the calls of `methods` for HELD seconds and
    records the most in flight at once, in all and for one after-sale."""

    def __init__(self, platform: MiniPlatform, methods: set[str]) -> None:
        self.answer = platform.gateway.responder
        self.methods = methods
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.per_aftersale: Counter[str] = Counter()
        self.most_per_aftersale = 0
        self.order: list[tuple[str, str]] = []  # (after-sale, method) as they arrived
        platform.gateway.responder = self

    def __call__(self, method, params, n):
        if method not in self.methods:
            return self.answer(method, params, n)
        aftersale = str(
            params.get("after_sale_id")
            or params.get("aftersale_id")
            or (params.get("items") or [{}])[0].get("aftersale_id")
        )
        with self.lock:
            self.order.append((aftersale, method))
            self.now += 1
            self.per_aftersale[aftersale] += 1
            self.most = max(self.most, self.now)
            self.most_per_aftersale = max(self.most_per_aftersale, self.per_aftersale[aftersale])
        try:
            time.sleep(HELD)
            return self.answer(method, params, n)
        finally:
            with self.lock:
                self.now -= 1
                self.per_aftersale[aftersale] -= 1


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def approved_cases(linked, platform, count: int) -> list[Case]:
    """Return-and-refund cases opened from the platform and approved: each has its
    messages to the buyer and its agreement pending (no task runs them in these tests)."""
    cases = []
    for _ in range(count):
        order = platform.add_order(status=5, shipped=True, signed=True)
        case = sync_aftersale(linked, platform.add_aftersale(order, type=0, reason_code=1))
        services.approve_case(case=case, by=AGENT)
        cases.append(case)
    return cases


SENDS = {"afterSale.operate", "im.sendMessage"}


@pytest.mark.django_db
def test_issue16_operations_of_several_cases_in_one_batch_go_side_by_side_each_once_in_order(
    linked, platform, settings
):
    settings.DOUYIN_CALL_CONCURRENCY = 8
    cases = approved_cases(linked, platform, 4)
    operations = list(OutboxOperation.objects.filter(status="pending").order_by("pk"))
    assert {op.kind for op in operations} == {"agree", "notify_buyer"}
    watch = InFlight(platform, SENDS)

    attempted = deliver_operations(limit=50)

    # The cases' calls overlapped; one case's never did.
    assert watch.most >= 2, watch.most
    assert watch.most_per_aftersale == 1
    # Every operation once, synced, with one attempt recorded on itself.
    assert sorted(attempted) == sorted(op.pk for op in operations)
    for op in OutboxOperation.objects.filter(pk__in=attempted):
        assert (op.status, op.attempts, op.attempt_log.count()) == ("synced", 1, 1), op.kind
    for case in cases:
        assert platform.applied.count((case.platform_case_id, 101)) == 1
        # Each case's calls in the order its operations were decided.
        sent = [m for a, m in watch.order if a == case.platform_case_id]
        decided = [
            "afterSale.operate" if op.kind == "agree" else "im.sendMessage"
            for op in operations
            if op.case_id == case.pk
        ]
        assert sent == decided
    # The call log of every call, written by the worker (one row per call).
    assert ApiCallLog.objects.filter(method__in=SENDS).count() == len(operations)


@pytest.mark.django_db
def test_issue16_a_failed_call_in_a_concurrent_batch_fails_its_own_operation_only(
    linked, platform, settings
):
    settings.DOUYIN_CALL_CONCURRENCY = 8
    cases = approved_cases(linked, platform, 3)
    refused = cases[1].platform_case_id
    watch = InFlight(platform, SENDS)
    answer = watch.answer

    def refuse_one(method, params, n):
        if method == "afterSale.operate" and params["items"][0]["aftersale_id"] == refused:
            return error(50002, "isv.business-failed:40001", "商家地址无效")
        return answer(method, params, n)

    watch.answer = refuse_one

    deliver_operations(limit=50)

    assert watch.most >= 2
    failed = OutboxOperation.objects.get(case=cases[1], kind="agree")
    assert failed.status == "failed" and "商家地址无效" in failed.last_error
    (attempt,) = failed.attempt_log.all()
    assert attempt.outcome == "business_error" and "商家地址无效" in attempt.error
    for case in (cases[0], cases[2]):
        agree = OutboxOperation.objects.get(case=case, kind="agree")
        assert (agree.status, agree.last_error) == ("synced", "")
        assert agree.attempt_log.get().outcome == "succeeded"
        assert platform.applied.count((case.platform_case_id, 101)) == 1
    assert (refused, 101) not in platform.applied
    # The refused case's messages decided before the agreement still went (they wait for
    # nothing); nothing of it was sent twice.
    assert (
        Counter(a for a, _ in watch.order)[refused]
        == OutboxOperation.objects.filter(case=cases[1], attempts=1).count()
    )


@pytest.mark.django_db(transaction=True)
def test_issue16_an_inbox_batch_reads_its_details_side_by_side_and_a_failed_read_fails_alone(
    linked, platform, settings
):
    settings.DOUYIN_CALL_CONCURRENCY = 8
    aftersales = [
        platform.add_aftersale(platform.add_order(status=2), type=2, reason_code=2)
        for _ in range(4)
    ]
    unreadable = aftersales[2]
    watch = InFlight(platform, {"afterSale.Detail"})
    answer = watch.answer

    def refuse_one(method, params, n):
        if method == "afterSale.Detail" and params.get("after_sale_id") == unreadable:
            return error(50002, "isv.business-failed:40004", "售后单不存在")
        return answer(method, params, n)

    watch.answer = refuse_one
    for n, aftersale_id in enumerate(aftersales):
        stored(linked, "200", aftersale_id, f"side-{n}")

    process_inbox(limit=50)

    assert watch.most >= 2, watch.most
    bad = InboundMessage.objects.get(aftersale_id=unreadable)
    assert bad.status == "failed" and "售后单不存在" in bad.error and bad.attempts == 1
    assert not Case.objects.filter(platform_case_id=unreadable).exists()
    for aftersale_id in aftersales:
        if aftersale_id != unreadable:
            assert Case.objects.get(platform_case_id=aftersale_id).status == "completed"
            assert InboundMessage.objects.get(aftersale_id=aftersale_id).status == "processed"


def test_issue16_side_by_side_gives_each_jobs_result_or_exception_in_order(settings):
    settings.DOUYIN_CALL_CONCURRENCY = 4
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def job(n):
        def run():
            with lock:
                running[0] += 1
                running[1] = max(running)
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            if n == 2:
                raise ValueError("two")
            return n

        return run

    results = side_by_side([job(n) for n in range(6)])

    assert results[:2] == [0, 1] and results[3:] == [3, 4, 5]
    assert isinstance(results[2], ValueError)
    assert 2 <= running[1] <= 4
    settings.DOUYIN_CALL_CONCURRENCY = 1
    running[1] = 0
    assert side_by_side([job(0), job(1)]) == [0, 1]
    assert running[1] == 1
