"""The SLA state a case carries for the queue: its next deadline, at risk, breached (issue 16).

The queue orders and counts hundreds of thousands of cases; joining each to its clocks on
every page view made it cost what all the open cases cost. So the case row carries what the
queue needs, kept here in the same transaction as every change of its running merchant clocks
(`services.py` calls `refresh_case_deadline` wherever a clock starts, stops, pauses, resumes,
is extended or tightened, and where a warning or a breach fires):

- `next_due_at`: the nearest due time among the running merchant clocks (the buyer's own
  clock is the buyer's time, not work for the team: `workbench/queue.py`);
- `sla_breached`: one of them has its breach recorded;
- `sla_at_risk`: one of them was in its warning window (at-risk moment passed, not yet due)
  when the fields were kept, at `now`; it stays so until `sla_recheck_at`, the next at-risk
  moment or due time of a running merchant clock after `now`.

At risk turns on and off with time passing, not with a write. The firing of the warning (at
the at-risk moment) and of the breach (at the due time) keep the fields again, but a worker
may be late or down, so the queue never trusts the flag past `sla_recheck_at`: for those few
rows it asks the clocks (`at_risk_q`). The answer is therefore exact at any moment, and costs
a clock lookup only for the cases whose state changed since the last firing. Breached needs
no such care: `next_due_at <= now` says it by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import (
    DateTimeField,
    Exists,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.utils import timezone

from aftersales.cases.models import Case

from .models import ClockState, SlaClock


def running_merchant_clocks() -> QuerySet[SlaClock]:
    """The running clocks that are the team's work, of the case `OuterRef("pk")`."""
    return SlaClock.objects.filter(
        case_id=OuterRef("pk"), state=ClockState.RUNNING, is_buyer_clock=False
    )


def _first(clocks: QuerySet[SlaClock], value: Any) -> Subquery:
    return Subquery(
        clocks.order_by().values("case_id").annotate(first=Min(value)).values("first"),
        output_field=DateTimeField(),
    )


def deadline_values(now: datetime) -> dict[str, Any]:
    """The carried fields as expressions over a case queryset, as of `now`."""
    clocks = running_merchant_clocks()
    return {
        "next_due_at": _first(clocks, "due_at"),
        "sla_breached": Exists(clocks.filter(breached_at__isnull=False)),
        "sla_at_risk": Exists(clocks.filter(at_risk_at__lte=now, due_at__gt=now)),
        # Each clock's next moment of change after `now`: its at-risk moment, else its due
        # time; none once it is due.
        "sla_recheck_at": _first(
            clocks,
            CaseWhen(
                When(at_risk_at__gt=now, then="at_risk_at"),
                When(due_at__gt=now, then="due_at"),
                output_field=DateTimeField(),
            ),
        ),
    }


def refresh_case_deadline(case: Case | int, now: datetime | None = None) -> None:
    """Keep the case's carried SLA fields: one UPDATE, in the caller's transaction.

    `now` is when the state is judged; it must not lie ahead of the moments the queue will be
    read at (a judgement from the past is always safe: the queue asks the clocks for what
    changed since). A `Case` object given is not reloaded: nothing saves these fields from
    memory (every save of a case names its fields)."""
    refresh_case_deadlines([case.pk if isinstance(case, Case) else case], now)


def refresh_case_deadlines(case_ids: Iterable[int], now: datetime | None = None) -> int:
    """`refresh_case_deadline` for many cases in one statement. Returns how many."""
    now = min(now, timezone.now()) if now is not None else timezone.now()
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    return Case.objects.filter(pk__in=ids).update(**deadline_values(now))


# --- Reading them (the queue's and the API's filters) -----------------------------------------


def at_risk_q(now: datetime) -> Q:
    """Cases with a running merchant clock past its at-risk moment and not yet due, at `now`:
    the carried flag while it holds, the clocks themselves for a case whose state may have
    changed since it was kept."""
    window = running_merchant_clocks().filter(at_risk_at__lte=now, due_at__gt=now)
    return Q(sla_at_risk=True, sla_recheck_at__gt=now) | Q(sla_recheck_at__lte=now) & Q(
        Exists(window)
    )


def breached_q(now: datetime) -> Q:
    """Cases with a running merchant clock past its due time, or whose breach is recorded."""
    return Q(next_due_at__lte=now) | Q(sla_breached=True)
