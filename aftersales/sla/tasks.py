"""Timer tasks for the SLA clocks, run by the Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from .services import fire_breach, fire_warning


@task()
def check_clock(clock_id: int) -> str:
    """Fire what is due for one clock. Early, late or repeated runs are harmless."""
    warned = fire_warning(clock_id)
    breached = fire_breach(clock_id)
    return f"warned={warned} breached={breached}"
