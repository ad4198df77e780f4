"""Template filters of the workbench: money in yuan, time left in words, carriers by name."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

from aftersales.core.templatetags.money import yuan
from aftersales.orders.carriers import carrier_label
from aftersales.workbench.display import clock_text, duration

register = template.Library()


# Integer fen shown as yuan: the one filter every page uses (`core/templatetags/money.py`).
register.filter("yuan", yuan)


@register.filter
def carrier(value: str | None) -> str:
    """A carrier code (or a stored name) as the carrier's name: "yunda" -> 韵达快递."""
    return carrier_label(value or "")


@register.filter
def time_left(seconds: int | None) -> str:
    return duration(seconds)


@register.filter
def countdown(seconds: int | None) -> str:
    """What the live countdown shows before its script takes over (countdown.js)."""
    return clock_text(seconds)


@register.simple_tag
def day_format() -> str:
    """The days part of a countdown, for countdown.js (the same words as clock_text)."""
    return gettext("%(days)d d")
