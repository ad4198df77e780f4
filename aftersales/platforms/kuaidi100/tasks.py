"""Background work of the tracking aggregator: one try of one subscription call, run by the
Django Tasks worker."""

from __future__ import annotations

from django_tasks import task

from .services import send_subscription


@task()
def send_subscription_task(subscription_id: int) -> str:
    """Ask the aggregator to follow one parcel. Early, late or repeated runs are harmless:
    `send_subscription` claims the try first."""
    return send_subscription(subscription_id)
