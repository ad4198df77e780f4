"""Running the SLA clocks: start, stop, pause, resume, extend, warn and escalate (R2).

`on_case_event` is called by the case services in the same transaction as the event, so a
clock never disagrees with the case. Warnings and breaches fire from the clock table itself:
`sweep` (run every few seconds by `aftersales sweep`) finds what is due with one indexed
statement, and a conditional update makes each fire exactly once, however many sweepers run.
No task row is queued per clock (issue 16: the deferred rows slowed every task claim).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange
from aftersales.cases.services import close_case
from aftersales.cases.transitions import record_case_event
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, DomainError, InvalidInput
from aftersales.core.limits import MESSAGE_MAX_LENGTH, REASON_MAX_LENGTH, check_length
from aftersales.policy import deadlines
from aftersales.policy.document import Policy
from aftersales.policy.services import policy_for
from aftersales.shops.choices import Role
from aftersales.shops.models import Membership

from .deadlines import refresh_case_deadline
from .models import ClockState, DeadlineExtension, Notification, SlaClock
from .outcomes import count_stopped_clocks
from .rules import (
    CLOCK_EVENTS,
    CLOCK_RULES,
    CLOCK_START_STATUSES,
    FIXED_CLOCKS,
    OUTLIVES_CASE,
    TERMINAL_EVENTS,
)

logger = logging.getLogger(__name__)

# What the buyer reads when the return deadline passed and the policy reminds rather than
# closes (`buyer_return_expiry_action = "remind"`).
# The least time a tightened deadline leaves from the moment it is tightened (R12.1).
TIGHTEN_FLOOR = timedelta(hours=1)

BUYER_RETURN_REMINDER = "您的退货寄回期限已到，请尽快寄回商品并填写退货物流单号，以免影响售后处理。"


def apply_case_event(change: CaseChange) -> None:
    """The SLA reaction to a case event (`settings.AFTERSALES_CASE_REACTIONS`): start, stop,
    pause and resume the case's clocks by the table in `rules.py`, in the event's transaction.

    `change.at` is when the event happened; opening a case passes the buyer's application
    time, because the platform's clock starts when the buyer applies, not when we hear of it.
    """
    case, event_type = change.case, change.event
    if event_type not in CLOCK_EVENTS and not (
        change.status_changed and case.status in CLOCK_START_STATUSES
    ):
        return  # no clock cares: not even the query for the live ones
    now = change.at or timezone.now()
    policy: Policy | None = None  # read once, and only if a clock starts
    facts: _CaseDeadlineFacts | None = None  # the same for every clock this event starts
    # A case that has just been opened has no clocks yet: nothing to read.
    live = (
        {}
        if change.event == CaseEvent.CASE_OPENED
        else {
            c.kind: c for c in SlaClock.objects.filter(case=case).exclude(state=ClockState.STOPPED)
        }
    )
    if event_type in TERMINAL_EVENTS:
        _stop_all([c for c in live.values() if c.kind not in OUTLIVES_CASE], now)
        if live:
            refresh_case_deadline(case)
        return
    stopping: list[SlaClock] = []  # stopped together: one UPDATE (issue 16)
    starting: list[SlaClock] = []  # started together: one INSERT
    for rule in CLOCK_RULES.values():
        clock = live.get(rule.kind)
        if clock is not None and event_type in rule.stop_events:
            stopping.append(clock)
            clock = None
        elif clock is not None and event_type in rule.pause_events:
            if clock.state == ClockState.RUNNING:
                _pause(clock, now)
        elif (
            clock is not None
            and event_type in rule.resume_events
            and clock.state == ClockState.PAUSED
        ):
            _resume(clock, now)
        entered = change.status_changed and case.status in rule.start_statuses
        if clock is None and (event_type in rule.start_events or entered):
            policy = policy or policy_for(case.shop_id, now)
            facts = facts or _CaseDeadlineFacts(
                case, policy, just_opened=event_type == CaseEvent.CASE_OPENED
            )
            starting.append(_new_clock(case, rule.kind, now, policy, facts))
    _stop_all(stopping, now)
    if starting:
        SlaClock.objects.bulk_create(starting)
    if live or policy is not None:
        refresh_case_deadline(case)  # what the queue reads (sla/deadlines.py)


def clock_duration(
    case: Case,
    kind: str,
    policy: Policy,
    start: datetime,
    facts: _CaseDeadlineFacts | None = None,
) -> tuple[datetime, bool]:
    """When a clock started at `start` for this case is due, and whether it is the buyer's:
    the policy's deadline (`policy/deadlines.py`) for the case's facts (`facts`: those the
    event's other clocks already read)."""
    facts = facts or _CaseDeadlineFacts(case, policy)
    due_at = deadlines.due_at(kind, start, facts, policy)
    return due_at, CLOCK_RULES[kind].buyer_clock


class _CaseDeadlineFacts:
    """What a stored case's deadlines depend on, each read only when a clock needs it, and
    once for all the clocks of one event.

    `just_opened`: the event is the case's opening, in this transaction, so the policy has
    not decided it yet and nothing was added to it: its decision is evaluated from the case
    as opened (`policy.services.evaluate_new_case`), and the triage that follows reuses it."""

    def __init__(self, case: Case, policy: Policy, *, just_opened: bool = False) -> None:
        self.case = case
        self.policy = policy
        self.just_opened = just_opened

    @cached_property
    def vip(self) -> bool:
        return self.case.order.buyer.vip_level > 0

    @cached_property
    def categories(self) -> frozenset[str]:
        items = self.case.items.values_list("order_item__sku__product__category", flat=True)
        return frozenset(items)

    @cached_property
    def is_complex(self) -> bool:
        """The complexity of the policy's latest decision on the case, or of a new one."""
        from aftersales.policy.services import evaluate_new_case, latest_decision

        if self.just_opened:
            return evaluate_new_case(self.case, self.policy).complexity == "complex"
        decision = latest_decision(self.case)
        if decision is not None:
            return decision.complexity == "complex"
        from aftersales.policy.engine import decide
        from aftersales.policy.facts import facts_for_case

        return decide(facts_for_case(self.case), self.policy).complexity == "complex"


def _new_clock(
    case: Case,
    kind: str,
    now: datetime,
    policy: Policy,
    facts: _CaseDeadlineFacts | None = None,
) -> SlaClock:
    """A running clock of the case, not saved yet (the event's clocks are inserted together)."""
    due_at, buyer_clock = clock_duration(case, kind, policy, now, facts)
    warn_before = (due_at - now) * policy.sla["at_risk_fraction"]
    return SlaClock(
        shop_id=case.shop_id,
        case=case,
        kind=kind,
        started_at=now,
        due_at=due_at,
        at_risk_at=due_at - warn_before,
        is_buyer_clock=buyer_clock,
        policy_version=policy.version,
    )


def start_clock_until(
    case: Case, kind: str, due_at: datetime, *, now: datetime | None = None
) -> SlaClock:
    """Start (or move) one of the platform's own clocks (`rules.FIXED_CLOCKS`): its due time
    is the platform's, not the policy's; it warns and escalates like every other clock. In
    the caller's transaction; a live clock of the kind gets the new due time."""
    if kind not in FIXED_CLOCKS:
        raise ValueError(f"{kind} is not a clock with a given due time")
    now = now or timezone.now()
    policy = policy_for(case.shop_id, now)
    warn_before = max(due_at - now, timedelta(0)) * policy.sla["at_risk_fraction"]
    clock = SlaClock.objects.filter(case=case, kind=kind).exclude(state=ClockState.STOPPED).first()
    if clock is not None:
        if clock.due_at == due_at:
            return clock
        clock.due_at, clock.at_risk_at = due_at, due_at - warn_before
        clock.at_risk_notified_at = clock.breached_at = None
        clock.save(update_fields=["due_at", "at_risk_at", "at_risk_notified_at", "breached_at"])
    else:
        clock = SlaClock.objects.create(
            shop_id=case.shop_id,
            case=case,
            kind=kind,
            started_at=now,
            due_at=due_at,
            at_risk_at=due_at - warn_before,
            policy_version=policy.version,
        )
    refresh_case_deadline(case)
    return clock


def stop_clock(case: Case, kind: str, *, now: datetime | None = None) -> None:
    """Stop the case's live clock of this kind, if any (in the caller's transaction)."""
    for clock in SlaClock.objects.filter(case=case, kind=kind).exclude(state=ClockState.STOPPED):
        _stop(clock, now or timezone.now())
        refresh_case_deadline(case)


def _stop(clock: SlaClock, now: datetime) -> None:
    _stop_all([clock], now)


def _stop_all(clocks: Sequence[SlaClock], now: datetime) -> None:
    """Stop these clocks with one UPDATE (none for none)."""
    if not clocks:
        return
    for clock in clocks:
        clock.state = ClockState.STOPPED
        clock.stopped_at = now
    SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(
        state=ClockState.STOPPED, stopped_at=now
    )
    count_stopped_clocks(clocks)  # the reports' daily outcomes (outcomes.py)


def _pause(clock: SlaClock, now: datetime) -> None:
    clock.state = ClockState.PAUSED
    clock.paused_at = now
    clock.remaining_at_pause = clock.due_at - now
    clock.save(update_fields=["state", "paused_at", "remaining_at_pause"])


def _resume(clock: SlaClock, now: datetime) -> None:
    """Continue with the time that was left: both the deadline and the warning move by
    exactly the length of the pause."""
    assert clock.paused_at is not None
    paused_for = now - clock.paused_at
    clock.state = ClockState.RUNNING
    clock.due_at += paused_for
    clock.at_risk_at += paused_for
    clock.paused_at = None
    clock.remaining_at_pause = None
    clock.save(update_fields=["state", "due_at", "at_risk_at", "paused_at", "remaining_at_pause"])


def time_left(clock: SlaClock, now: datetime | None = None) -> timedelta | None:
    """Time until the deadline (negative once breached); frozen while paused; None if stopped."""
    now = now or timezone.now()
    if clock.state == ClockState.STOPPED:
        return None
    if clock.state == ClockState.PAUSED:
        return clock.remaining_at_pause
    return clock.due_at - now


def is_at_risk(clock: SlaClock, now: datetime | None = None) -> bool:
    """Whether the warning window has begun; while paused, judged by the time that was left
    (the stored at-risk moment is frozen with the deadline and moves on resume)."""
    now = now or timezone.now()
    if clock.state == ClockState.STOPPED:
        return False
    if clock.state == ClockState.PAUSED:
        assert clock.remaining_at_pause is not None
        return clock.remaining_at_pause <= clock.due_at - clock.at_risk_at
    return clock.at_risk_at <= now


@transaction.atomic
def extend_deadline(
    *, clock: SlaClock, hours: int, reason: str, message_to_buyer: str, by: Actor
) -> SlaClock:
    """Move a deadline, only with a reason and a message to the buyer, before it passes (R2.6)."""
    check_length(
        reason=(reason, REASON_MAX_LENGTH), message_to_buyer=(message_to_buyer, MESSAGE_MAX_LENGTH)
    )
    clock = SlaClock.objects.select_for_update().get(pk=clock.pk)
    if not reason.strip() or not message_to_buyer.strip():
        raise InvalidInput(_("An extension needs a reason and a message to the buyer."))
    if not 0 < hours <= 24 * 15:
        raise InvalidInput(_("Extend by between 1 hour and 15 days."))
    if clock.state == ClockState.STOPPED:
        raise Conflict(_("This deadline is no longer running."))
    # A paused clock's stored due time is frozen and may lie in the past; what is left is
    # `remaining_at_pause`.
    if clock.state == ClockState.PAUSED:
        passed = clock.remaining_at_pause is None or clock.remaining_at_pause <= timedelta(0)
    else:
        passed = clock.due_at <= timezone.now()
    if clock.breached_at is not None or passed:
        raise Conflict(_("The deadline has passed; it must be extended before it passes."))
    DeadlineExtension.objects.create(
        clock=clock,
        hours=hours,
        reason=reason,
        message_to_buyer=message_to_buyer,
        extended_by=by.label,
        extended_at=timezone.now(),
    )
    before = clock.due_at
    clock.due_at += timedelta(hours=hours)
    clock.at_risk_at += timedelta(hours=hours)
    if clock.remaining_at_pause is not None:
        clock.remaining_at_pause += timedelta(hours=hours)
    if clock.at_risk_notified_at is not None and clock.at_risk_at > timezone.now():
        # The warning was for the old deadline; the assignee is warned again before the new one.
        clock.at_risk_notified_at = None
    clock.save(update_fields=["due_at", "at_risk_at", "remaining_at_pause", "at_risk_notified_at"])
    refresh_case_deadline(clock.case_id)
    # The message goes to the buyer through the case's platform (its reaction to the event).
    record_case_event(
        clock.case,
        event=CaseEvent.DEADLINE_EXTENDED,
        by=by,
        before={"due_at": before.isoformat()},
        after={"due_at": clock.due_at.isoformat()},
        payload={
            "clock": clock.kind,
            "hours": hours,
            "reason": reason,
            "message": message_to_buyer,
        },
    )
    return clock


def tighten_clocks(*, case: Case, within: timedelta, now: datetime | None = None) -> list[SlaClock]:
    """Bring the merchant's running deadlines of a case in to at most `within` from their
    start, never closer than `TIGHTEN_FLOOR` from now (R12.1: an incident's cases are worked
    faster). The buyer's own deadlines are the platform's and stay. Pauses keep their time
    left, shortened the same way. The caller records why (its audit event); returns the
    clocks that moved. Call inside the caller's transaction."""
    now = now or timezone.now()
    moved = []
    for clock in (
        SlaClock.objects.select_for_update()
        .filter(case=case, is_buyer_clock=False, breached_at__isnull=True)
        .exclude(state=ClockState.STOPPED)
    ):
        if clock.state == ClockState.PAUSED:
            assert clock.remaining_at_pause is not None
            if clock.remaining_at_pause > within:
                clock.remaining_at_pause = within
                clock.save(update_fields=["remaining_at_pause"])
                moved.append(clock)
            continue
        target = max(clock.started_at + within, now + TIGHTEN_FLOOR)
        if target >= clock.due_at:
            continue
        span = clock.due_at - clock.started_at
        fraction = (clock.due_at - clock.at_risk_at) / span if span else 0
        clock.due_at = target
        clock.at_risk_at = max(now, target - (target - clock.started_at) * fraction)
        clock.save(update_fields=["due_at", "at_risk_at"])
        moved.append(clock)
    if moved:
        refresh_case_deadline(case)
    return moved


# --- Firing warnings and breaches --------------------------------------------------------------


WARNING, BREACH = "warning", "breach"

# The most clocks one `sweep` call fires: a backlog (a sweeper that was down for a day) is
# worked off in rounds of `limit`, oldest first, and whatever is left goes to the next call.
SWEEP_MAX_ROUNDS = 100

# What is due: the clocks at risk and not warned yet, and the clocks due and not breached
# yet, each read through its partial index (`sla_clock_due_warning`, `sla_clock_due_breach`)
# in time order and cut at the limit, so the cost is that of the due clocks and never of the
# pending ones. Plain SQL, because building the two ORM queries cost several times the
# queries themselves; `state = 'running'` is a literal so that PostgreSQL matches the
# partial indexes' condition whatever the parameter binding. The two lists are merged here:
# one `UNION ALL` with an outer ORDER BY made SQLite sort both again in temporary B-trees.
# The times are read as text, only to be compared: parsing a datetime per row was most of
# the cost of these reads (Django's timestamptz loader on PostgreSQL, ~7 µs a row). The text
# orders as the times do — SQLite's stored UTC text; PostgreSQL's ISO output in the
# connection's UTC, which Django sets — and each list is of one database's text.
_DUE_WARNINGS_SQL = (
    "SELECT id, CAST(at_risk_at AS TEXT) FROM {table} WHERE state = '{running}'"
    " AND at_risk_notified_at IS NULL AND at_risk_at <= %s ORDER BY at_risk_at LIMIT %s"
)
_DUE_BREACHES_SQL = (
    "SELECT id, CAST(due_at AS TEXT) FROM {table} WHERE state = '{running}'"
    " AND breached_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s"
)


@functools.cache
def _due_statements() -> tuple[str, str]:
    names = {
        "table": connection.ops.quote_name(SlaClock._meta.db_table),
        "running": ClockState.RUNNING.value,
    }
    return _DUE_WARNINGS_SQL.format(**names), _DUE_BREACHES_SQL.format(**names)


def due_firings(now: datetime, limit: int = 500) -> list[tuple[int, str]]:
    """The warnings and breaches due at `now`, the longest-waiting first: (clock id, WARNING or
    BREACH), at most `limit`. A clock past its deadline and never warned comes twice, its
    warning first (which `fire_warning` marks handled without sending: the breach says it)."""
    warnings_sql, breaches_sql = _due_statements()
    # The value the ORM would bind for a DateTimeField (UTC text on SQLite).
    at = SlaClock._meta.get_field("due_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(warnings_sql, [at, limit])
        due = [(fire_at, clock_id, 0) for clock_id, fire_at in cursor.fetchall()]
        cursor.execute(breaches_sql, [at, limit])
        due += [(fire_at, clock_id, 1) for clock_id, fire_at in cursor.fetchall()]
    # Oldest first across the two lists; a clock's warning (0) before its breach (1) when
    # both fall at the same moment.
    due.sort()
    return [(clock_id, BREACH if kind else WARNING) for _at, clock_id, kind in due[:limit]]


def sweep(now: datetime | None = None, *, limit: int = 500) -> tuple[int, int]:
    """Fire every warning and breach that is due, oldest first. Safe to run anywhere, any
    number of times at once: each firing claims its clock with a conditional update.

    Returns (warned, breached). A full round is followed by another at once, so a backlog
    does not wait for the next tick (at most `SWEEP_MAX_ROUNDS` rounds a call)."""
    now = now or timezone.now()
    warned = breached = 0
    for _round in range(SWEEP_MAX_ROUNDS):
        due = due_firings(now, limit)
        for clock_id, firing in due:
            if firing == WARNING:
                warned += fire_warning(clock_id, now)
            else:
                breached += fire_breach(clock_id, now)
        if len(due) < limit:
            break
    return warned, breached


@transaction.atomic
def fire_warning(clock_id: int, now: datetime | None = None) -> int:
    """Warn the assignee (or the supervisors if nobody is assigned) once. Returns 1 if fired.

    A warning is for time still left: one found only after the deadline (a worker that was
    down, the first sweep after a start) is not sent, the breach says it. It is marked
    handled all the same, so nothing asks again."""
    now = now or timezone.now()
    claimed = SlaClock.objects.filter(
        pk=clock_id,
        state=ClockState.RUNNING,
        at_risk_notified_at__isnull=True,
        at_risk_at__lte=now,
    ).update(at_risk_notified_at=now)
    if claimed != 1:
        return 0  # not due, or another worker got there first
    clock = SlaClock.objects.select_related("case").get(pk=clock_id)
    refresh_case_deadline(clock.case_id, now)  # its at-risk moment has come (deadlines.py)
    if clock.due_at <= now:
        return 0  # too late to warn: the breach covers it
    recipients = [clock.case.assignee_id] if clock.case.assignee_id else _supervisors(clock)
    _notify(clock, Notification.Kind.AT_RISK, recipients, now)
    record_event(
        shop_id=clock.shop_id,
        case_id=clock.case_id,
        type=CaseEvent.SLA_AT_RISK,
        by=Actor.system("sla"),
        payload={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
    )
    return 1


@transaction.atomic
def fire_breach(clock_id: int, now: datetime | None = None) -> int:
    """Escalate a breach to the supervisors once, mark the case; the buyer's own expiry acts
    on the case as the policy says. Returns 1 if fired."""
    now = now or timezone.now()
    claimed = SlaClock.objects.filter(
        pk=clock_id, state=ClockState.RUNNING, breached_at__isnull=True, due_at__lte=now
    ).update(breached_at=now)
    if claimed != 1:
        return 0
    clock = SlaClock.objects.select_related("case").get(pk=clock_id)
    case = clock.case
    refresh_case_deadline(case, now)  # its breach is recorded (deadlines.py)
    if clock.is_buyer_clock:
        record_event(
            shop_id=clock.shop_id,
            case_id=case.pk,
            type=CaseEvent.BUYER_DEADLINE_EXPIRED,
            by=Actor.system("sla"),
            payload={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
        )
        transaction.on_commit(lambda: _act_on_buyer_expiry(case.pk, clock.policy_version))
        return 1
    _notify(clock, Notification.Kind.BREACHED, _supervisors(clock), now)
    record_event(
        shop_id=clock.shop_id,
        case_id=case.pk,
        type=CaseEvent.SLA_BREACHED,
        by=Actor.system("sla"),
        payload={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
    )
    logger.warning(
        "SLA breached: case %s clock %s due %s",
        case.pk,
        clock.kind,
        timezone.localtime(clock.due_at).isoformat(timespec="seconds"),
    )
    return 1


def _act_on_buyer_expiry(case_id: int, policy_version: str) -> None:
    """The buyer did not ship the return in time: close the case or remind, per policy."""
    case = Case.objects.get(pk=case_id)
    action = policy_for(case.shop_id).sla["buyer_return_expiry_action"]
    by = Actor.system(f"sla:{policy_version}")
    if action == "close":
        try:
            close_case(
                case=case,
                note="买家未在规定时间内寄回商品，售后关闭 / return not shipped in time",
                by=by,
            )
        except DomainError:
            logger.info("case %s changed before the buyer's expiry could close it", case_id)
    else:
        with transaction.atomic():
            # Told to the buyer through the case's platform (its reaction to the event), in
            # Chinese like every text the buyer reads.
            record_case_event(
                Case.objects.select_for_update().get(pk=case_id),
                event=CaseEvent.BUYER_REMINDED,
                by=by,
                payload={"message": BUYER_RETURN_REMINDER},
            )


# --- The people's inbox --------------------------------------------------------------------


def notifications_for(actor: Actor) -> QuerySet[Notification]:
    """The actor's own warnings and escalations, in the shops they still belong to."""
    if actor.user_id is None:
        return Notification.objects.none()
    return Notification.objects.filter(
        recipient_id=actor.user_id, shop_id__in=list(actor.shop_roles)
    )


@transaction.atomic
def mark_notifications_read(
    *, by: Actor, ids: Sequence[int] | None = None, case_id: int | None = None
) -> int:
    """Mark the actor's unread notifications (all, those of `ids`, or all of one case) read.
    Returns how many.

    Reading one's own reminders changes no case, so no audit event is written."""
    unread = notifications_for(by).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    if case_id is not None:
        unread = unread.filter(case_id=case_id)
    return unread.update(read_at=timezone.now())


@dataclass(frozen=True)
class ReminderGroup:
    """A case's reminders for one person, as the inbox shows them: one row per case."""

    case: Case
    shop_name: str
    latest: Notification  # the newest, which the row opens
    count: int
    unread: int
    breached: int
    at_risk: int
    clock_kinds: list[str]  # the deadlines they are about, in the order they fired


@dataclass(frozen=True)
class ReminderCount:
    """How many reminders one shop has for a person, by kind (the inbox's summary)."""

    shop_id: int
    shop_name: str
    unread: int
    breached: int
    at_risk: int


def reminder_groups(
    actor: Actor, *, shop_id: int | None = None, kind: str | None = None, limit: int = 100
) -> list[ReminderGroup]:
    """The actor's reminders grouped by case, the case with the newest reminder first.

    A busy supervisor gets a breach per clock per case; grouping keeps the inbox to one row
    a case. Three queries whatever the number of reminders."""
    notifications = notifications_for(actor)
    if shop_id is not None:
        notifications = notifications.filter(shop_id=shop_id)
    if kind is not None:
        notifications = notifications.filter(kind=kind)
    rows = list(
        notifications.values("case_id")
        .annotate(
            newest=Max("created_at"),
            latest_pk=Max("pk"),
            count=Count("pk"),
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            breached=Count("pk", filter=Q(kind=Notification.Kind.BREACHED)),
            at_risk=Count("pk", filter=Q(kind=Notification.Kind.AT_RISK)),
        )
        .order_by("-newest", "-latest_pk")[:limit]
    )
    case_ids = [row["case_id"] for row in rows]
    members = list(
        notifications.filter(case_id__in=case_ids)
        .select_related("case", "case__order", "clock", "shop")
        .order_by("created_at", "pk")
    )
    latest: dict[int, Notification] = {}
    kinds: dict[int, list[str]] = {}
    for notification in members:
        latest[notification.case_id] = notification
        seen = kinds.setdefault(notification.case_id, [])
        if notification.clock.kind not in seen:
            seen.append(notification.clock.kind)
    return [
        ReminderGroup(
            case=latest[row["case_id"]].case,
            shop_name=latest[row["case_id"]].shop.name,
            latest=latest[row["case_id"]],
            count=row["count"],
            unread=row["unread"],
            breached=row["breached"],
            at_risk=row["at_risk"],
            clock_kinds=kinds[row["case_id"]],
        )
        for row in rows
    ]


def reminder_counts(actor: Actor) -> list[ReminderCount]:
    """The actor's reminders per shop and kind, for the inbox's summary and filters."""
    rows = (
        notifications_for(actor)
        .values("shop_id", "shop__name")
        .annotate(
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            breached=Count("pk", filter=Q(kind=Notification.Kind.BREACHED)),
            at_risk=Count("pk", filter=Q(kind=Notification.Kind.AT_RISK)),
        )
        .order_by("shop__name", "shop_id")
    )
    return [
        ReminderCount(
            shop_id=row["shop_id"],
            shop_name=row["shop__name"],
            unread=row["unread"],
            breached=row["breached"],
            at_risk=row["at_risk"],
        )
        for row in rows
    ]


def _supervisors(clock: SlaClock) -> list[int]:
    return list(
        Membership.objects.filter(
            shop_id=clock.shop_id, role__in=[Role.SUPERVISOR, Role.ADMIN]
        ).values_list("user_id", flat=True)
    )


def _notify(clock: SlaClock, kind: str, recipients: Sequence[int | None], now: datetime) -> None:
    Notification.objects.bulk_create(
        [
            Notification(
                shop_id=clock.shop_id,
                recipient_id=user_id,
                case_id=clock.case_id,
                clock=clock,
                kind=kind,
                created_at=now,
            )
            for user_id in recipients
            if user_id is not None
        ],
        ignore_conflicts=True,
    )
