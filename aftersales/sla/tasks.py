"""The retired per-clock timer task.

Clocks no longer queue task rows: `sweep` fires them from the clock table (issue 16). The
task stays importable for the rows an older process may still queue during a deploy (the
migration `0006_delete_queued_clock_timers` removed those queued before it); running one is
harmless, since every firing claims its clock with a conditional update.
"""

from __future__ import annotations

from django_tasks import task

from .services import fire_breach, fire_warning


@task()
def check_clock(clock_id: int) -> str:
    """Fire what is due for one clock. Early, late or repeated runs are harmless."""
    warned = fire_warning(clock_id)
    breached = fire_breach(clock_id)
    return f"warned={warned} breached={breached}"
