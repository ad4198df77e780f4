"""The buyer's session: one order, opened by a code or a signed link, for a while (R10.2)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest

from aftersales.cases.models import Case
from aftersales.orders.models import Order

from .access import link_withdrawn

SESSION_KEY = "buyer_order"
# When the signed link that opened the session was issued; absent for a session opened by a
# one-time code (the buyer proved the phone), which a withdrawal of links does not end.
LINK_ISSUED_KEY = "buyer_link_issued_at"


def open_buyer_session(
    request: HttpRequest, order: Order, *, link_issued_at: float | None = None
) -> None:
    """A new session key (no fixation), scoped to this order only."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = order.pk
    request.session.pop(LINK_ISSUED_KEY, None)
    if link_issued_at is not None:
        request.session[LINK_ISSUED_KEY] = link_issued_at
    request.session.set_expiry(settings.AFTERSALES_BUYER_SESSION_SECONDS)


def close_buyer_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(LINK_ISSUED_KEY, None)


def session_order(request: HttpRequest) -> Order | None:
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    issued_at = request.session.get(LINK_ISSUED_KEY)
    if issued_at is not None and link_withdrawn(int(pk), float(issued_at)):
        close_buyer_session(request)
        return None
    return Order.objects.select_related("buyer", "shop").filter(pk=pk).first()


def case_of_order(order: Order, case_id: int) -> Case:
    """A case of the session's order; any other case is 404, whether it exists or not."""
    case = Case.objects.filter(pk=case_id, order=order).first()
    if case is None:
        raise Http404
    return case
