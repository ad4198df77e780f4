"""`aftersales minimise_personal_data [--every N] [--dry-run]`: the retention job (R6.2)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from aftersales.core.periodic import run_every
from aftersales.records.retention import configured, minimise_personal_data


class Command(BaseCommand):
    help = (
        "Minimise the buyers' personal data on orders and cases quiet for the retention "
        "period (AFTERSALES_RETENTION); nothing is deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")
        parser.add_argument("--limit", type=int, default=None, help="at most N orders a run")
        parser.add_argument("--dry-run", action="store_true", help="count what is due only")

    def handle(self, *args: Any, **options: Any) -> None:
        retention = configured()

        def run_once() -> None:
            result = minimise_personal_data(limit=options["limit"], dry_run=options["dry_run"])
            verb = "due" if options["dry_run"] else "minimised"
            count = result.due if options["dry_run"] else result.minimised
            self.stdout.write(
                f"{count} orders {verb} (retention {retention.years} years, "
                f"rule {', '.join(sorted(retention.rule))})"
            )

        run_every(options["every"], run_once)
