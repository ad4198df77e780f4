"""Evidence files through the API: upload, checks by content, download.

Proves:
- R4.1: a buyer's photo (a real PNG) and video (an MP4 `ftyp isom` header) are stored with
  their sha256, their sniffed type and a generated name — never the name they were uploaded
  under — and the detail lists them;
- bad input changes nothing: a text file named photo.jpg, an HTML page, an empty file or a
  file over the size limit is a 400 ``invalid_input``; no row, no stored file, no audit event;
- downloading returns the exact bytes, as the sniffed content type, with
  ``X-Content-Type-Options: nosniff`` (an upload cannot become a page in a browser);
- tenant isolation: another shop's user gets 404 on the download, and evidence cannot be
  reached through a different case of the same shop either.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.models import Evidence
from aftersales.testing import png_bytes

from .support import API, assert_error, db_state, mp4_bytes, stored_files

SYSTEM = testing.SYSTEM


@pytest.fixture
def case(shop_a):
    return testing.make_case(testing.make_order(shop_a), reason="quality_issue")


def upload(client, case, name: str, content: bytes, content_type: str, **fields):
    return client.post(
        f"{API}/cases/{case.pk}/evidence",
        {"file": SimpleUploadedFile(name, content, content_type=content_type), **fields},
    )


def download(client, evidence: Evidence):
    return client.get(f"{API}/cases/{evidence.case_id}/evidence/{evidence.pk}/file")


def body_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Upload ----------------------------------------------------------------------------------


def test_r4_1_png_is_stored_with_sha256_and_a_generated_name(case, shop_a, alice_client):
    png = png_bytes(4, 3)
    files_before = stored_files()

    response = upload(alice_client, case, "我的照片 IMG_0001.png", png, "image/png", note="破损")

    assert response.status_code == 201, response.content
    evidence = Evidence.objects.get(case=case)
    assert evidence.sha256 == hashlib.sha256(png).hexdigest()
    assert (evidence.kind, evidence.content_type, evidence.size_bytes) == (
        "image",
        "image/png",
        len(png),
    )
    assert evidence.file.name.startswith(f"evidence/{shop_a.pk}/")
    assert evidence.file.name.endswith(".png")
    assert "照片" not in evidence.file.name and "IMG_0001" not in evidence.file.name
    assert evidence.original_name == "我的照片 IMG_0001.png"  # kept, as data only
    assert stored_files() - files_before == {evidence.file.name.removeprefix("evidence/")}
    with evidence.file.open("rb") as stored:
        assert stored.read() == png
    (listed,) = response.json()["evidence"]
    assert listed["sha256"] == evidence.sha256 and listed["note"] == "破损"


def test_r4_1_buyer_video_is_stored_as_mp4_and_the_case_returns_to_review(case, alice_client):
    services.request_evidence(case=case, note="请上传开箱视频", by=SYSTEM)
    video = mp4_bytes()

    response = alice_client.post(
        f"{API}/cases/{case.pk}/buyer-evidence",
        {"files": [SimpleUploadedFile("VID_0001.MOV.exe", video, "application/octet-stream")]},
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending_review"
    evidence = Evidence.objects.get(case=case)
    assert (evidence.kind, evidence.content_type, evidence.source) == (
        "video",
        "video/mp4",
        "buyer",
    )
    assert evidence.sha256 == hashlib.sha256(video).hexdigest()
    assert evidence.file.name.endswith(".mp4") and "VID_0001" not in evidence.file.name


def test_two_uploads_of_one_name_get_two_names(case, alice_client):
    for _ in range(2):
        assert upload(alice_client, case, "a.png", png_bytes(), "image/png").status_code == 201
    names = list(Evidence.objects.filter(case=case).values_list("file", flat=True))
    assert len(set(names)) == 2


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        pytest.param("photo.jpg", b"just some text, not a photo\n" * 20, "image/jpeg", id="text"),
        pytest.param(
            "photo.png",
            b"<html><script>alert(document.cookie)</script></html>",
            "image/png",
            id="html",
        ),
        pytest.param(
            "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml", id="svg"
        ),
        pytest.param("empty.jpg", b"", "image/jpeg", id="empty"),
        pytest.param("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf", id="pdf"),
    ],
)
def test_r4_1_a_file_that_is_not_a_photo_or_video_is_400_and_nothing_is_stored(
    case, alice_client, name, content, content_type
):
    before = db_state()
    response = upload(alice_client, case, name, content, content_type)
    assert_error(response, 400, "invalid_input")
    assert db_state() == before  # no row, no file, no audit event


def test_buyer_evidence_with_one_bad_file_stores_no_row(case, alice_client):
    services.request_evidence(case=case, note="请上传照片", by=SYSTEM)
    before = db_state()
    response = alice_client.post(
        f"{API}/cases/{case.pk}/buyer-evidence",
        {
            "files": [
                SimpleUploadedFile("ok.png", png_bytes(), "image/png"),
                SimpleUploadedFile("photo.jpg", b"not an image at all", "image/jpeg"),
            ]
        },
    )
    assert_error(response, 400, "invalid_input")
    after = db_state()
    # The first file may reach the disk before the second is refused, as an orphan the
    # rollback leaves behind; the database must hold nothing of either.
    assert {k: v for k, v in after.items() if k != "files"} == {
        k: v for k, v in before.items() if k != "files"
    }
    assert after["counts"]["Evidence"] == before["counts"]["Evidence"]


def test_upload_without_a_file_is_400(case, alice_client):
    before = db_state()
    response = alice_client.post(f"{API}/cases/{case.pk}/evidence", {"note": "x"})
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


def test_upload_with_an_unknown_source_is_400(case, alice_client):
    before = db_state()
    response = upload(alice_client, case, "a.png", png_bytes(), "image/png", source="buyer")
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


@override_settings(EVIDENCE_MAX_IMAGE_BYTES=64)
def test_a_small_image_over_a_small_limit_is_400(case, alice_client):
    png = png_bytes(8, 8)
    assert len(png) > 64
    before = db_state()
    response = upload(alice_client, case, "a.png", png, "image/png")
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


@override_settings(EVIDENCE_MAX_IMAGE_BYTES=20_000)
def test_an_image_over_the_limit_is_400_and_one_at_the_limit_is_accepted(case, alice_client):
    big = png_bytes(min_bytes=30_000)
    assert len(big) > 20_000
    before = db_state()
    assert_error(upload(alice_client, case, "big.png", big, "image/png"), 400, "invalid_input")
    assert db_state() == before

    fits = png_bytes(min_bytes=19_000)
    assert len(fits) <= 20_000
    assert upload(alice_client, case, "fits.png", fits, "image/png").status_code == 201


@override_settings(EVIDENCE_MAX_IMAGE_BYTES=32, EVIDENCE_MAX_VIDEO_BYTES=10_000_000)
def test_the_video_limit_is_separate_from_the_image_limit(case, alice_client):
    video = mp4_bytes()
    assert len(video) > 32
    assert upload(alice_client, case, "v.mp4", video, "video/mp4").status_code == 201


# --- Download --------------------------------------------------------------------------------


@pytest.fixture
def stored_png(case):
    png = png_bytes(3, 3)
    evidence = services.attach_evidence(
        case=case,
        upload=services.Upload(stream=io.BytesIO(png), name="page.html"),
        source="merchant",
        by=SYSTEM,
    )
    return evidence, png


def test_download_returns_the_bytes_as_the_sniffed_type_with_nosniff(stored_png, alice_client):
    evidence, png = stored_png
    response = download(alice_client, evidence)
    assert response.status_code == 200
    assert body_bytes(response) == png
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "page.html" not in response["Content-Disposition"]
    assert hashlib.sha256(png).hexdigest() == evidence.sha256


def test_download_url_in_the_detail_works(stored_png, alice_client):
    evidence, png = stored_png
    detail = alice_client.get(f"{API}/cases/{evidence.case_id}").json()
    response = alice_client.get(detail["evidence"][0]["url"])
    assert body_bytes(response) == png


def test_auditor_of_the_shop_can_download(stored_png, audrey_client):
    evidence, png = stored_png
    assert body_bytes(download(audrey_client, evidence)) == png


def test_tenant_isolation_another_shops_user_gets_404_on_download(stored_png, carol_client):
    evidence, png = stored_png
    response = download(carol_client, evidence)
    body = assert_error(response, 404, "not_found")
    assert png not in response.content
    missing = carol_client.get(f"{API}/cases/987654321/evidence/{evidence.pk}/file")
    assert missing.json() == body


def test_tenant_isolation_evidence_is_reached_only_through_its_own_case(
    stored_png, shop_a, alice_client
):
    evidence, _ = stored_png
    other = testing.make_case(testing.make_order(shop_a))
    response = alice_client.get(f"{API}/cases/{other.pk}/evidence/{evidence.pk}/file")
    assert_error(response, 404, "not_found")


def test_anonymous_download_is_401(stored_png, anon_client):
    evidence, png = stored_png
    response = download(anon_client, evidence)
    assert_error(response, 401, "unauthenticated")
    assert png not in response.content
