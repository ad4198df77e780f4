"""The bot behind the API, for a chat channel (R10.1): the shop's integration passes on the
buyer's message about one order and gets the bot's answer, and whether a person takes over.
The same service as the buyer's page: the conversation is kept with the case."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from aftersales.core.errors import NotFound, PermissionDenied
from aftersales.core.limits import CODE_MAX_LENGTH, MESSAGE_MAX_LENGTH
from aftersales.knowledge.models import Conversation
from aftersales.knowledge.services import answer_buyer
from aftersales.orders.models import Order
from aftersales.shops.choices import WRITE_ROLES

from .schemas import ErrorOut

router = Router(tags=["bot"])


class BuyerMessageIn(Schema):
    order_id: str = Field(min_length=1, max_length=CODE_MAX_LENGTH)  # the platform's number
    text: str = Field(min_length=1, max_length=MESSAGE_MAX_LENGTH)


class BotReplyOut(Schema):
    text: str
    intents: list[str]
    confidence: float
    handed_over: bool
    reasons: list[str]
    conversation_id: int


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.post(
    "/bot/messages",
    response={200: BotReplyOut, **ERRORS},
    summary="Answer a buyer's message about one order; say whether a person takes over",
)
def post_buyer_message(request: HttpRequest, body: BuyerMessageIn) -> dict[str, object]:
    actor = request.auth  # type: ignore[attr-defined]
    order = (
        Order.objects.select_related("buyer")
        .filter(shop_id__in=list(actor.shop_roles), platform_order_id=body.order_id.strip())
        .first()
    )
    if order is None:
        raise NotFound()
    if actor.role_in(order.shop_id) not in WRITE_ROLES:
        raise PermissionDenied()
    reply = answer_buyer(order=order, text=body.text, channel=Conversation.Channel.API, by=actor)
    return {
        "text": reply.text,
        "intents": reply.intents,
        "confidence": reply.confidence,
        "handed_over": reply.handed_over,
        "reasons": reply.reasons,
        "conversation_id": reply.conversation.pk,
    }
