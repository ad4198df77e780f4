"""Template filters of the workbench: money in yuan, time left in words, carriers' names."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

from aftersales.core.money import fen_to_yuan
from aftersales.workbench.display import carrier_label, clock_text, duration

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """Integer fen shown as yuan with two decimals: 880 -> 8.80."""
    return "" if fen is None else fen_to_yuan(int(fen))


@register.filter
def time_left(seconds: int | None) -> str:
    return duration(seconds)


@register.filter
def countdown(seconds: int | None) -> str:
    """What the live countdown shows before its script takes over (countdown.js)."""
    return clock_text(seconds)


@register.filter
def carrier(code: str | None) -> str:
    """A carrier's name for its code (`display.carrier_label`)."""
    return carrier_label(code or "")


@register.simple_tag
def day_format() -> str:
    """The days part of a countdown, for countdown.js (the same words as clock_text)."""
    return gettext("%(days)d d")
