"""What the buyer does on their page, through the same services and policy as every case."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.cases.choices import CaseStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.evidence import check_upload
from aftersales.cases.models import Case
from aftersales.cases.services import RequestedItem, Upload, record_buyer_evidence
from aftersales.cases.transitions import record_case_event
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.intake.services import receive_case
from aftersales.orders.models import Order, OrderItem

from .models import SatisfactionRating


def buyer_actor(order: Order) -> Actor:
    return Actor.buyer(f"buyer:{order.buyer.platform_buyer_id}")


def apply_for_order(
    *,
    order: Order,
    type: str,
    reason: str,
    items: Sequence[tuple[OrderItem, int]],
    statement: str,
    uploads: Sequence[Upload],
    by: Actor,
) -> Case:
    """Open and settle the case (the policy decides at once), then store the photos.

    The files are checked before the case is opened, so a bad file opens nothing."""
    for upload in uploads:
        check_upload(upload.stream, shop_id=order.shop_id)
        upload.stream.seek(0)
    case = receive_case(
        order=order,
        type=type,
        reason=reason,
        items=[RequestedItem(order_item=item, quantity=qty) for item, qty in items],
        by=by,
        buyer_statement=statement,
    )
    if uploads:
        case = record_buyer_evidence(case=case, uploads=uploads, by=by)
    return case


@transaction.atomic
def rate_case(*, case: Case, score: int, comment: str, by: Actor) -> SatisfactionRating:
    """The buyer's rating of a finished case (R8.6), once; ≤ 3 is shown to the leads."""
    if case.status not in {CaseStatus.COMPLETED, CaseStatus.CLOSED, CaseStatus.REJECTED}:
        raise Conflict(_("You can rate the service once the request is finished."))
    if not 1 <= score <= 5:
        raise InvalidInput(_("The score is from 1 to 5."))
    if SatisfactionRating.objects.filter(case=case).exists():
        raise Conflict(_("You have already rated this request."))
    rating = SatisfactionRating.objects.create(
        shop_id=case.shop_id,
        case=case,
        score=score,
        comment=comment.strip(),
        rated_at=timezone.now(),
    )
    record_case_event(
        case, by=by, event=CaseEvent.SERVICE_RATED, payload={"score": score, "rating": rating.pk}
    )
    return rating
