"""How a one-time code reaches the buyer: a channel chosen in settings (R10.2).

`AFTERSALES_BUYER_CODE_CHANNEL` names a class with `deliver(order, code) -> Delivery`:

- `PlatformCodeChannel` (the default): the platform's buyer channel of the order's latest case
  (`PlatformAdapter.send_to_buyer`, which needs a case). An order with no case has no channel
  here: the shop sends a signed link instead (`access.signed_link_token`).
- `ShownCodeChannel`: the demo's and the tests' channel; the page shows the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from django.utils.translation import gettext, override

from aftersales.cases.models import Case
from aftersales.orders.models import Order
from aftersales.platforms.adapter import adapter_for_case

ACCESS_CODE_CAUSE = "buyer_access_code"


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    # Only the shown channel fills this: the code the page may show.
    shown_code: str = ""


class CodeChannel(Protocol):
    name: str

    def deliver(self, order: Order, code: str) -> Delivery: ...


class ShownCodeChannel:
    """For the demo and the tests: nothing is sent, the page shows the code."""

    name = "shown"

    def deliver(self, order: Order, code: str) -> Delivery:
        return Delivery(delivered=True, shown_code=code)


class PlatformCodeChannel:
    """Through the platform's buyer channel of the order's most recent case."""

    name = "platform"

    def deliver(self, order: Order, code: str) -> Delivery:
        case = Case.objects.select_related("shop").filter(order=order).order_by("-pk").first()
        if case is None:
            return Delivery(delivered=False)
        with override(settings.LANGUAGE_CODE):
            text = gettext(
                "Your after-sales verification code is %(code)s. It expires in %(minutes)s "
                "minutes. Never tell it to anyone."
            ) % {"code": code, "minutes": settings.AFTERSALES_BUYER_CODE_TTL_SECONDS // 60}
        adapter_for_case(case).send_to_buyer(case, text, cause=ACCESS_CODE_CAUSE)
        return Delivery(delivered=True)


@cache
def code_channel() -> CodeChannel:
    channel: CodeChannel = import_string(settings.AFTERSALES_BUYER_CODE_CHANNEL)()
    return channel


def _forget_channel(*, setting: str, **kwargs: object) -> None:
    if setting == "AFTERSALES_BUYER_CODE_CHANNEL":
        code_channel.cache_clear()


setting_changed.connect(_forget_channel)
