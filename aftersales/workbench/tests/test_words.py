"""Issue 14 item 7: people read words, never a code, and Chinese screens are Chinese.

Every event the code records (on a case's timeline or on the shop's chain), every reason and
reject reason, every evidence kind and category named in the policy's explanations, the
platform's errors, Django's password rules and the admin's field labels: each is rendered in
Chinese and in English; the Chinese has no raw key and no untranslated English.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.utils import translation
from django.utils.functional import Promise

from aftersales import testing
from aftersales.audit.chain import record_event
from aftersales.cases.events import CaseEvent
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.catalog.choices import Category
from aftersales.platforms.douyin import errors
from aftersales.platforms.douyin.choices import OperationKind, OperationStatus
from aftersales.platforms.douyin.tests import factories
from aftersales.policy.engine import decide
from aftersales.policy.facts import facts_for_case
from aftersales.policy.services import policy_for
from aftersales.shops.choices import Role
from aftersales.workbench import display

pytestmark = pytest.mark.django_db

PACKAGE = Path(settings.BASE_DIR) / "aftersales"
CJK = re.compile(r"[\u4e00-\u9fff]")
# A raw key: a word with an underscore (interception_requested), or a code we know.
RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
# Names Chinese screens keep as they are (Douyin's own back office says App Key too).
PROPER_NAMES = {"SHA-256", "App Key", "App Secret"}


def in_language(language: str, value) -> str:
    with translation.override(language):
        return str(value)


def assert_words(label, key: str) -> None:
    """Chinese with Chinese characters and no key; English that is not the key either."""
    zh, en = in_language("zh-hans", label), in_language("en", label)
    assert CJK.search(zh), (key, zh)
    assert key not in zh and not RAW_KEY.search(zh), (key, zh)
    assert en and en != key, (key, en)


# --- Events ------------------------------------------------------------------------------------


def recorded_event_types() -> set[str]:
    """Every event type the product code records: `type=`/`event_type=`/`event=` given a
    string or a `CaseEvent` member, in a call to a recording function."""
    recorders = {"record_event", "record_case_event", "change_case", "_transition"}
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in recorders:
                continue
            for keyword in node.keywords:
                if keyword.arg not in {"type", "event_type", "event"}:
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
                elif isinstance(value, ast.IfExp):
                    found |= {
                        v.value for v in (value.body, value.orelse) if isinstance(v, ast.Constant)
                    }
                elif isinstance(value, ast.Attribute) and getattr(value.value, "id", "") == (
                    "CaseEvent"
                ):
                    found.add(CaseEvent[value.attr].value)
    return found


def test_the_code_records_events_the_scan_can_see():
    found = recorded_event_types()
    assert {"duty_changed", "policy_published", "douyin_linked", "case_opened"} <= found
    assert "interception_requested" in found and "platform_drift_detected" in found


def test_every_event_type_recorded_anywhere_has_words():
    missing = sorted(t for t in recorded_event_types() if t not in display.EVENT_LABELS)
    assert missing == []


@pytest.mark.parametrize("key", sorted(display.EVENT_LABELS))
def test_every_event_is_words_in_both_languages(key):
    assert_words(display.EVENT_LABELS[key], key)
    assert display.event_label(key) != key


def test_the_timeline_shows_the_platforms_events_in_words(client, shop_a, alice):
    case = testing.make_case(testing.make_order(shop_a), reason="wrong_size")
    raw = [
        CaseEvent.INTERCEPTION_REQUESTED,
        CaseEvent.DISPUTE_STATUS_CHANGED,
        CaseEvent.PLATFORM_DRIFT_DETECTED,
        CaseEvent.PLATFORM_OPERATION_FAILED,
    ]
    from django.db import transaction

    with transaction.atomic():
        for event in raw:
            record_event(shop_id=shop_a.pk, case_id=case.pk, type=event, by=testing.SYSTEM)
    client.force_login(alice)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    timeline = html[html.index('class="timeline"') :]
    for event in raw:
        assert f">{event.value}<" not in timeline
        assert in_language("zh-hans", event.label) in timeline


# --- Reasons, evidence, categories -------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_is_words(code):
    assert_words(REASONS[code].label, code)


@pytest.mark.parametrize("code", sorted(REJECT_REASONS))
def test_every_reject_reason_is_words(code):
    assert_words(REJECT_REASONS[code].label, code)


@pytest.mark.parametrize("code", sorted(display.EVIDENCE_KINDS))
def test_every_evidence_kind_is_words(code):
    assert_words(display.EVIDENCE_KINDS[code], code)


def explanation(case) -> tuple[str, str]:
    decision = decide(facts_for_case(case), policy_for(case.shop_id))
    zh = " ".join(hit.zh for hit in decision.trace)
    en = " ".join(hit.en for hit in decision.trace)
    return zh, en


def test_the_policys_explanation_names_the_missing_evidence_in_words(shop_a):
    case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    zh, en = explanation(case)
    assert "需要买家补充凭证：照片" in zh
    assert "photo" not in zh and "video" not in zh
    assert "Photo" in en


def test_the_policys_explanation_names_categories_in_words(shop_a):
    order = testing.make_order(shop_a, lines=[testing.Line(category=Category.ELECTRONICS)])
    zh, en = explanation(testing.make_case(order, reason="functional_fault"))
    assert "electronics" not in zh and "电子" in zh, zh
    assert "Electronics" in en, en


# --- The platform's errors ---------------------------------------------------------------------

KNOWN_ERRORS = [
    "50002 isv.business-failed:20309541: 售后状态错误：当前状态不允许该操作",
    "40003 isv.access-token-expired: access_token已过期",
    "60000 isv.rate-limited: 调用频率超过限制（5 次/秒）",
    "the platform needs evidence for “商品已使用”: attach photos and retry",
    "agreeing a return needs the shop's return address id",
    "HTTP 503",
]


@pytest.mark.parametrize("error", KNOWN_ERRORS)
def test_a_known_platform_error_is_explained_in_both_languages(error):
    with translation.override("zh-hans"):
        zh = errors.explain(error)
    with translation.override("en"):
        en = errors.explain(error)
    assert CJK.search(zh) and not re.search(r"[a-z]{4,}", zh.replace("Douyin", "")), zh
    assert en and not CJK.search(en.replace("商品已使用", "")), en


def test_an_unknown_platform_error_has_no_explanation():
    assert errors.explain("70000 isv.something-new: 新的错误") == ""


def test_the_case_page_explains_a_failed_operation_and_keeps_the_platforms_words(
    client, shop_a, alice
):
    factories.link(shop_a)
    case = factories.platform_case(shop_a)
    original = "50002 isv.business-failed:20309541: 售后状态错误：当前状态不允许该操作"
    factories.operation(
        case,
        OperationKind.AGREE,
        OperationStatus.FAILED,
        params={"operate_type": 101},
        attempts=1,
        last_error=original,
    )
    client.force_login(alice)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    with translation.override("zh-hans"):
        words = errors.explain(original)
    assert words in html
    assert "<summary>平台原文</summary>" in html and original in html


# --- Django's words: password rules, the admin -------------------------------------------------


@pytest.fixture
def ada(shop_a):
    return testing.make_user("ada", shop_a, Role.ADMIN)


def test_the_password_rules_on_the_staff_form_are_chinese(client, ada, shop_a):
    client.force_login(ada)
    response = client.post(
        f"/team/staff/?shop={shop_a.pk}",
        {
            "form": "create",
            "shop": shop_a.pk,
            "create-username": "newbie",
            "create-password1": "abc",
            "create-password2": "abc",
            "create-role": Role.AGENT,
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "密码太短" in html
    assert "too short" not in html and "at least 8 characters" not in html


def admin_fields():
    for model in admin.site._registry:
        if not model.__module__.startswith("aftersales."):
            continue
        for field in model._meta.get_fields():
            if field.concrete and not field.auto_created:
                yield f"{model.__name__}.{field.name}", field.verbose_name


@pytest.mark.parametrize("name,verbose_name", list(admin_fields()), ids=lambda v: str(v))
def test_every_field_the_admin_shows_has_a_chinese_label(name, verbose_name):
    assert isinstance(verbose_name, Promise), name  # else Django shows the field's name
    zh = in_language("zh-hans", verbose_name)
    assert CJK.search(zh) or zh in PROPER_NAMES, (name, zh)


def test_the_admins_shop_label_is_chinese(client, shop_a):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(operator)
    html = client.get("/admin/policy/policyversion/add/").content.decode()
    assert ">店铺:<" in html or ">店铺：<" in html
    assert ">Shop:<" not in html
