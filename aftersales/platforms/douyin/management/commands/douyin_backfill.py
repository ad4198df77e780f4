from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from aftersales.platforms.douyin.mapping import SHANGHAI
from aftersales.platforms.douyin.sync import backfill_shop

from ._shops import links


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Read the Douyin after-sales updated between two dates (Asia/Shanghai, inclusive) and "
        "apply them, without moving the incremental sync's cursor."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=parse_date, help="YYYY-MM-DD")
        parser.add_argument("--until", required=True, type=parse_date, help="YYYY-MM-DD")
        parser.add_argument("--shop", help="shop pk or platform shop id (default: all linked)")

    def handle(self, *args, since, until, shop=None, **options):
        if until < since:
            raise CommandError("--until is before --since")
        start = datetime.combine(since, time.min, tzinfo=SHANGHAI)
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=SHANGHAI)
        for link in links(shop):
            report = backfill_shop(link, since=start, until=end)
            self.stdout.write(
                f"{link.shop}: {report.windows} windows, {report.items} after-sales, "
                f"{len(report.errors)} errors"
            )
            for error in report.errors:
                self.stderr.write(f"  {error}")
