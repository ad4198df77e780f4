"""Every text typed into the product has a length limit, enforced by the server (issue 14).

- Every text field of every form of the workbench and the team pages has a `max_length`.
- Every text the API takes — query, path and form parameters, JSON bodies, the policy
  check's case description — has a `maxLength` (or is one of a list) in the API's schema,
  which ninja enforces; a new field without one fails here.
- The services refuse a text beyond its limit whoever calls them, naming the parameter and
  changing nothing: an evidence note of 240,000 characters among them (it was accepted).
"""

from __future__ import annotations

import inspect
import io
from typing import Any

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from aftersales import testing
from aftersales.api.api import api
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.models import Case
from aftersales.core.errors import InvalidInput
from aftersales.core.limits import NOTE_MAX_LENGTH, SHORT_NOTE_MAX_LENGTH, check_length
from aftersales.policy.facts import CaseIn
from aftersales.policy.services import publish_policy_version
from aftersales.shops.services import create_api_key
from aftersales.sla.services import extend_deadline
from aftersales.team import forms as team_forms
from aftersales.team import services as team_services
from aftersales.testing import png_bytes
from aftersales.workbench import forms as workbench_forms
from aftersales.workbench.services import add_note

SYSTEM = testing.SYSTEM


# --- Forms -----------------------------------------------------------------------------------


def form_classes() -> list[type[forms.BaseForm]]:
    classes = []
    for module in (workbench_forms, team_forms):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                classes.append(cls)
    return classes


def instance_of(cls: type[forms.BaseForm], case: Case) -> forms.BaseForm:
    """The form as its page builds it (some fields are set up per request)."""
    if issubclass(cls, workbench_forms.ActionForm):
        return cls(case=case, action="test")
    if cls is workbench_forms.QueueFilterForm:
        return cls(shops=[])
    if cls is team_forms.BulkForm:
        return cls(QueryDict(), template_codes=set())
    return cls()


@pytest.mark.django_db
def test_every_text_field_of_every_form_has_a_max_length(shop_a):
    case = testing.make_case(testing.make_order(shop_a))
    unlimited = []
    classes = form_classes()
    assert workbench_forms.RefundForm in classes and team_forms.CreateMemberForm in classes
    for cls in classes:
        form = instance_of(cls, case)
        for name, field in form.fields.items():
            if isinstance(field, forms.CharField | forms.FileField) and field.max_length is None:
                unlimited.append(f"{cls.__name__}.{name}")
    assert unlimited == []


# --- The API ---------------------------------------------------------------------------------


def unlimited_strings(schema: dict[str, Any], components: dict[str, Any], where: str) -> list[str]:
    """The places in a JSON schema where a string has neither maxLength nor a list of values."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return unlimited_strings(components[name], components, f"{where}<{name}>")
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for index, option in enumerate(schema.get(key, [])):
            found += unlimited_strings(option, components, f"{where}|{index}")
    parsed = schema.get("format") in {"binary", "date-time", "date"}  # a file, a time
    bounded = "maxLength" in schema or "enum" in schema or "const" in schema
    if schema.get("type") == "string" and not parsed and not bounded:
        found.append(where)
    if schema.get("type") == "array" and "items" in schema:
        found += unlimited_strings(schema["items"], components, f"{where}[]")
    for name, prop in schema.get("properties", {}).items():
        found += unlimited_strings(prop, components, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += unlimited_strings(schema["additionalProperties"], components, f"{where}{{}}")
    return found


def test_every_text_the_api_takes_has_a_max_length_in_its_schema():
    document = api.get_openapi_schema(path_prefix="")
    components = document["components"]["schemas"]
    unlimited = []
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations += 1
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                unlimited += unlimited_strings(
                    parameter["schema"], components, f"{where} {parameter['name']}"
                )
            for content in operation.get("requestBody", {}).get("content", {}).values():
                unlimited += unlimited_strings(content["schema"], components, f"{where} body")
    # The policy check takes a free JSON object, validated by `CaseIn`.
    case_in = CaseIn.model_json_schema(ref_template="#/components/schemas/{model}")
    unlimited += unlimited_strings(case_in, case_in.get("$defs", {}), "POST /policy/check body")
    assert operations > 30
    assert unlimited == []


@pytest.mark.django_db
def test_an_evidence_note_of_240000_characters_is_refused_by_the_api(shop_a, alice):
    case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    case = services.request_evidence(case=case, note="请上传照片", by=SYSTEM)
    client = Client()
    client.force_login(alice)
    photo = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
    before = AuditEvent.objects.count()

    response = client.post(
        f"/api/v1/cases/{case.pk}/buyer-evidence", {"files": [photo], "note": "长" * 240_000}
    )

    assert response.status_code == 400
    assert AuditEvent.objects.count() == before
    assert not case.evidence.exists()


# --- The services ----------------------------------------------------------------------------

TOO_LONG = "字" * (NOTE_MAX_LENGTH + 1)


def long_text_calls(case: Case, shop, alice) -> dict[str, Any]:
    """Each service that takes a free text, called with one too long (its parameter name)."""
    clock = case.clocks.filter(state="running", is_buyer_clock=False).first()
    upload = services.Upload(stream=io.BytesIO(png_bytes()), name="p.png")
    return {
        "approve_case": lambda: services.approve_case(case=case, note=TOO_LONG, by=SYSTEM),
        "request_evidence": lambda: services.request_evidence(case=case, note=TOO_LONG, by=SYSTEM),
        "reject_case": lambda: services.reject_case(
            case=case, reason_code="other", note=TOO_LONG, by=SYSTEM
        ),
        "close_case": lambda: services.close_case(case=case, note=TOO_LONG, by=SYSTEM),
        "record_buyer_evidence": lambda: services.record_buyer_evidence(
            case=case, uploads=[upload], note="长" * 240_000, by=SYSTEM
        ),
        "attach_evidence": lambda: services.attach_evidence(
            case=case,
            upload=upload,
            source="merchant",
            note="长" * (SHORT_NOTE_MAX_LENGTH + 1),
            by=SYSTEM,
        ),
        "record_technical_support": lambda: services.record_technical_support(
            case=case, notes=TOO_LONG, resolved=False, by=SYSTEM
        ),
        "message_buyer": lambda: services.message_buyer(case=case, text=TOO_LONG, by=SYSTEM),
        "add_cost": lambda: services.add_cost(
            case=case,
            kind="return_shipping",
            amount_fen=100,
            payer="merchant",
            note="长" * 256,
            by=SYSTEM,
        ),
        "add_note": lambda: add_note(case=case, text=TOO_LONG, by=SYSTEM),
        "extend_deadline": lambda: extend_deadline(
            clock=clock, hours=1, reason="长" * 501, message_to_buyer="稍等", by=SYSTEM
        ),
        "open_case": lambda: testing.make_case(testing.make_order(shop), buyer_statement=TOO_LONG),
        "create_api_key": lambda: create_api_key(shop=shop, name="长" * 101, by=SYSTEM),
        "create_staff_user": lambda: team_services.create_staff_user(
            shop=shop,
            username="bo",
            password="a long enough password",
            role="agent",
            display_name="长" * 33,
            by=SYSTEM,
        ),
        "set_display_name": lambda: team_services.set_display_name(
            shop=shop, user=alice, display_name="长" * 33, by=SYSTEM
        ),
        "publish_policy_version": lambda: publish_policy_version(
            shop=shop,
            document="[triage]\nauto_approve_limit_fen = 1\n",
            effective_from=timezone.now(),
            note="长" * 256,
            by=SYSTEM,
        ),
    }


@pytest.mark.django_db
def test_every_service_refuses_a_text_beyond_its_limit_and_changes_nothing(shop_a, alice):
    case = testing.make_case(testing.make_order(shop_a))
    before = AuditEvent.objects.count()
    refused = {}
    for name, call in long_text_calls(case, shop_a, alice).items():
        with pytest.raises(InvalidInput) as error:
            call()
        refused[name] = error.value.field
        assert "too long" in error.value.render("en") or "at most" in error.value.render("en")
    assert all(refused.values()), refused
    assert AuditEvent.objects.count() == before
    case.refresh_from_db()
    assert case.status == "pending_review" and not case.evidence.exists()


def test_check_length_names_the_parameter_and_lets_the_limit_through():
    check_length(note=("字" * NOTE_MAX_LENGTH, NOTE_MAX_LENGTH), other=(None, 1))
    with pytest.raises(InvalidInput) as error:
        check_length(note=("字" * (NOTE_MAX_LENGTH + 1), NOTE_MAX_LENGTH))
    assert error.value.field == "note"
    assert error.value.params == {"length": NOTE_MAX_LENGTH + 1, "limit": NOTE_MAX_LENGTH}
