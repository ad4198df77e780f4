"""R13.1 at volume (issue 16): a worker claims the stored pushes in batches and applies what
arrived together together — one Detail read per after-sale however many pushes name it, one
failing after-sale does not hold up the others, and two workers claiming at once never take
the same message (PostgreSQL, `SKIP LOCKED`).

The messages are stored as the receiver stores them (status `received`), without running
their tasks, so the batch is what the test says it is.
"""

from __future__ import annotations

import threading

import pytest
from django.utils import timezone

from aftersales.cases.models import Case, RefundExecution
from aftersales.platforms.douyin.ingest import claim_messages, process_inbox
from aftersales.platforms.douyin.models import InboundMessage

from .fake_gateway import ok
from .mini_platform import MiniPlatform

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def stored(link, tag: str, aftersale_id: str, msg_id: str, **data) -> InboundMessage:
    payload = {"aftersale_id": int(aftersale_id), "shop_id": link.platform_shop_id} | data
    return InboundMessage.objects.create(
        link=link,
        app_key=link.app_key,
        msg_id=msg_id,
        tag=tag,
        body="[]",
        data=payload,
        aftersale_id=aftersale_id,
        received_at=timezone.now(),
    )


def detail_reads(platform, aftersale_id: str) -> int:
    return sum(
        1
        for call in platform.gateway.calls
        if call.method == "afterSale.Detail" and call.params.get("after_sale_id") == aftersale_id
    )


def test_r13_1_pushes_about_one_aftersale_in_one_batch_read_detail_once_and_open_one_case(
    linked, platform
):
    order = platform.add_order(status=2)
    aftersale_id = platform.add_aftersale(order, type=2, reason_code=2)
    other = platform.add_aftersale(platform.add_order(status=2), type=2, reason_code=2)
    # Out of order and repeated: the status changes of one after-sale, and another one.
    for n, tag in enumerate(["201", "200", "200", "206"]):
        stored(linked, tag, aftersale_id, f"one-{n}")
    stored(linked, "200", other, "other-0")

    claimed = process_inbox(limit=50)

    assert len(claimed) == 5
    # One read for the four pushes (one each, were they applied one by one).
    assert detail_reads(platform, aftersale_id) == 1
    assert detail_reads(platform, other) == 1
    assert Case.objects.filter(platform_case_id=aftersale_id).count() == 1
    case = Case.objects.get(platform_case_id=aftersale_id)
    assert (case.status, case.refund_status) == ("completed", "refunded")
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    assert len(platform.operate_calls(aftersale_id)) == 1
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


def test_r13_1_a_poisoned_message_in_a_batch_fails_alone(linked, platform):
    good = [
        platform.add_aftersale(platform.add_order(status=2), type=2, reason_code=2)
        for _ in range(2)
    ]
    poisoned = platform.add_aftersale(platform.add_order(status=2), type=2, reason_code=2)
    # The platform answers nonsense for this one after-sale's Detail (no after_sale_info).
    answer = platform.respond

    def respond(method, params, n):
        if method == "afterSale.Detail" and params.get("after_sale_id") == poisoned:
            return ok({"process_info": {}})
        return answer(method, params, n)

    platform.gateway.responder = respond
    stored(linked, "200", good[0], "good-0")
    bad = stored(linked, "200", poisoned, "bad-0")
    stored(linked, "200", good[1], "good-1")

    process_inbox(limit=50)

    bad.refresh_from_db()
    assert bad.status == "failed" and "KeyError" in bad.error and bad.attempts == 1
    assert not Case.objects.filter(platform_case_id=poisoned).exists()
    for aftersale_id in good:
        assert Case.objects.get(platform_case_id=aftersale_id).status == "completed"
    assert InboundMessage.objects.filter(aftersale_id__in=good, status="processed").count() == 2


def test_r13_1_a_batch_takes_the_given_message_and_the_waiting_ones_oldest_first(linked, platform):
    aftersale_id = platform.add_aftersale(platform.add_order(status=2), type=2)
    messages = [stored(linked, "200", aftersale_id, f"m-{n}") for n in range(5)]
    InboundMessage.objects.filter(pk=messages[4].pk).update(status="failed")

    claimed = claim_messages(messages[4].pk, limit=3)

    # The failed one asked for (its retry is due) and the oldest waiting, applied in the order
    # they arrived; never a failed one nobody asked for (it waits for its own retry).
    assert [m.pk for m in claimed] == [messages[0].pk, messages[1].pk, messages[4].pk]
    assert {m.status for m in claimed} == {"processing"}
    assert claim_messages(messages[4].pk, limit=3) == [
        InboundMessage.objects.get(pk=messages[2].pk),
        InboundMessage.objects.get(pk=messages[3].pk),
    ]


@pytest.mark.postgres
def test_r13_1_two_workers_claiming_at_once_never_take_one_message_twice(linked):
    for n in range(200):
        stored(linked, "200", str(7000 + n), f"race-{n}")
    barrier = threading.Barrier(4)
    taken: list[list[int]] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker() -> None:
        from django.db import connection as own

        try:
            barrier.wait()
            mine: list[int] = []
            while batch := claim_messages(None, limit=7):
                mine.extend(m.pk for m in batch)
            with guard:
                taken.append(mine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with guard:
                errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    every = [pk for mine in taken for pk in mine]
    assert len(every) == len(set(every)) == 200
    assert InboundMessage.objects.filter(status="processing", attempts=1).count() == 200
