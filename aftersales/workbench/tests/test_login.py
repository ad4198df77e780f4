"""Logging in and out, and the lockout after repeated failures (5 per username and address in
15 minutes lock that pair for 15 minutes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftersales.workbench.models import LoginAttempt

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed attempts"


@pytest.fixture(autouse=True)
def english(client):
    """The messages are checked in English, whatever catalogue is compiled."""
    client.cookies["django_language"] = "en"


def attempt(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_it_logs_in_and_goes_to_the_queue(client, alice):
    response = attempt(client, "alice", "pw-alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in(client)


def test_it_follows_next_after_login(client, alice):
    response = client.post(
        "/login/?next=/cases/7/", {"username": "alice", "password": "pw-alice", "next": "/cases/7/"}
    )
    assert response["Location"] == "/cases/7/"


def test_it_refuses_a_wrong_password_and_records_the_failure(client, alice):
    response = attempt(client, "alice", "wrong")
    assert response.status_code == 200
    assert not logged_in(client)
    assert LoginAttempt.objects.filter(username="alice", succeeded=False).count() == 1


def test_it_logs_out_with_a_post_only(client, alice):
    client.force_login(alice)
    assert client.get("/logout/").status_code == 405
    assert logged_in(client)
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert not logged_in(client)


def test_five_failures_lock_the_user_even_with_the_right_password(client, alice):
    for _ in range(5):
        assert LOCKED not in attempt(client, "alice", "wrong").content.decode()
    response = attempt(client, "alice", "pw-alice")
    assert LOCKED in response.content.decode()
    assert "15" in response.content.decode()  # minutes left
    assert not logged_in(client)


def test_the_lock_ends_after_15_minutes(client, alice):
    for _ in range(5):
        attempt(client, "alice", "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        assert LOCKED in attempt(client, "alice", "pw-alice").content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=5)):
        assert attempt(client, "alice", "pw-alice").status_code == 302
        assert logged_in(client)


def test_attempts_during_the_lock_do_not_extend_it_nor_reach_the_password_check(client, alice):
    for _ in range(5):
        attempt(client, "alice", "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        for _ in range(3):
            attempt(client, "alice", "wrong")
    assert LoginAttempt.objects.filter(username="alice").count() == 5
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=5)):
        assert attempt(client, "alice", "pw-alice").status_code == 302


def test_the_lock_is_per_address(client, alice):
    for _ in range(5):
        attempt(client, "alice", "wrong", ip="10.0.0.1")
    assert attempt(client, "alice", "pw-alice", ip="10.0.0.2").status_code == 302


def test_the_lock_is_per_username_whatever_its_case(client, alice, shop_a):
    from aftersales import testing

    testing.make_user("bob", shop_a)
    for _ in range(5):
        attempt(client, "ALICE", "wrong")
    assert LOCKED in attempt(client, "alice", "pw-alice").content.decode()
    assert attempt(client, "bob", "pw-bob").status_code == 302


def test_a_success_clears_the_count(client, alice):
    for _ in range(4):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", "pw-alice").status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", "pw-alice").status_code == 302


def test_failures_spread_over_more_than_15_minutes_do_not_lock(client, alice):
    start = timezone.now()
    for minute in (0, 4, 8, 12, 16):
        with time_machine.travel(start + timedelta(minutes=minute)):
            attempt(client, "alice", "wrong")
    with time_machine.travel(start + timedelta(minutes=16, seconds=30)):
        assert attempt(client, "alice", "pw-alice").status_code == 302


def test_an_unknown_username_is_locked_out_the_same_way(client, db):
    for _ in range(5):
        attempt(client, "nobody", "guess")
    assert LOCKED in attempt(client, "nobody", "guess").content.decode()


def test_old_attempts_are_pruned(client, alice):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        attempt(client, "alice", "wrong")
    attempt(client, "alice", "wrong")
    assert LoginAttempt.objects.count() == 1
