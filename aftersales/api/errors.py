"""What the API says about a refused input, and the error responses its schema declares.

Pydantic's own messages are English, name its internals ("Input should be a valid integer,
unable to parse string as an integer") and may carry a link to its documentation. A refusal
here names the field and says what is wrong with it in Chinese and English, in the product's
words (issue 15). Every operation's schema declares the error statuses the API can answer,
all in the one `ErrorOut` shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.core.errors import DomainError

# Pydantic error type → what is wrong, in the product's words; `%(…)s` from the error's context.
_WHAT_IS_WRONG: dict[str, Any] = {
    "missing": _("is required"),
    "int_parsing": _("must be a whole number"),
    "int_type": _("must be a whole number"),
    "int_from_float": _("must be a whole number"),
    "float_parsing": _("must be a number"),
    "float_type": _("must be a number"),
    "bool_parsing": _("must be true or false"),
    "bool_type": _("must be true or false"),
    "string_type": _("must be text"),
    "string_too_short": _("must be at least %(min_length)s characters long"),
    "string_too_long": _("must be at most %(max_length)s characters long"),
    "string_pattern_mismatch": _("does not have the expected form"),
    "too_short": _("must have at least %(min_length)s items"),
    "too_long": _("must have at most %(max_length)s items"),
    "list_type": _("must be a list"),
    "dict_type": _("must be an object"),
    "model_type": _("must be an object"),
    "model_attributes_type": _("must be an object"),
    "literal_error": _("must be one of: %(expected)s"),
    "enum": _("must be one of: %(expected)s"),
    "greater_than": _("must be greater than %(gt)s"),
    "greater_than_equal": _("must be at least %(ge)s"),
    "less_than": _("must be less than %(lt)s"),
    "less_than_equal": _("must be at most %(le)s"),
    "datetime_parsing": _("must be an ISO 8601 date-time, e.g. 2025-06-01T00:00:00+08:00"),
    "datetime_type": _("must be an ISO 8601 date-time, e.g. 2025-06-01T00:00:00+08:00"),
    "datetime_from_date_parsing": _(
        "must be an ISO 8601 date-time, e.g. 2025-06-01T00:00:00+08:00"
    ),
    "date_parsing": _("must be a date, e.g. 2025-06-01"),
    "date_type": _("must be a date, e.g. 2025-06-01"),
    "date_from_datetime_parsing": _("must be a date, e.g. 2025-06-01"),
    "uuid_parsing": _("must be a UUID"),
    "uuid_type": _("must be a UUID"),
    "json_invalid": _("is not valid JSON"),
    "extra_forbidden": _("is not an accepted field"),
    "url_parsing": _("must be a URL"),
    "url_scheme": _("must be an http or https URL"),
    "value_error": _("is not valid"),
}
_NOT_VALID = _("is not valid")
# Where ninja says an input came from; not part of the field's name.
_SOURCES = {"body", "query", "path", "form", "file", "header", "cookie"}


def field_name(loc: Sequence[Any]) -> str:
    """`["body", "payload", "note"]` → `note`; `["query", "status", 0]` → `status[0]`."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] == "payload" and len(parts) > 1:  # ninja's name for the body schema
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    return name or "body"


def _context(error: Mapping[str, Any]) -> dict[str, str]:
    context = dict(error.get("ctx") or {})
    return {
        key: str(value) for key, value in context.items() if isinstance(value, str | int | float)
    }


def describe_field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per refused input: where it is, which field, what is wrong (zh and en)."""
    described = []
    for error in errors:
        name = field_name(error.get("loc", []))
        what = DomainError(
            _WHAT_IS_WRONG.get(str(error.get("type", "")), _NOT_VALID), **_context(error)
        )
        described.append(
            {
                "loc": [str(p) for p in error.get("loc", [])],
                "field": name,
                "type": str(error.get("type", "")),
                "message_zh": _sentence(name, what.render("zh-hans"), "zh-hans"),
                "message_en": _sentence(name, what.render("en"), "en"),
            }
        )
    return described


def _sentence(name: str, problem: str, language: str) -> str:
    return DomainError(_("“%(name)s” %(problem)s."), name=name, problem=problem).render(language)


# Every operation can answer these (authentication, a shop's rules, a missing record, a
# conflict with the record's state, an input refused), in the one shape of `ErrorOut`.
DECLARED_ERRORS: dict[int, str] = {
    400: "The input is not valid (each refused field named in `errors`).",
    401: "No valid API key or session.",
    403: "The role may not do this, or the CSRF token is wrong.",
    404: "Not found, or another shop's.",
    409: "The record's state does not allow this now.",
}


def declare_errors(schema: dict[str, Any], error_ref: str) -> dict[str, Any]:
    """Add the error responses every operation can answer to each operation of `schema`."""
    content = {"application/json": {"schema": {"$ref": error_ref}}}
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for status, description in DECLARED_ERRORS.items():
                responses.setdefault(str(status), {"description": description, "content": content})
    return schema
