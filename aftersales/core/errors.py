"""Domain errors: a stable machine code, an HTTP status and a translatable message."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the domain was broken. Nothing was changed."""

    code = "domain_error"
    status = 400
    default_message: Any = _("The request breaks a rule.")

    def __init__(self, message: Any = None, *, field: str | None = None, **params: Any) -> None:
        # Keep the message lazy and the parameters apart, so it can be rendered in each
        # language the caller needs (the API answers in Chinese and English).
        self.message = message if message is not None else self.default_message
        self.params = params
        # The input the refusal is about (a service parameter's name), when it is one: the
        # form shows the message beside that field, the API names it.
        self.field = field
        super().__init__(self.render("en"))

    def render(self, language: str) -> str:
        with translation.override(language):
            text = str(self.message)
        if self.params and "%(" in text:
            try:
                return text % self.params
            except (KeyError, ValueError, TypeError):
                return text
        return text


class NotFound(DomainError):
    """Missing, or belonging to another shop: the two are indistinguishable on purpose."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do this.")


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = _("The input is not valid.")


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status = 409
    default_message = _("This action is not allowed while the case is in state “%(from_status)s”.")


class RefundCapExceeded(DomainError):
    code = "refund_cap_exceeded"
    status = 409
    default_message = _(
        "The refund of %(requested)s yuan would exceed the %(refundable)s yuan still refundable."
    )


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")
