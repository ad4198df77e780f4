"""R8.7 the Excel export of the agents' queue with its current filters: the queue page's
button posts its filters, the export is written in the background through the workbench's
declared case list filter (`settings.AFTERSALES_CASE_LIST_FILTER`, analytics does not import
the workbench), and holds exactly the cases the queue shows, of the requester's shops only,
masked per role, on the audit trail with its filter and row count."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.utils import translation
from openpyxl import load_workbook

from aftersales import testing
from aftersales.analytics.models import Export, ExportKind, ExportStatus
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus
from aftersales.cases.models import Case
from aftersales.shops.choices import Role

from .support import at, client_for, sh

NOW = sh(2026, 5, 9, 12)


def export_queue(client, django_capture_on_commit_callbacks, **params):
    with at(NOW), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/export/", params)
    assert response.status_code == 302, response.content
    assert "/analytics/exports/" in response["Location"]
    return Export.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def body_of(client, export):
    response = client.get(f"/analytics/exports/{export.pk}/download/")
    assert response.status_code == 200
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    rows = [list(row) for row in book["售后单"].iter_rows(values_only=True)]
    return rows[0], rows[1:]


def test_r8_7_the_queue_page_offers_the_export_with_its_filters(shop_world, alice):
    with at(NOW):
        response = client_for(alice).get("/", {"status": "rejected", "q": "x", "page": "2"})
    html = response.content.decode()
    assert 'action="/export/"' in html
    assert '<input type="hidden" name="status" value="rejected">' in html
    assert '<input type="hidden" name="q" value="x">' in html
    assert 'name="page"' not in html.split('action="/export/"')[1].split("</form>")[0]
    assert "导出 Excel" in html


def test_r8_7_the_queue_export_holds_exactly_the_filtered_cases(
    shop_world, shop_a, alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    export = export_queue(client, django_capture_on_commit_callbacks, status="rejected")
    assert export.kind == ExportKind.QUEUE and export.status == ExportStatus.DONE
    assert export.shop_ids == [shop_a.pk]
    header, body = body_of(client, export)
    rejected = list(
        Case.objects.filter(shop=shop_a, status=CaseStatus.REJECTED).values_list("pk", flat=True)
    )
    assert len(rejected) == 1
    assert [row[0] for row in body] == rejected
    column = {name: i for i, name in enumerate(header)}
    # alice is an agent: the buyer's contact data is masked.
    assert body[0][column["买家手机"]] == "138****5678"
    event = AuditEvent.objects.get(type="report_exported")
    assert event.shop_id == shop_a.pk and event.actor_user_id == alice.pk
    assert event.payload["kind"] == "queue"
    assert event.payload["filter"] == {"status": "rejected"}
    assert event.payload["rows"] == 1 and event.payload["personal_data"] == "masked"


def test_r8_7_the_default_queue_export_is_the_open_cases(
    shop_world, shop_a, alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    export = export_queue(client, django_capture_on_commit_callbacks)
    _, body = body_of(client, export)
    open_ids = sorted(
        Case.objects.filter(shop=shop_a)
        .exclude(status__in=TERMINAL_STATUSES)
        .values_list("pk", flat=True)
    )
    assert sorted(row[0] for row in body) == open_ids
    assert export.total_rows == len(open_ids) >= 1


def test_r8_7_another_shops_user_gets_nothing_of_shop_a(
    shop_world, shop_a, shop_b, alice, django_capture_on_commit_callbacks
):
    bob = testing.make_user("bob", shop_b, Role.AGENT)
    bobs = client_for(bob)
    export = export_queue(bobs, django_capture_on_commit_callbacks, status="all")
    _, body = body_of(bobs, export)
    ids = {row[0] for row in body}
    assert ids == set(Case.objects.filter(shop=shop_b).values_list("pk", flat=True))
    assert not ids & set(Case.objects.filter(shop=shop_a).values_list("pk", flat=True))
    # Asking for shop A's queue is a 404, and alice's export is not bob's to see or download.
    with at(NOW):
        assert bobs.post("/export/", {"shop": str(shop_a.pk)}).status_code == 404
    alices = export_queue(client_for(alice), django_capture_on_commit_callbacks)
    assert bobs.get(f"/analytics/exports/{alices.pk}/").status_code == 404
    assert bobs.get(f"/analytics/exports/{alices.pk}/download/").status_code == 404


@pytest.mark.parametrize(("language", "words"), [("zh-hans", "工作台售后单"), ("en", "Case queue")])
def test_r8_7_the_queue_export_kind_is_labelled(language, words):
    with translation.override(language):
        assert str(ExportKind.QUEUE.label) == words
    with translation.override(language):
        assert str(translation.gettext("Export to Excel")) in {"导出 Excel", "Export to Excel"}
