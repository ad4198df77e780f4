from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from aftersales.core.periodic import run_every
from aftersales.incidents.services import detect_surges


class Command(BaseCommand):
    help = (
        "Propose an incident for every product, reason or carrier whose cases of the last "
        "24 hours are far above their normal rate (incidents/surges.py). Once, or every N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        def once() -> None:
            proposed = detect_surges()
            if proposed or not every:
                self.stdout.write(f"incidents: {len(proposed)} proposed")

        run_every(every, once)
