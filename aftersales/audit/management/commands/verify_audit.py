from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from aftersales.audit.anchor import checkpoint_file, read_checkpoints
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditChainHead, AuditEvent


class Command(BaseCommand):
    help = (
        "Verify every shop's audit hash chain (and, when there is one, against the checkpoint "
        "file outside the database) and name the first broken link."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--checkpoints",
            type=Path,
            default=None,
            help="checkpoint file to compare with (default: AUDIT_CHECKPOINT_FILE)",
        )

    def handle(self, *args: Any, checkpoints: Path | None, **options: Any) -> None:
        path = checkpoints or checkpoint_file()
        anchors = read_checkpoints(path)
        broken = []
        if anchors.found:
            self.stdout.write(f"checkpoints: {sum(map(len, anchors.by_shop.values()))} from {path}")
        for number in anchors.bad_lines:
            message = f"checkpoint file {path}: line {number} is not a genuine checkpoint"
            broken.append(message)
            self.stderr.write(message)
        chains = _chains()
        for shop_id in sorted(set(anchors.by_shop) - {shop_id for shop_id, _name in chains}):
            # Checkpointed, but neither head nor events are left: the whole chain is gone.
            chains.append((shop_id, "?"))
        for shop_id, name in sorted(chains):
            link = verify_chain(shop_id, anchors.by_shop.get(shop_id))
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
