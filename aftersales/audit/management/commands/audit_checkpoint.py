from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from aftersales.audit.anchor import checkpoint_file, write_checkpoints
from aftersales.core.periodic import run_every


class Command(BaseCommand):
    help = (
        "Append every shop's audit chain head to the checkpoint file outside the database "
        "(AUDIT_CHECKPOINT_FILE), for verify_audit to compare with. Once, or every N seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        seen: dict[int, int] = {}

        def checkpoint_once() -> None:
            written = write_checkpoints(unchanged_since=seen)
            if written or not every:
                self.stdout.write(f"audit checkpoints: {written} written to {checkpoint_file()}")

        run_every(every, checkpoint_once)
