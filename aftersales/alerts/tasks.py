"""Background work of the alerts: one try of one delivery, run by the Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from .services import deliver


@task()
def deliver_alert_task(delivery_id: int) -> str:
    """Send one alert to one robot. Early, late or repeated runs are harmless: `deliver`
    claims the try first."""
    return deliver(delivery_id)
