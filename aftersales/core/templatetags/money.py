"""Money in templates: integer fen shown as yuan, for every page (`{% load money %}`)."""

from __future__ import annotations

from django import template

from aftersales.core.money import fen_to_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """Integer fen shown as yuan with two decimals: 880 -> 8.80."""
    return "" if fen is None else fen_to_yuan(int(fen))
