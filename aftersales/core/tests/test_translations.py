"""Simplified Chinese first, English complete: every UI string of every catalogue (the
project's, and an app's own under `aftersales/<app>/locale/`) has its Chinese, with the same
placeholders, and the compiled catalogue the server loads is the one in the source (a forgotten
`make messages` would ship English screens)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

PACKAGE = Path(settings.BASE_DIR) / "aftersales"
CATALOGUES = sorted(PACKAGE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def test_the_project_catalogue_is_among_them():
    assert PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po" in CATALOGUES


@pytest.mark.parametrize("source", CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_ui_string_has_its_chinese_with_the_same_placeholders(source):
    untranslated, fuzzy, broken = [], [], []
    for entry in polib.pofile(str(source)):
        if entry.obsolete:
            continue
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(texts):
            untranslated.append(entry.msgid)
        if "fuzzy" in entry.flags:
            fuzzy.append(entry.msgid)
        expected = sorted(PLACEHOLDER.findall(entry.msgid))
        if any(text and sorted(PLACEHOLDER.findall(text)) != expected for text in texts):
            broken.append(entry.msgid)
    assert untranslated == [] and fuzzy == [] and broken == []


@pytest.mark.parametrize("source", CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_compiled_catalogue_matches_the_source(source):
    with open(source.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        entry.msgid
        for entry in polib.pofile(str(source))
        if not entry.obsolete
        and not entry.msgid_plural
        and compiled.gettext(entry.msgid) != entry.msgstr
    ]
    assert stale == []


def test_the_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext("Refund") != "Refund"
