from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from aftersales.core.periodic import run_every
from aftersales.platforms.kuaidi100.services import apply_pending_pushes, send_due_subscriptions


class Command(BaseCommand):
    help = (
        "Apply the tracking pushes a failure left stored but unapplied, and send every "
        "parcel subscription whose wait is over to the tracking aggregator. Once, or every "
        "N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        def once() -> None:
            applied = apply_pending_pushes()
            tried = send_due_subscriptions()
            if applied or tried or not every:
                self.stdout.write(
                    f"kuaidi100: {applied} pushes applied, {tried} subscriptions tried"
                )

        run_every(every, once)
