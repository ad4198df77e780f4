from typing import Any

from django.core.management.base import BaseCommand, CommandError

from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditChainHead, AuditEvent


class Command(BaseCommand):
    help = "Verify every shop's audit hash chain and name the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        broken = []
        for shop_id, name in _chains():
            link = verify_chain(shop_id)
            if link is None:
                self.stdout.write(f"shop {shop_id} ({name}): ok")
            else:
                message = (
                    f"shop {shop_id} ({name}): BROKEN at event #{link.seq}"
                    f" (id {link.event_id}): {link.problem}"
                )
                broken.append(message)
                self.stderr.write(message)
        if broken:
            raise CommandError(f"{len(broken)} audit chain(s) broken; first: {broken[0]}")


def _chains() -> list[tuple[int, str]]:
    """(shop id, shop name) of every chain, by shop id: each chain head, and the shop of any
    events whose head row is gone. Read from the audit tables; the name through their key."""
    chains = dict(AuditChainHead.objects.values_list("shop_id", "shop__name"))
    headless = (
        AuditEvent.objects.exclude(shop_id__in=AuditChainHead.objects.values("shop_id"))
        .values_list("shop_id", "shop__name")
        .distinct()
    )
    chains.update(headless)
    return sorted(chains.items())
