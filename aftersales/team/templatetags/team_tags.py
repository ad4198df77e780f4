"""Small display helpers of the team pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A length of time for people: "3 d 4 h", "2 h 05 min", "12 min"; "—" for none.
    Negative values are shown by their size; the template says "overdue"."""
    if value is None:
        return "—"
    seconds = abs(int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def percent(value: float | None) -> str:
    """0.875 -> "87.5%"; "—" when there is nothing to measure."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def is_negative(value: timedelta | None) -> bool:
    return value is not None and value.total_seconds() < 0


@register.filter
def skill_labels(values: list[str] | None) -> str:
    """Catalog category values as their (translated) names, comma-separated."""
    from aftersales.catalog.choices import Category

    labels = dict(Category.choices)
    return ", ".join(str(labels.get(v, v)) for v in values or []) or "—"


@register.filter
def person(user: Any) -> str:
    """How the pages name a person: their display name, else their username."""
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())
