from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from aftersales.alerts.services import send_due_alerts
from aftersales.core.periodic import run_every


class Command(BaseCommand):
    help = (
        "Raise an alert for every SLA breach that has none yet and send every alert whose "
        "wait is over to the shops' group robots. Once, or every N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        def once() -> None:
            raised, tried = send_due_alerts()
            if raised or tried or not every:
                self.stdout.write(f"alerts: {raised} raised, {tried} deliveries tried")

        run_every(every, once)
