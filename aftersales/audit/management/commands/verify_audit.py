from django.core.management.base import BaseCommand, CommandError

from aftersales.audit.chain import verify_chain
from aftersales.shops.models import Shop


class Command(BaseCommand):
    help = "Verify every shop's audit hash chain and name the first broken link."

    def handle(self, *args, **options):
        broken = []
        for shop in Shop.objects.order_by("pk"):
            link = verify_chain(shop.pk)
            if link is None:
                self.stdout.write(f"shop {shop.pk} ({shop.name}): ok")
            else:
                message = (
                    f"shop {shop.pk} ({shop.name}): BROKEN at event #{link.seq}"
                    f" (id {link.event_id}): {link.problem}"
                )
                broken.append(message)
                self.stderr.write(message)
        if broken:
            raise CommandError(f"{len(broken)} audit chain(s) broken; first: {broken[0]}")
