"""The policy's explanations in Chinese and English, from the translation catalogue.

A decision is stored with its explanation in both languages, so the case page can show the
reader's. The words come from the catalogue (the msgid is the English; mark it with
`gettext_noop` where it is written). Each message is looked up once per process and language:
`decide` runs thousands of times a second, and switching the active language costs about as
much as a whole decision.
"""

from __future__ import annotations

from functools import cache

from django.utils import translation

LANGUAGES = ("zh-hans", "en")


@cache
def translated(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def both(message: str, **params: str) -> tuple[str, str]:
    """`message` in Chinese and in English, with `params` filled in."""
    zh, en = (translated(message, language) % params for language in LANGUAGES)
    return zh, en
