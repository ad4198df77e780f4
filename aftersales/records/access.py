"""The access log (R6.5, 个人信息保护法): every view of a buyer's personal data in clear and
every export, for the shop admin and the auditor to read and export.

The log is read from the audit trail, where each access is already written in the
transaction that gives the data out, so it is as tamper-evident as the rest (hash-chained,
append-only; `verify_audit`): `pii_revealed` (a supervisor or admin revealed a buyer's phone
and address on a case page), `report_exported` (an analytics export, with whether personal data
was in clear or masked) and `access_log_exported` (this log exported). Another shop's log is
a 404; roles other than admin and auditor get a 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases.events import CaseEvent
from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound, PermissionDenied
from aftersales.shops.choices import Role

REVEALED = str(CaseEvent.PII_REVEALED)
EXPORTED = "report_exported"
LOG_EXPORTED = "access_log_exported"
ACCESS_EVENTS = (REVEALED, EXPORTED, LOG_EXPORTED)
READER_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
SHANGHAI_FORMAT = "%Y-%m-%d %H:%M:%S"

KINDS: dict[str, Any] = {
    REVEALED: _("Personal data viewed in clear"),
    EXPORTED: _("Report exported"),
    LOG_EXPORTED: _("Access log exported"),
}


def readable_shops(actor: Actor, shop: int | None = None) -> list[int]:
    """The shops whose access log the actor may read: admin or auditor there. A shop named
    that is not the actor's is a 404; one where their role may not read it a 403."""
    mine = [pk for pk, role in actor.shop_roles.items() if role in READER_ROLES]
    if shop is not None:
        if actor.role_in(shop) is None:
            raise NotFound(_("Shop not found."))
        if shop not in mine:
            raise PermissionDenied(_("Only the shop admin and the auditor read the access log."))
        return [shop]
    if not mine:
        if actor.shop_roles:
            raise PermissionDenied(_("Only the shop admin and the auditor read the access log."))
        raise NotFound(_("Shop not found."))
    return sorted(mine)


def access_events(
    shop_ids: Iterable[int], *, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(shop_id__in=list(shop_ids), type__in=ACCESS_EVENTS)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events.select_related("case", "shop").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class Entry:
    at: datetime
    shop: str
    who: str
    kind: str
    kind_label: str
    case_id: int | None
    what: str
    personal_data: str  # "clear" | "masked"


def entry(event: AuditEvent) -> Entry:
    payload = event.payload or {}
    if event.type == REVEALED:
        fields = payload.get("fields") or []
        what = " / ".join(str(f) for f in fields)
        clear = "clear"
    elif event.type == EXPORTED:
        what = f"{payload.get('kind', '')} · {payload.get('rows', 0)}"
        clear = str(payload.get("personal_data", "masked"))
    else:
        what = str(payload.get("rows", 0))
        clear = "masked"
    return Entry(
        at=event.created_at,
        shop=event.shop.name,
        who=event.actor_label,
        kind=event.type,
        kind_label=str(KINDS.get(event.type, event.type)),
        case_id=event.case_id,
        what=what,
        personal_data=clear,
    )


def entries(events: QuerySet[AuditEvent]) -> Iterator[Entry]:
    for event in events.iterator(chunk_size=1000):
        yield entry(event)


@transaction.atomic
def export_access_log(
    *,
    actor: Actor,
    shop_ids: list[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> bytes:
    """The log as an Excel workbook; the export itself is written to the log of every shop
    in it (in this transaction, before the file is given out)."""
    events = access_events(shop_ids, since=since, until=until)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("Access log")))
    sheet.append(
        [
            str(_("Accessed at")),
            str(_("Shop")),
            str(_("Who")),
            str(_("Access")),
            str(_("Case")),
            str(_("What")),
            str(_("Personal data")),
        ]
    )
    rows = 0
    clear_words = {"clear": str(_("In clear")), "masked": str(_("Masked"))}
    for item in entries(events):
        sheet.append(
            [
                timezone.localtime(item.at).strftime(SHANGHAI_FORMAT),
                item.shop,
                item.who,
                item.kind_label,
                item.case_id or "",
                item.what,
                clear_words.get(item.personal_data, item.personal_data),
            ]
        )
        rows += 1
    for shop_id in shop_ids:
        record_event(
            shop_id=shop_id,
            type=LOG_EXPORTED,
            by=actor,
            payload={
                "rows": rows,
                "shops": shop_ids,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
        )
    out = BytesIO()
    book.save(out)
    return out.getvalue()
