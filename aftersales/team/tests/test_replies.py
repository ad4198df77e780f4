"""R3.5 reply templates: one list, in the database, edited in the admin.

Proves:
- the installation's defaults exist after migrating: every message of the two old lists, with
  Chinese names, using only variables the code fills in (and the admin's help names them);
- a shop's own template replaces the default with the same code for that shop only: another
  shop still gets the default (no shop's wording reaches another's buyers);
- an inactive template is not offered: not on the case page and not accepted when posted;
  a shop's inactive row hides the default for that shop only;
- a text with an unknown variable or a stray brace renders as written instead of failing;
- the admin lists and edits templates, refuses unknown variables, never deletes a default;
  only staff reach it.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.models import Case
from aftersales.team import replies
from aftersales.team.models import REPLY_VARIABLES_HELP, ReplyTemplate

pytestmark = pytest.mark.django_db

DEFAULT_CODES = [
    "received",
    "need_photos",
    "return_address",
    "refund_submitted",
    "delay",
    "in_progress",
    "delay_notice",
    "return_reminder",
    "evidence_reminder",
    "refund_progress",
    "incident_apology",
]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"


def new_case(shop) -> Case:
    return testing.make_case(testing.make_order(shop, status="delivered"), reason="wrong_size")


def codes(templates) -> list[str]:
    return [t.code for t in templates]


def page_templates(client, case: Case) -> dict[str, str]:
    """The filled-in texts the case page hands to case.js, by code."""
    html = client.get(f"/cases/{case.pk}/").content.decode()
    found = re.search(
        r'<script id="message-templates" type="application/json">(.*?)</script>', html
    )
    assert found, "the case page has no message templates"
    return json.loads(found.group(1))


def override(shop, code: str, **fields) -> ReplyTemplate:
    default = ReplyTemplate.objects.get(shop=None, code=code)
    values = {"name": default.name, "text": default.text, "position": default.position}
    return ReplyTemplate.objects.create(shop=shop, code=code, **{**values, **fields})


# --- The defaults ----------------------------------------------------------------------------


def test_the_defaults_merge_both_old_lists_in_chinese():
    defaults = list(ReplyTemplate.objects.filter(shop=None).order_by("position"))

    assert codes(defaults) == DEFAULT_CODES
    assert all(re.search(r"[\u4e00-\u9fff]{2}", t.name) for t in defaults)
    assert all(re.search(r"[\u4e00-\u9fff]{4}", t.text) for t in defaults)
    assert all(t.is_active for t in defaults)
    for template in defaults:
        assert replies.variables_in(template.text) <= replies.VARIABLES, template.code


def test_the_admin_help_names_every_variable():
    for name in replies.VARIABLES:
        assert "{" + name + "}" in str(REPLY_VARIABLES_HELP)


def test_every_variable_is_filled_in_from_the_case(shop_a):
    case = new_case(shop_a)
    text = (
        "{case_id}|{order_id}|{amount}|{requested_amount}|{deadline}|{shop}|{reply_by}"
        "|{refund_progress}"
    )
    template = ReplyTemplate(code="all", name="全部", text=text)

    filled = replies.fill(template, case).split("|")

    # A case with no platform after-sale is known to the buyer by its order number.
    assert filled[:2] == [case.order.platform_order_id, case.order.platform_order_id]
    assert all(re.fullmatch(r"\d+\.\d\d", amount) for amount in filled[2:4])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", filled[4])  # the first-response clock
    assert filled[5] == shop_a.name
    assert filled[6] == f"在 {filled[4]} 前"
    assert filled[7].startswith(f"申请退款 {filled[3]} 元")


# --- What the texts say (issue 14) -----------------------------------------------------------


def filled_default(case: Case, code: str) -> str:
    return replies.fill(ReplyTemplate.objects.get(shop=None, code=code), case)


def test_r3_5_refund_progress_states_what_was_refunded_once_it_was(
    shop_a, django_capture_on_commit_callbacks
):
    """退款进度 on a case refunded 55.00 said "申请退款 49.00 元，我们正在处理"."""
    order = testing.make_order(shop_a, status="shipped", lines=[testing.Line(paid_amount_fen=5500)])
    case = testing.make_case(order, type="refund_shipped", requested_amount_fen=4900)
    assert "申请退款 49.00 元，我们正在处理" in filled_default(case, "refund_progress")

    services.approve_case(case=case, by=testing.SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        # The whole item, more than the buyer asked for: the text must say what left.
        services.refund_case(
            case=case, by=testing.SYSTEM, goods_amount_fen=5500, reason="按实付全额退款"
        )
    case.refresh_from_db()
    assert case.refund_status == "refunded"

    text = filled_default(case, "refund_progress")
    assert "已退款 55.00 元" in text
    assert "申请退款" not in text and "正在处理" not in text


def test_r3_5_no_default_text_says_在_尽快_前_when_no_deadline_runs(shop_a):
    case = new_case(shop_a)
    case.clocks.update(state="stopped")
    texts = {t.code: replies.fill(t, case) for t in replies.templates_for(shop_a.pk)}

    assert not [code for code, text in texts.items() if re.search(r"在\s*尽快\s*前", text)]
    assert "将尽快给您答复" in texts["received"]
    assert "请尽快寄回商品" in texts["return_address"]
    assert "我们会尽快给您结果" in texts["delay"]
    # A shop's own wording of "在 {deadline} 前" reads right too.
    own = ReplyTemplate(code="own", name="自定义", text="请在 {deadline} 前寄回。")
    assert replies.fill(own, case) == "请尽快寄回。"


def test_r3_5_with_a_deadline_the_texts_name_it(shop_a):
    case = new_case(shop_a)
    due = replies.variables_for(case)["deadline"]
    assert f"将在 {due} 前给您答复" in filled_default(case, "received")


def test_r3_5_the_texts_quote_the_platforms_after_sale_number_never_our_case_id(shop_a):
    case = testing.make_case(
        testing.make_order(shop_a), reason="wrong_size", platform_case_id="7301234567890"
    )
    for code in ("delay_notice", "return_reminder", "evidence_reminder", "refund_progress"):
        text = filled_default(case, code)
        assert "单号 7301234567890" in text, code
        assert f"售后单 {case.pk}" not in text and f"单号 {case.pk}）" not in text, code


# --- Per shop --------------------------------------------------------------------------------


def test_a_shops_own_template_replaces_the_default_for_that_shop_only(
    client, shop_a, shop_b, alice, carol
):
    override(shop_a, "received", name="A店专用回复", text="A店：订单 {order_id} 已收到。")
    case_a, case_b = new_case(shop_a), new_case(shop_b)

    offered_a, offered_b = replies.templates_for(shop_a.pk), replies.templates_for(shop_b.pk)
    assert codes(offered_a) == codes(offered_b) == DEFAULT_CODES  # replaced, not added
    assert next(t for t in offered_a if t.code == "received").name == "A店专用回复"
    assert next(t for t in offered_b if t.code == "received").shop_id is None

    client.force_login(alice)
    assert page_templates(client, case_a)["received"] == (
        f"A店：订单 {case_a.order.platform_order_id} 已收到。"
    )
    assert "A店专用回复" in client.get(f"/cases/{case_a.pk}/").content.decode()
    client.force_login(carol)
    html = client.get(f"/cases/{case_b.pk}/").content.decode()
    assert "A店" not in page_templates(client, case_b)["received"] and "A店专用回复" not in html


def test_an_inactive_template_is_not_offered(client, shop_a, shop_b, alice):
    ReplyTemplate.objects.filter(shop=None, code="delay").update(is_active=False)
    override(shop_a, "need_photos", is_active=False)  # shop A switches a default off
    case = new_case(shop_a)

    assert "delay" not in codes(replies.templates_for(shop_a.pk))
    assert "need_photos" not in codes(replies.templates_for(shop_a.pk))
    assert "need_photos" in codes(replies.templates_for(shop_b.pk))
    assert replies.template_for(shop_a.pk, "need_photos") is None

    client.force_login(alice)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'value="delay"' not in html and 'value="need_photos"' not in html
    assert {"delay", "need_photos"}.isdisjoint(page_templates(client, case))
    # Posted anyway, the code is not a valid choice: nothing is sent.
    response = client.post(
        f"/cases/{case.pk}/do/message/", {"template": "delay", "text": "您好"}, follow=True
    )
    assert "message-error" in response.content.decode()
    assert not AuditEvent.objects.filter(case=case, type="buyer_message_sent").exists()


def test_the_queue_bulk_bar_offers_the_shops_templates(client, shop_a, alice):
    override(shop_a, "delay_notice", name="A店延迟说明")
    ReplyTemplate.objects.filter(shop=None, code="incident_apology").update(is_active=False)

    client.force_login(alice)
    html = client.get("/").content.decode()

    assert '<option value="delay_notice">A店延迟说明</option>' in html
    assert 'value="incident_apology"' not in html


def test_the_bulk_bar_of_someone_in_two_shops_names_each_code_once(shop_a, shop_b):
    override(shop_a, "delay", name="A店延迟致歉")
    override(shop_b, "delay", is_active=False)

    choices = dict(replies.choices_for_shops([shop_a.pk, shop_b.pk]))

    assert list(choices) == DEFAULT_CODES
    assert choices["delay"] == "A店延迟致歉"  # shop B does not offer it
    assert choices["received"] == "已收到申请"


# --- Texts an admin got wrong ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("订单 {order_id}，{unknown}", "订单 P1，{unknown}"),
        ("{order_id.x} {order_id[0]} {order_id:>5} {order_id!r} {}", None),
        ("少了括号 {order_id", None),
        ("多了括号 order_id}", None),
        ("{{order_id}} 是 {order_id}", "{order_id} 是 P1"),
    ],
)
def test_a_text_renders_what_it_cannot_fill_as_written(text, expected):
    assert replies.render(text, {"order_id": "P1"}) == (text if expected is None else expected)


def test_an_unknown_variable_does_not_break_the_case_page(client, shop_a, alice):
    override(shop_a, "received", text="订单 {order_id} 的 {buyer_name} 您好 {")
    override(shop_a, "delay", text="{nonsense} 订单 {order_id}")
    case = new_case(shop_a)

    client.force_login(alice)
    texts = page_templates(client, case)

    assert texts["received"] == "订单 {order_id} 的 {buyer_name} 您好 {"
    assert texts["delay"] == f"{{nonsense}} 订单 {case.order.platform_order_id}"


# --- The admin -------------------------------------------------------------------------------


@pytest.fixture
def operator(db) -> Client:
    user = get_user_model().objects.create_superuser("root", password="pw-not-used-1")
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_the_admin_lists_and_filters_templates_by_shop(operator, shop_a):
    override(shop_a, "received", name="A店专用回复")

    listed = operator.get("/admin/team/replytemplate/")
    only_a = operator.get(f"/admin/team/replytemplate/?shop__id__exact={shop_a.pk}")
    defaults = operator.get("/admin/team/replytemplate/?shop__isnull=True")

    assert listed.status_code == 200
    assert "A店专用回复" in listed.content.decode() and "已收到申请" in listed.content.decode()
    assert [t.code for t in only_a.context["cl"].result_list] == ["received"]
    assert len(defaults.context["cl"].result_list) == len(DEFAULT_CODES)


def test_the_admin_adds_a_shops_template(operator, shop_a):
    response = operator.post(
        "/admin/team/replytemplate/add/",
        {
            "shop": shop_a.pk,
            "code": "received",
            "name": "A店专用回复",
            "text": "订单 {order_id} 已收到",
            "position": 10,
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert ReplyTemplate.objects.get(shop=shop_a, code="received").name == "A店专用回复"


@pytest.mark.parametrize(
    "shop,text,error",
    [
        (True, "您好 {buyer_name}", "Unknown variables: {buyer_name}."),
        (True, "您好 {order_id", "A brace is not closed"),
        (
            False,
            "已有默认模板",
            "A default template with this code already exists.",
        ),  # a second default with the same code
    ],
)
def test_the_admin_refuses_what_would_break(operator, shop_a, shop, text, error):
    before = ReplyTemplate.objects.count()
    response = operator.post(
        "/admin/team/replytemplate/add/",
        {
            "shop": shop_a.pk if shop else "",
            "code": "received",
            "name": "回复",
            "text": text,
            "position": 10,
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ReplyTemplate.objects.count() == before


def test_the_admin_deletes_a_shops_template_but_not_a_default(operator, shop_a):
    own = override(shop_a, "received")
    default = ReplyTemplate.objects.get(shop=None, code="received")

    assert operator.get(f"/admin/team/replytemplate/{default.pk}/delete/").status_code == 403
    response = operator.post(f"/admin/team/replytemplate/{own.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ReplyTemplate.objects.filter(pk=own.pk).exists()
    assert replies.template_for(shop_a.pk, "received") == default


def test_only_staff_reach_the_templates_admin(client, alice):
    assert client.get("/admin/team/replytemplate/").status_code == 302
    client.force_login(alice)
    response = client.get("/admin/team/replytemplate/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
