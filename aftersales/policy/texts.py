"""The policy's explanations in Chinese and English, from the translation catalogue.

A decision is stored with its explanation in both languages, so the case page can show the
reader's. The words come from the catalogue (the msgid is the English; mark it with
`gettext_noop` where it is written). Each message is looked up once per process and language:
`decide` runs thousands of times a second, and switching the active language costs about as
much as a whole decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from django.utils import translation

from aftersales.catalog.choices import Category

from .document import EVIDENCE_KINDS

LANGUAGES = ("zh-hans", "en")
# The codes an explanation names, by vocabulary, with their words (never the code itself).
VOCABULARIES: dict[str, Mapping[str, Any]] = {
    "category": dict(Category.choices),
    "evidence": EVIDENCE_KINDS,
}


@cache
def translated(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def both(message: str, **params: str) -> tuple[str, str]:
    """`message` in Chinese and in English, with `params` filled in."""
    zh, en = (translated(message, language) % params for language in LANGUAGES)
    return zh, en


@cache
def word(vocabulary: str, code: str, language: str) -> str:
    """The word for a code (a category, an evidence kind) in a language; the code if unknown."""
    label = VOCABULARIES[vocabulary].get(code)
    if label is None:
        return code
    with translation.override(language):
        return str(label)


def words(vocabulary: str, codes: Iterable[str]) -> tuple[str, str]:
    """The words for `codes` in Chinese ("、" between them) and in English (", ")."""
    codes = list(codes)
    zh = "、".join(word(vocabulary, code, LANGUAGES[0]) for code in codes)
    en = ", ".join(word(vocabulary, code, LANGUAGES[1]) for code in codes)
    return zh, en
