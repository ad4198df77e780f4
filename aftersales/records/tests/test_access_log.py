"""The access log (R6.5): every view of personal data in clear and every export, read and
exported (Excel) by the shop admin and the auditor; another shop's is never shown."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.shops.choices import Role


@pytest.fixture
def people(shop_a, shop_b, alice, audrey, carol):
    return {
        "supervisor": testing.make_user("sue", shop_a, Role.SUPERVISOR),
        "admin": testing.make_user("adam", shop_a, Role.ADMIN),
        "auditor": audrey,
        "agent": alice,
        "other_admin": testing.make_user("bea", shop_b, Role.ADMIN),
    }


@pytest.fixture
def revealed(client, shop_a, people):
    case = testing.make_case(testing.make_order(shop_a))
    client.force_login(people["supervisor"])
    assert client.post(f"/cases/{case.pk}/reveal/").status_code == 200
    client.logout()
    return case


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_r6_5_a_reveal_is_in_the_access_log_of_admin_and_auditor(client, people, revealed, role):
    client.force_login(people[role])
    response = client.get("/records/access-log/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kind="pii_revealed"' in html and "sue" in html
    assert f"/cases/{revealed.pk}/" in html
    assert "13812345678" not in html  # the log says who saw it, not what


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("supervisor", 403)])
def test_r6_5_other_roles_do_not_read_the_log(client, people, revealed, role, status):
    client.force_login(people[role])
    assert client.get("/records/access-log/").status_code == status
    assert client.get("/records/access-log.xlsx").status_code == status


def test_r6_5_another_shops_log_is_never_shown(client, people, revealed, shop_a):
    client.force_login(people["other_admin"])
    html = client.get("/records/access-log/").content.decode()
    assert "pii_revealed" not in html
    assert client.get(f"/records/access-log/?shop={shop_a.pk}").status_code == 404
    assert client.get(f"/api/v1/records/access-log?shop={shop_a.pk}").status_code == 404
    assert client.get("/api/v1/records/access-log").json()["items"] == []


def test_r6_5_the_log_exports_to_excel_and_the_export_is_logged(client, people, revealed, shop_a):
    client.force_login(people["auditor"])
    response = client.get("/records/access-log.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "访问时间"
    assert rows[1][2] == "sue" and rows[1][4] == revealed.pk
    logged = AuditEvent.objects.get(type="access_log_exported")
    assert logged.actor_user_id == people["auditor"].pk and logged.payload["rows"] == 1
    assert verify_chain(shop_a.pk) is None
    # The next reading shows the export too.
    kinds = [i["kind"] for i in client.get("/api/v1/records/access-log").json()["items"]]
    assert kinds == ["access_log_exported", "pii_revealed"]


def test_r6_5_an_analytics_export_is_in_the_log(client, people, shop_a):
    from aftersales.analytics.services import request_export

    with __import__("django.test").test.TestCase.captureOnCommitCallbacks(execute=True):
        request_export(
            kind="cases",
            filters={"period": "custom", "first": "2026-01-01", "last": "2026-01-31"},
            by=testing.actor(people["admin"]),
        )
    client.force_login(people["auditor"])
    items = client.get("/api/v1/records/access-log").json()["items"]
    assert [(i["kind"], i["personal_data"]) for i in items] == [("report_exported", "clear")]


def test_r6_5_the_log_speaks_english_too(client, people, revealed):
    client.force_login(people["admin"])
    html = client.get("/records/access-log/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Personal data viewed in clear" in html
