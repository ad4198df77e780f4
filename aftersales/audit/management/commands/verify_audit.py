from django.core.management.base import BaseCommand, CommandError

from aftersales.audit.chain import verify_chain
from aftersales.shops.models import Shop


class Command(BaseCommand):
    help = "Verify every shop's audit hash chain and name the first broken link."

    def handle(self, *args, **options):
        broken = 0
        for shop in Shop.objects.order_by("pk"):
            link = verify_chain(shop.pk)
            if link is None:
                self.stdout.write(f"shop {shop.pk} ({shop.name}): ok")
            else:
                broken += 1
                self.stderr.write(
                    f"shop {shop.pk} ({shop.name}): BROKEN at event #{link.seq}"
                    f" (id {link.event_id}): {link.problem}"
                )
        if broken:
            raise CommandError(f"{broken} audit chain(s) broken")
