"""Who may see and do what on every workbench page, for each role.

agent, supervisor, admin: read and act; auditor: reads everything, no forms, any change is a
403 and changes nothing; shop B's agent: shop A's case is a 404, as if it did not exist;
anonymous: sent to the login page. Refusals are checked for what did NOT happen too.
"""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_lazy

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus
from aftersales.cases.models import Case
from aftersales.core.errors import InvalidInput

pytestmark = pytest.mark.django_db

READERS = ["agent", "supervisor", "admin", "auditor"]
WRITERS = ["agent", "supervisor", "admin"]


@pytest.fixture
def case(shop_a):
    return testing.make_case(testing.make_order(shop_a), reason="wrong_size")


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English, whatever catalogue is compiled."""
    client.cookies["django_language"] = "en"


def client_for(client, personas, role):
    if role != "anonymous":
        client.force_login(personas[role])
    return client


def events(case) -> list[str]:
    return list(AuditEvent.objects.filter(case=case).order_by("seq").values_list("type", flat=True))


# --- Reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_every_role_of_the_shop_sees_the_queue_and_the_case(client, personas, case, role):
    client = client_for(client, personas, role)
    queue = client.get("/")
    assert queue.status_code == 200
    assert f'data-case="{case.pk}"' in queue.content.decode()
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert case.order.platform_order_id in page.content.decode()


def test_another_shops_agent_gets_404_for_the_case_and_an_empty_queue(client, personas, case):
    client = client_for(client, personas, "other_shop")
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    queue = client.get(f"/?q={case.pk}&status=all")
    assert queue.status_code == 200
    assert f'data-case="{case.pk}"' not in queue.content.decode()


def test_a_missing_case_is_the_same_404(client, alice):
    client.force_login(alice)
    assert client.get("/cases/999999/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/cases/1/"])
def test_anonymous_is_sent_to_the_login_page(client, case, path):
    path = path.replace("1", str(case.pk))
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_htmx_refresh_reloads_the_login_page_whole(client, db):
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/"


def test_the_login_page_is_open_and_a_logged_in_user_goes_to_the_queue(client, alice):
    assert client.get("/login/").status_code == 200
    client.force_login(alice)
    assert client.get("/login/")["Location"] == "/"


@pytest.mark.parametrize("role", WRITERS)
def test_writers_see_the_action_forms(client, personas, case, role):
    html = client_for(client, personas, role).get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="approve"' in html
    assert 'data-action="reject"' in html
    assert 'data-action="note"' in html


def test_the_auditor_sees_no_action_forms(client, personas, case):
    html = client_for(client, personas, "auditor").get(f"/cases/{case.pk}/").content.decode()
    assert "data-action=" not in html
    assert "/do/" not in html
    assert "/reveal/" not in html
    assert 'id="actions"' not in html


# --- Acting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", WRITERS)
def test_writers_can_act(client, personas, case, role):
    client = client_for(client, personas, role)
    response = client.post(f"/cases/{case.pk}/do/approve/", {"note": "同意"})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_RETURN
    assert events(case)[-1] == "case_approved"


@pytest.mark.parametrize(
    ("role", "status"), [("auditor", 403), ("other_shop", 404), ("anonymous", 302)]
)
@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("approve", {"note": ""}),
        ("reject", {"reason_code": "no_evidence", "note": "x"}),
        ("note", {"text": "内部备注"}),
        ("message", {"text": "您好"}),
        ("take", {}),
        ("close", {"note": "x"}),
    ],
)
def test_others_cannot_act_and_nothing_changes(client, personas, case, role, status, action, data):
    before = events(case)
    response = client_for(client, personas, role).post(f"/cases/{case.pk}/do/{action}/", data)
    assert response.status_code == status
    if role == "anonymous":
        assert response["Location"].startswith("/login/")
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW
    assert case.assignee_id is None
    assert events(case) == before


def test_an_action_is_post_only(client, alice, case):
    client.force_login(alice)
    assert client.get(f"/cases/{case.pk}/do/approve/").status_code == 405


def test_an_unknown_action_is_404(client, alice, case):
    client.force_login(alice)
    assert client.post(f"/cases/{case.pk}/do/teleport/").status_code == 404


def awaiting_inspection(case: Case) -> Case:
    services.approve_case(case=case, by=testing.SYSTEM)
    return services.receive_return(case=case, by=testing.SYSTEM)


def test_a_refused_action_shows_the_reason_and_changes_nothing(client, alice, case):
    case = awaiting_inspection(case)
    client.force_login(alice)
    before = events(case)
    # A failed inspection must say what failed: the service refuses it without notes.
    response = client.post(
        f"/cases/{case.pk}/do/inspect/", {"result": "fail", "condition": "damaged"}, follow=True
    )
    html = response.content.decode()
    assert "message-error" in html
    assert "Describe what failed the inspection." in html
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_INSPECTION
    assert events(case) == before


def test_the_refusal_is_in_the_active_language(client, alice, case):
    case = awaiting_inspection(case)
    client.cookies["django_language"] = "zh-hans"
    client.force_login(alice)
    failed_inspection = {"result": "fail", "condition": "damaged"}
    chinese = client.post(f"/cases/{case.pk}/do/inspect/", failed_inspection, follow=True)
    message = InvalidInput(gettext_lazy("Describe what failed the inspection."))
    assert message.render("zh-hans") in chinese.content.decode()
    assert message.render("zh-hans") != message.render("en")
    client.cookies["django_language"] = "en"
    response = client.post(f"/cases/{case.pk}/do/inspect/", failed_inspection, follow=True)
    assert "Describe what failed the inspection." in response.content.decode()


def test_an_invalid_form_is_a_message_and_changes_nothing(client, alice, case):
    client.force_login(alice)
    before = events(case)
    response = client.post(f"/cases/{case.pk}/do/request-evidence/", {"note": ""}, follow=True)
    assert "message-error" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW
    assert events(case) == before


def test_an_action_not_possible_in_the_state_is_refused(client, alice, case):
    client.force_login(alice)
    before = events(case)
    response = client.post(f"/cases/{case.pk}/do/receive-return/", follow=True)
    assert "not possible for the case as it is now" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW
    assert events(case) == before


def test_the_csrf_token_is_required(alice, case):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/cases/{case.pk}/do/approve/", {"note": ""}).status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW


# --- Personal data (R6.5) --------------------------------------------------------------------


def test_the_buyer_is_masked_for_everyone_by_default(client, personas, case):
    for role in READERS:
        client.force_login(personas[role])
        html = client.get(f"/cases/{case.pk}/").content.decode()
        assert "13812345678" not in html  # the buyer's phone
        assert "138****5678" in html
        assert "13987654321" not in html  # the receiver's phone
        assert "文三路100号" not in html  # the street
        assert "张三丰" not in html


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_can_reveal_and_it_is_on_the_record(client, personas, case, role):
    client = client_for(client, personas, role)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/cases/{case.pk}/reveal/" in html
    response = client.post(f"/cases/{case.pk}/reveal/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "13812345678" in html
    assert "浙江省杭州市西湖区文三路100号" in html
    event = AuditEvent.objects.filter(case=case, type="pii_revealed").get()
    assert event.actor_user_id == personas[role].pk
    assert event.payload["buyer"] == case.order.buyer.platform_buyer_id
    # Revealed once, for that response: the next page view is masked again.
    assert "13812345678" not in client.get(f"/cases/{case.pk}/").content.decode()


def test_reveal_without_htmx_renders_the_whole_page(client, sam, case):
    client.force_login(sam)
    response = client.post(f"/cases/{case.pk}/reveal/")
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert "<html" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"), [("agent", 403), ("auditor", 403), ("other_shop", 404), ("anonymous", 302)]
)
def test_others_cannot_reveal_and_nothing_is_recorded(client, personas, case, role, status):
    if role in {"agent", "auditor"}:
        client.force_login(personas[role])
        assert f"/cases/{case.pk}/reveal/" not in client.get(f"/cases/{case.pk}/").content.decode()
    client = client_for(client, personas, role)
    response = client.post(f"/cases/{case.pk}/reveal/")
    assert response.status_code == status
    assert "13812345678" not in response.content.decode()
    assert not AuditEvent.objects.filter(type="pii_revealed").exists()


# --- The queue's fragment --------------------------------------------------------------------


def test_the_htmx_refresh_returns_only_the_rows_and_the_counts(client, alice, case):
    client.force_login(alice)
    response = client.get("/?type=return_refund", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith("<tbody")
    assert 'hx-get="/?type=return_refund"' in html  # the next refresh keeps the filters
    assert 'id="buckets"' in html and 'hx-swap-oob="true"' in html
    assert "<html" not in html
    assert f'data-case="{case.pk}"' in html


def test_case_ids_are_not_confused_across_shops_in_the_url(client, carol, shop_b, case):
    """Shop B's agent acting on shop A's case id is a 404 even for a case B could act on."""
    client.force_login(carol)
    own = testing.make_case(testing.make_order(shop_b))
    assert client.post(f"/cases/{case.pk}/do/approve/", {"note": ""}).status_code == 404
    assert client.post(f"/cases/{own.pk}/do/approve/", {"note": ""}).status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.PENDING_REVIEW
