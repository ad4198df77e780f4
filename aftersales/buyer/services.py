"""What the buyer does on their page, through the same services and policy as every case."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.models import Survey
from aftersales.analytics.services import answer_survey, offer_survey
from aftersales.audit.chain import record_event
from aftersales.cases.choices import CaseStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.evidence import check_upload
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange
from aftersales.cases.services import RequestedItem, Upload, record_buyer_evidence
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict
from aftersales.intake.services import receive_case
from aftersales.orders.models import Order, OrderItem

from . import access
from .models import LinkRevocation


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


# The case's end as `analytics.services.offer_survey` knows it, for a finished case that has
# no survey yet (one that ended before the surveys were sent).
_END_EVENT = {
    CaseStatus.COMPLETED: CaseEvent.REFUND_EXECUTED,
    CaseStatus.CLOSED: CaseEvent.CASE_CLOSED,
}


def can_be_rated(case: Case) -> bool:
    """Finished: its survey is offered when the buyer rates, if the case has none yet."""
    return case.status in _END_EVENT


def survey_for_case(case: Case) -> Survey | None:
    """The satisfaction survey (R8.6) of a finished case, offered now if it has none; None
    while the case is not finished."""
    survey = Survey.objects.filter(case_id=case.pk).first()
    if survey is not None or case.status not in _END_EVENT:
        return survey
    with transaction.atomic():
        offer_survey(
            CaseChange(
                case=case,
                event=_END_EVENT[CaseStatus(case.status)],
                by=Actor.system("buyer_page"),
                previous_status=case.status,
            )
        )
    return Survey.objects.filter(case_id=case.pk).first()


def rate_case(*, case: Case, score: int, comment: str, by: Actor) -> Survey:
    """The buyer rates a finished case on their page: the case's survey, answered once
    (`analytics.services.answer_survey`: ≤ 3 opens a supervisor's follow-up)."""
    survey = survey_for_case(case)
    if survey is None:
        raise Conflict(_("You can rate the service once the request is finished."))
    return answer_survey(survey=survey, score=score, comment=comment, by=by)


@transaction.atomic
def issue_link(*, case: Case, by: Actor) -> str:
    """The signed link a shop sends the buyer of `case` (R10.2): it opens that one order,
    until it expires (`AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS`); who made it is on the case's
    record. The token itself is not kept."""
    token = access.signed_link_token(case.order)
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type="buyer_link_issued",
        by=by,
        payload={"order": case.order_id},
    )
    return token


@transaction.atomic
def revoke_links(*, case: Case, by: Actor) -> LinkRevocation:
    """Withdraw every signed link sent for the case's order (R10.2): they, and the page
    sessions they opened, stop working now; a buyer who enters with a one-time code is not
    affected, and a link made afterwards works. On the case's record."""
    now = timezone.now()
    revocation, _created = LinkRevocation.objects.update_or_create(
        order_id=case.order_id,
        defaults={"shop_id": case.shop_id, "revoked_at": now, "revoked_by": by.label},
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type="buyer_links_revoked",
        by=by,
        payload={"order": case.order_id},
    )
    return revocation
