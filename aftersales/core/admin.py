"""Building blocks for the apps' admin pages.

The Django admin is the installation operator's back door, not the agents' workbench: it is
not scoped by shop. It may show every record, but it must never change a domain object in a
way that skips the services (state machine, locks, audit trail), and nothing kept for the
3-year retention period (R6.2) can be deleted from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from aftersales.core.money import fen_to_yuan


class NoDeleteAdminMixin:
    """Records kept at least 3 years (R6.2): the admin never deletes them."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdminMixin(NoDeleteAdminMixin):
    """View only: these rows change through services, never through a form."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


if TYPE_CHECKING:
    # django-stubs makes the inline generic in its model and its parent's; Django's class takes
    # no type arguments at run time. This base serves the inlines of any model.
    _TabularInline = admin.TabularInline[Model, Model]
else:
    _TabularInline = admin.TabularInline


class ReadOnlyInline(ReadOnlyAdminMixin, _TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


def yuan(field: str, description: Any, *, ordering: bool = True) -> Callable[[Any, Any], str]:
    """A column (assign it to a ModelAdmin attribute, name that in `list_display` or
    `readonly_fields`) that shows an integer fen field as yuan with two decimals."""

    def display(model_admin: Any, obj: Any) -> str:
        value = getattr(obj, field)
        return "" if value is None else fen_to_yuan(value)

    display.__name__ = f"{field}_yuan"
    return admin.display(description=description, ordering=field if ordering else None)(display)
