"""Template filters of the reports: rates as percentages, fen as yuan, durations in words."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import gettext

from aftersales.cases.choices import CostPayer
from aftersales.core.money import fen_to_yuan

register = template.Library()

NONE = "—"


@register.filter
def percent(rate: float | None, digits: int = 1) -> str:
    """0.1234 → "12.3%"; None (nothing to divide by) → "—"."""
    if rate is None:
        return NONE
    return f"{rate * 100:.{int(digits)}f}%"


@register.filter
def points(pair: tuple[float | None, float | None] | None) -> str:
    """The change between two rates in percentage points: "+1.2 pt"."""
    if not pair or pair[0] is None or pair[1] is None:
        return NONE
    delta = (pair[0] - pair[1]) * 100
    return gettext("%(sign)s%(value).1f pt") % {
        "sign": "+" if delta >= 0 else "−",
        "value": abs(delta),
    }


@register.simple_tag
def change(now: float | None, before: float | None) -> str:
    return points((now, before))


@register.filter
def yuan(fen: int | None) -> str:
    return NONE if fen is None else fen_to_yuan(int(fen))


@register.filter
def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


@register.filter
def hours(value: timedelta | None) -> str:
    """A duration as the reports show it: "45 min", "3.5 h", "2.1 d"."""
    if value is None:
        return NONE
    seconds = value.total_seconds()
    if seconds < 3600:
        return gettext("%(n)d min") % {"n": round(seconds / 60)}
    if seconds < 48 * 3600:
        return gettext("%(n).1f h") % {"n": seconds / 3600}
    return gettext("%(n).1f d") % {"n": seconds / 86400}


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key)


@register.filter
def payer_label(code: str) -> str:
    return str(CostPayer(code).label) if code in CostPayer.values else code
