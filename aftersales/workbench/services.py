"""The workbench's own small services: revealing personal data, notes, and the two actions
that upload files and act in one transaction.

Like every service: keyword-only, an actor always, one transaction, an audit event in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases import services as case_services
from aftersales.cases.choices import EvidenceSource
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, Inspection
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput, PermissionDenied
from aftersales.core.limits import NOTE_MAX_LENGTH, check_length
from aftersales.shops.choices import REVEAL_ROLES


def can_reveal(actor: Actor, case: Case) -> bool:
    return actor.role_in(case.shop_id) in REVEAL_ROLES


@dataclass(frozen=True)
class BuyerContact:
    """A buyer's personal data in clear, for one screen, after the access was recorded."""

    buyer_phone: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str


@transaction.atomic
def reveal_buyer_contact(*, case: Case, by: Actor) -> BuyerContact:
    """Show the buyer's phone and address unmasked; allowed to supervisors and admins only,
    and every access is on the record (`pii_revealed`) before anything is shown."""
    if not can_reveal(by, case):
        raise PermissionDenied(_("Your role may not see the buyer's personal data."))
    order = case.order
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.PII_REVEALED,
        by=by,
        payload={"buyer": order.buyer.platform_buyer_id, "fields": ["phone", "receiver"]},
    )
    return BuyerContact(
        buyer_phone=order.buyer.phone,
        receiver_name=order.receiver_name,
        receiver_phone=order.receiver_phone,
        receiver_address=order.receiver_address,
    )


@transaction.atomic
def add_note(*, case: Case, text: str, by: Actor) -> Case:
    """An internal note on the case: for the team, never sent to the buyer."""
    text = text.strip()
    if not text:
        raise InvalidInput(_("The note is empty."))
    check_length(text=(text, NOTE_MAX_LENGTH))
    case = case_services.lock_case(case)
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.NOTE_ADDED,
        by=by,
        payload={"text": text},
    )
    return case


@transaction.atomic
def reject_with_evidence(
    *,
    case: Case,
    reason_code: str,
    note: str,
    by: Actor,
    evidence_ids: Sequence[int] = (),
    uploads: Sequence[case_services.Upload] = (),
) -> Case:
    """Upload the merchant's evidence and reject in one transaction: a refused rejection
    leaves no evidence attached (only, at worst, an unreferenced file on disk)."""
    attached = [
        case_services.attach_evidence(
            case=case, upload=upload, source=EvidenceSource.MERCHANT, by=by
        ).pk
        for upload in uploads
    ]
    return case_services.reject_case(
        case=case,
        reason_code=reason_code,
        note=note,
        evidence_ids=[*evidence_ids, *attached],
        by=by,
    )


@transaction.atomic
def inspect_with_photos(
    *,
    case: Case,
    result: str,
    condition: str,
    by: Actor,
    notes: str = "",
    package_intact: bool | None = None,
    uploads: Sequence[case_services.Upload] = (),
) -> Inspection:
    """Upload the inspection photos and record the inspection in one transaction."""
    photos = [
        case_services.attach_evidence(
            case=case, upload=upload, source=EvidenceSource.INSPECTION, by=by
        ).pk
        for upload in uploads
    ]
    return case_services.inspect_return(
        case=case,
        result=result,
        condition=condition,
        notes=notes,
        package_intact=package_intact,
        photo_ids=photos,
        by=by,
    )
