from django.core.management.base import BaseCommand

from aftersales.core.periodic import run_every
from aftersales.platforms.douyin.client import DouyinError
from aftersales.platforms.douyin.sync import run_safety_net, sync_shop
from aftersales.platforms.douyin.tasks import sync_shops_task

from ._shops import links


class Command(BaseCommand):
    help = (
        "Incremental sync of Douyin after-sales (afterSale/List by update_time windows with "
        "overlap, cursor stored) and the inbox/outbox safety net. Once, every N seconds, or "
        "as a self-rescheduling task (--schedule)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="shop pk or platform shop id (default: all linked)")
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="queue the periodic sync task (it re-queues itself) and exit",
        )

    def handle(self, *args, shop=None, every=0.0, schedule=False, **options):
        if schedule:
            sync_shops_task.enqueue(reschedule=True)
            self.stdout.write("periodic Douyin sync task queued")
            return
        run_every(every, lambda: self.sync(shop))

    def sync(self, shop: str | None) -> None:
        for link in links(shop):
            try:
                report = sync_shop(link)
            except DouyinError as exc:
                self.stderr.write(f"{link.shop}: stopped: {exc}")
                continue
            self.stdout.write(
                f"{link.shop}: {report.windows} windows, {report.items} after-sales, "
                f"{len(report.errors)} errors"
            )
            for error in report.errors:
                self.stderr.write(f"  {error}")
        requeued = run_safety_net()
        if requeued:
            self.stdout.write(f"safety net: {requeued} messages/operations queued again")
