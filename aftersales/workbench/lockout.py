"""Refusing logins after repeated failures: 5 failures for one username from one address
within 15 minutes lock that pair out for 15 minutes.

The count lives in the database (`LoginAttempt`), so every web process sees it. Attempts
refused during a lockout are not checked against the password and not recorded: the lock
runs out on time and an attacker cannot stretch it forever, while learning nothing.
A success clears the count. Two processes racing may let one or two extra guesses through
before the lock; the limit is about slowing guessing down, not an exact count.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from .models import LoginAttempt

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
KEEP_FOR = timedelta(days=1)


def normalise(username: str) -> str:
    return username.strip().lower()[:150]


def locked_until(
    username: str, ip_address: str | None, now: datetime | None = None
) -> datetime | None:
    """When the lock on this username and address ends, or None if it may try now."""
    now = now or timezone.now()
    attempts = LoginAttempt.objects.filter(
        username=normalise(username),
        ip_address=ip_address,
        attempted_at__gte=now - WINDOW - LOCK_FOR,
    ).order_by("attempted_at", "pk")
    failures: list[datetime] = []
    for succeeded, at in attempts.values_list("succeeded", "attempted_at"):
        if succeeded:
            failures = []  # a success clears the count
        else:
            failures.append(at)
    until = None
    # Any run of MAX_FAILURES failures within WINDOW locks for LOCK_FOR after the last of them.
    for first, last in zip(failures, failures[MAX_FAILURES - 1 :], strict=False):
        if last - first <= WINDOW:
            until = last + LOCK_FOR
    return until if until is not None and until > now else None


def record_attempt(
    username: str, ip_address: str | None, *, succeeded: bool, now: datetime | None = None
) -> None:
    now = now or timezone.now()
    LoginAttempt.objects.create(
        username=normalise(username), ip_address=ip_address, succeeded=succeeded, attempted_at=now
    )
    if not succeeded:
        # Old rows say nothing about a lock; keep the table small.
        LoginAttempt.objects.filter(attempted_at__lt=now - KEEP_FOR).delete()
        if locked_until(username, ip_address, now) is not None:
            logger.warning("login locked for %r from %s", normalise(username), ip_address)
