"""Refusing logins after repeated failures: 5 failures for one username from one address
within 15 minutes lock that pair out for 15 minutes.

The count lives in the database (`LoginAttempt`), so every web process sees it. Attempts
refused during a lockout are not checked against the password and not recorded: the lock
runs out on time and an attacker cannot stretch it forever, while learning nothing.
A success clears the count.

The check and the count are one step (issue 15: 40 parallel guesses were all checked): an
attempt is first *reserved* — counted as a failure — under a per-(username, address) lock
(a PostgreSQL advisory lock; SQLite serialises writers anyway), and only then is the password
checked, outside the lock; a right password turns its row into a success. Parallel guesses
therefore see each other, and exactly MAX_FAILURES of them reach the password check.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
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
    username: str,
    ip_address: str | None,
    now: datetime | None = None,
    *,
    before_pk: int | None = None,
) -> datetime | None:
    """When the lock on this username and address ends, or None if it may try now
    (`before_pk`: counting only the attempts reserved before that one)."""
    now = now or timezone.now()
    attempts = LoginAttempt.objects.filter(
        username=normalise(username),
        ip_address=ip_address,
        attempted_at__gte=now - WINDOW - LOCK_FOR,
    ).order_by("attempted_at", "pk")
    if before_pk is not None:
        attempts = attempts.filter(pk__lt=before_pk)
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


def reserve_attempt(
    username: str, ip_address: str | None, now: datetime | None = None
) -> tuple[LoginAttempt | None, datetime | None]:
    """Check the lock and count this attempt in one atomic step, before the password is
    checked. Returns (the reserved attempt, None), or (None, when the lock ends) — a refused
    attempt is not recorded. The reserved row is a failure until `attempt_succeeded`."""
    now = now or timezone.now()
    name = normalise(username)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"login:{name}:{ip_address}"]
                )
        until = locked_until(name, ip_address, now)
        if until is not None:
            return None, until
        attempt = LoginAttempt.objects.create(
            username=name, ip_address=ip_address, succeeded=False, attempted_at=now
        )
    return attempt, None


def attempt_succeeded(attempt: LoginAttempt) -> None:
    """The reserved attempt had the right password: a success, which clears the count."""
    LoginAttempt.objects.filter(pk=attempt.pk).update(succeeded=True)


def attempt_failed(attempt: LoginAttempt) -> None:
    """The reserved attempt stays a failure; old rows go, and a new lock is logged."""
    LoginAttempt.objects.filter(attempted_at__lt=attempt.attempted_at - KEEP_FOR).delete()
    if locked_until(attempt.username, attempt.ip_address, attempt.attempted_at) is not None:
        logger.warning("login locked for %r from %s", attempt.username, attempt.ip_address)
