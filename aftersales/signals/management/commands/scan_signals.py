from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from aftersales.core.periodic import run_every
from aftersales.signals.services import scan


class Command(BaseCommand):
    help = (
        "Find return tracking numbers that never moved and compare photos not yet hashed "
        "(abuse signals). Once, or every N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        def once() -> None:
            raised, cases = scan()
            if raised or not every:
                self.stdout.write(f"signals: {raised} raised, photos of {cases} cases compared")

        run_every(every, once)
