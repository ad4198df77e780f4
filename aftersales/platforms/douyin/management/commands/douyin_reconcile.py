from django.core.management.base import BaseCommand

from aftersales.platforms.douyin.sync import reconcile_shop

from ._shops import links


class Command(BaseCommand):
    help = (
        "Compare open Douyin cases with the platform: re-apply Detail (repair) and record "
        "what still disagrees as platform_drift_detected on the case."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="shop pk or platform shop id (default: all linked)")

    def handle(self, *args, shop=None, **options):
        drifted = 0
        for link in links(shop):
            report = reconcile_shop(link)
            drifted += report.drifted
            self.stdout.write(
                f"{link.shop}: {report.checked} checked, {report.repaired} repaired, "
                f"{report.drifted} drift flagged, {len(report.errors)} errors"
            )
            for error in report.errors:
                self.stderr.write(f"  {error}")
