"""Simplified Chinese first, English complete: every UI string of the catalogue has its
Chinese, with the same placeholders, and the compiled catalogue the server loads is the one
in the source (a forgotten `make messages` would ship English screens)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "aftersales" / "locale" / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def catalogue() -> polib.POFile:
    return polib.pofile(str(LOCALE / "django.po"))


def test_every_ui_string_has_its_chinese_with_the_same_placeholders():
    untranslated, fuzzy, broken = [], [], []
    for entry in catalogue():
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


def test_the_compiled_catalogue_matches_the_source():
    with open(LOCALE / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        entry.msgid
        for entry in catalogue()
        if not entry.obsolete
        and not entry.msgid_plural
        and compiled.gettext(entry.msgid) != entry.msgstr
    ]
    assert stale == []


def test_the_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext("Refund") != "Refund"
