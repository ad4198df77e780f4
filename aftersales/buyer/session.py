"""The buyer's session: one order, opened by a code or a signed link, for a while (R10.2)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest

from aftersales.cases.models import Case
from aftersales.orders.models import Order

SESSION_KEY = "buyer_order"


def open_buyer_session(request: HttpRequest, order: Order) -> None:
    """A new session key (no fixation), scoped to this order only."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = order.pk
    request.session.set_expiry(settings.AFTERSALES_BUYER_SESSION_SECONDS)


def close_buyer_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def session_order(request: HttpRequest) -> Order | None:
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    return Order.objects.select_related("buyer", "shop").filter(pk=pk).first()


def case_of_order(order: Order, case_id: int) -> Case:
    """A case of the session's order; any other case is 404, whether it exists or not."""
    case = Case.objects.filter(pk=case_id, order=order).first()
    if case is None:
        raise Http404
    return case
