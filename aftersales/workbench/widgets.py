"""Form widgets written in Python, with the markup of Django's own widget templates (issue 16).

The queue's filter form renders a dozen widgets on every page view; through Django's template
renderer each costs a template render per widget and one more per option (`select.html`
includes `select_option.html` for each of some 60 options), ~7 ms of the queue page at 1M
cases (docs/benchmarks.md). These classes take the same context from Django (`get_context`:
the attrs, the options and which is selected) and write the strings of
`django/forms/widgets/{input,select,select_option,attrs}.html` directly, escaped as the
templates escape (`conditional_escape`, as `{{ }}` does). A select with option groups is left
to Django's templates. `tests/test_queue.py` compares both renderings for every choice.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    """`attrs.html`: ` name="value"`, ` name` for True, nothing for False."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{conditional_escape(value)}"')
    return "".join(out)


def _input(widget: dict[str, Any]) -> str:
    """`input.html`."""
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}"'
        f' name="{conditional_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


class TextInput(forms.TextInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return mark_safe(_input(self.get_context(name, value, attrs)["widget"]))


class CheckboxInput(forms.CheckboxInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return mark_safe(_input(self.get_context(name, value, attrs)["widget"]))


class Select(forms.Select):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        groups = widget["optgroups"]
        if any(group_name for group_name, _options, _index in groups):
            return super().render(name, value, attrs, renderer)
        # `select.html`: each option on its own line, each followed by the newline that ends
        # `select_option.html` (an included template keeps it; only the whole is stripped).
        options = "".join(
            f'\n  <option value="{conditional_escape(option["value"])}"'
            f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
            for _name, group, _index in groups
            for option in group
        )
        return mark_safe(
            f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>'
            f"{options}\n</select>"
        )
