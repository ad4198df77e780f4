"""Push delivery: at least once, redelivery with backoff, and the duplication/reorder switches."""

from __future__ import annotations

import pytest

from .helpers import SHOP_ID, new_case, wait_until

pytestmark = pytest.mark.usefixtures("shop")


def _point_at(ctl, receiver) -> None:
    ctl.post(f"shops/{SHOP_ID}", {"push_url": receiver.url})


def test_redelivered_after_the_receiver_answered_500(ctl, receiver):
    _point_at(ctl, receiver)
    receiver.script.extend([(500, "oops"), (200, '{"code":1,"msg":"busy"}')])
    case = new_case(ctl)
    receiver.wait_tags(["200"], case["aftersale_id"])
    assert [r["status"] for r in receiver.requests] == [500, 200, 200]
    assert [r["accepted"] for r in receiver.requests] == [False, False, True]
    assert len({r["body"] for r in receiver.requests}) == 1  # the same message, byte for byte
    entry = wait_until(lambda: ctl.get("pushes", status="delivered"))[0]
    assert entry["attempts"] == 3 and entry["msg_id"] == receiver.messages()[0]["msg_id"]


def test_redelivered_after_the_receiver_timed_out(ctl, receiver):
    ctl.post("faults", {"push_timeout": 0.2})
    _point_at(ctl, receiver)
    receiver.script.append("hang")
    case = new_case(ctl)
    receiver.wait_tags(["200"], case["aftersale_id"])
    entry = wait_until(lambda: ctl.get("pushes", status="delivered"))[0]
    assert entry["attempts"] == 2
    receiver.release.set()


def test_duplication_sends_every_message_n_times(ctl, receiver):
    ctl.post("faults", {"push_duplicate": 3})
    _point_at(ctl, receiver)
    case = new_case(ctl)
    assert receiver.wait_for(lambda r: len(r.messages()) == 3)
    messages = receiver.messages()
    assert {m["msg_id"] for m in messages} == {messages[0]["msg_id"]}
    assert {m["data"]["aftersale_id"] for m in messages} == {int(case["aftersale_id"])}
    assert all(r["sign_ok"] for r in receiver.requests)


def test_reordering_shuffles_within_a_window_and_loses_nothing(ctl, receiver):
    _point_at(ctl, receiver)
    ctl.post("faults", {"push_paused": True})
    created = [new_case(ctl)["aftersale_id"] for _ in range(6)]
    ctl.post("faults", {"push_reorder_window": 6, "push_paused": False})
    assert receiver.wait_for(lambda r: len(r.messages()) == 6)
    arrived = [str(m["data"]["aftersale_id"]) for m in receiver.messages()]
    assert sorted(arrived) == sorted(created)
    assert arrived != created  # seed 7 shuffles this window


def test_batching_puts_several_messages_in_one_post(ctl, receiver):
    _point_at(ctl, receiver)
    ctl.post("faults", {"push_paused": True})
    for _ in range(3):
        new_case(ctl)
    ctl.post("faults", {"push_batch_size": 10, "push_paused": False})
    assert receiver.wait_for(lambda r: len(r.messages()) == 3)
    assert len(receiver.requests) == 1 and receiver.requests[0]["sign_ok"]


def test_pushes_wait_for_a_push_url_and_nothing_is_lost(ctl, receiver):
    case = new_case(ctl)  # the shop has no push URL yet
    assert [p["status"] for p in ctl.get("pushes")] == ["pending"]
    _point_at(ctl, receiver)
    receiver.wait_tags(["200"], case["aftersale_id"])


def test_a_delivery_that_keeps_failing_goes_dead_and_can_be_retried(ctl, receiver):
    ctl.post("faults", {"push_max_attempts": 2})
    _point_at(ctl, receiver)
    receiver.script.extend([(503, ""), (503, "")])
    case = new_case(ctl)
    dead = wait_until(lambda: ctl.get("pushes", status="dead"))
    assert dead[0]["last_error"] == "HTTP 503" and dead[0]["attempts"] == 2
    assert ctl.post("pushes/retry")["requeued"] == 1
    receiver.wait_tags(["200"], case["aftersale_id"])


def test_a_delay_holds_new_messages(ctl, receiver):
    _point_at(ctl, receiver)
    ctl.post("faults", {"push_delay": 30})
    new_case(ctl)
    entry = ctl.get("pushes")[0]
    assert entry["next_at"] - entry["created"] == 30
    assert receiver.requests == []
