"""The v1 REST API: cases and every action of their lifecycle.

Handlers validate input and call services; they never save a domain object themselves.
Every case is reached through `get_case_for_actor`, so another shop's case is a 404.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from django.contrib.auth import get_user_model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, FormEx, NinjaAPI, P, Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.parser import Parser
from pydantic import BeforeValidator, StringConstraints

from aftersales.alerts.api import router as alerts_router
from aftersales.analytics.api import router as analytics_router
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus, CaseType, EvidenceSource
from aftersales.cases.fetch import cases_for_actor, get_case_for_actor, search_cases
from aftersales.cases.models import Case
from aftersales.cases.reasons import REASONS, REJECT_REASONS
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from aftersales.core.limits import CODE_MAX_LENGTH, SEARCH_MAX_LENGTH, SHORT_NOTE_MAX_LENGTH
from aftersales.core.text import has_nul
from aftersales.disputes.api import router as disputes_router
from aftersales.imports.api import router as imports_router
from aftersales.incidents.api import router as incidents_router
from aftersales.intake.services import receive_case
from aftersales.orders.models import Order, OrderItem
from aftersales.records.api import router as records_router
from aftersales.shops.choices import WRITE_ROLES
from aftersales.signals.api import router as signals_router

from .auth import ApiKeyAuth, SessionActorAuth
from .bot import router as bot_router
from .errors import declare_errors, describe_field_errors
from .policy import router as policy_router
from .schemas import (
    AssignIn,
    CaseDetailOut,
    CasePage,
    CodeOut,
    CostIn,
    CostOut,
    ErrorOut,
    InspectIn,
    InspectionOut,
    NoteIn,
    OpenCaseIn,
    QualityCheckIn,
    QualityCheckOut,
    RefundIn,
    RejectIn,
    RepairShipmentIn,
    RequiredNoteIn,
    ShipmentIn,
    TechnicalSupportIn,
)
from .serializers import SUMMARY_COLUMNS, case_detail, summary_labels, summary_of_row
from .sync import router as sync_router

logger = logging.getLogger(__name__)


def _refuse_nul(data: Any) -> None:
    """PostgreSQL stores no NUL character: a text input holding one is refused, naming the
    field, before anything is read or saved (issue 15)."""
    if isinstance(data, dict):
        for name, value in data.items():
            if has_nul(name) or has_nul(value):
                shown = str(name).replace("\x00", "\ufffd")[:64]
                raise InvalidInput(
                    _("“%(name)s” contains a NUL character (U+0000), which cannot be stored."),
                    name=shown,
                    field=shown,
                )
    elif has_nul(data):
        raise InvalidInput(
            _("The request contains a NUL character (U+0000), which cannot be stored.")
        )


class StorableParser(Parser):
    """JSON bodies, query strings and form fields, refusing text PostgreSQL cannot store."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        # Every JSON body of this API is an object: `[null, null]` is not one, whatever the
        # schema's defaults would make of it.
        if not isinstance(data, dict):
            raise InvalidInput(_("The request body must be a JSON object."))
        _refuse_nul(data)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        _refuse_nul(result)
        return result


class AftersalesAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Ninja's schema, with the error responses every operation can answer declared."""
        return declare_errors(super().get_openapi_schema(**kwargs), "#/components/schemas/ErrorOut")


api = AftersalesAPI(
    parser=StorableParser(),
    title="aftersales API",
    version="1",
    urls_namespace="api-v1",
    auth=[ApiKeyAuth(), SessionActorAuth()],
    description=(
        "After-sales cases of the shops. Authenticate with a per-shop key in the "
        "`X-API-Key` header, or with a browser session (CSRF token required on writes). "
        "Money is integer fen. Errors are JSON with a stable `code`."
    ),
)

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def error_body(code: str, message: Any, **params: Any) -> dict[str, Any]:
    error = DomainError(message, **params)
    return {
        "code": code,
        "message": error.render(translation.get_language() or "zh-hans"),
        "message_zh": error.render("zh-hans"),
        "message_en": error.render("en"),
        "params": {k: str(v) for k, v in params.items()},
    }


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if exc.status >= 409:
        logger.info("refused %s %s: %s %s", request.method, request.path, exc.code, exc.params)
    body = error_body(exc.code, exc.message, **exc.params)
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(
        request,
        error_body("unauthenticated", _("Log in or send a valid API key.")),
        status=401,
    )


# Ninja's own refusals (an unreadable body, a throttle) answer in the same shape as ours.
HTTP_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("invalid_input", _("The request could not be read.")),
    403: ("permission_denied", _("You do not have permission to do this.")),
    404: ("not_found", _("Not found.")),
    429: ("throttled", _("Too many requests. Try again later.")),
}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):  # our parser's refusal, wrapped by ninja
        return on_domain_error(request, exc.__cause__)
    code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", _("The request failed.")))
    return api.create_response(request, error_body(code, message), status=exc.status_code)


@api.exception_handler(MultiPartParserError)
def on_unreadable_form(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A multipart body without its boundary (or cut short) is the caller's error."""
    return api.create_response(
        request, error_body("invalid_input", _("The request could not be read.")), status=400
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("not_found", _("Not found.")), status=404)


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Each refused input named, with what is wrong in Chinese and English — not pydantic's
    text, which is English, names its internals and may link to its documentation."""
    errors = describe_field_errors(exc.errors)
    if errors:
        first = errors[0]
        body = error_body(
            "invalid_input",
            _("“%(name)s” is not valid; see errors for each field."),
            name=first["field"],
        )
        body["message_zh"], body["message_en"] = first["message_zh"], first["message_en"]
        body["message"] = (
            first["message_en"]
            if (translation.get_language() or "").startswith("en")
            else first["message_zh"]
        )
        body["field"] = first["field"]
    else:
        body = error_body("invalid_input", _("The input is not valid."))
    body["errors"] = errors
    return api.create_response(request, body, status=400)


def actor_of(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


cases = Router(tags=["cases"])
codes = Router(tags=["codes"])


# --- Reading ---------------------------------------------------------------------------------


Code = Annotated[str, StringConstraints(max_length=CODE_MAX_LENGTH)]


def _iso_only(value: Any) -> Any:
    """A date-time is ISO 8601 text: pydantic would read `0.5` as a Unix timestamp."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("an ISO 8601 date-time is expected, e.g. 2025-06-01T00:00:00+08:00")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


class CaseFilters(Schema):
    shop_id: int | None = None
    status: list[Code] | None = Field(None, max_length=20)
    type: Code | None = None
    reason: Code | None = None
    refund_status: Code | None = None
    return_status: Code | None = None
    dispute_status: Code | None = None
    assignee: Code | None = None  # a user id, "me" or "none"
    priority: int | None = None
    applied_after: IsoDatetime | None = None
    applied_before: IsoDatetime | None = None
    # A case id, platform case id or order id; a buyer's id, nickname (or its beginning),
    # phone or its last four digits. Every status is searched unless `status` is given.
    q: str | None = Field(None, max_length=SEARCH_MAX_LENGTH)
    order_by: Code = "-applied_at"
    limit: int = 50
    offset: int = 0


# The most a case list counts exactly (`CasePage.count_exact`).
COUNT_CAP = 10_000

# Each ordering has its index on (shop, ...) (`Case.Meta.indexes`).
ORDERINGS = {
    "-applied_at": ("-applied_at", "-pk"),
    "applied_at": ("applied_at", "pk"),
    "-updated_at": ("-updated_at", "-pk"),
    "-priority": ("-priority", "applied_at", "pk"),
}


@cases.get("", response={200: CasePage, **ERRORS}, summary="List cases")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> HttpResponse:
    actor = actor_of(request)
    if not 1 <= filters.limit <= 200 or filters.offset < 0:
        raise InvalidInput(_("limit must be 1–200 and offset not negative."))
    if filters.order_by not in ORDERINGS:
        raise InvalidInput(_("Unknown ordering."))
    qs = cases_for_actor(actor)
    exact = {
        "shop_id": filters.shop_id,
        "type": filters.type,
        "reason": filters.reason,
        "refund_status": filters.refund_status,
        "return_status": filters.return_status,
        "dispute_status": filters.dispute_status,
        "priority": filters.priority,
        "applied_at__gte": filters.applied_after,
        "applied_at__lt": filters.applied_before,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.status:
        qs = qs.filter(status__in=filters.status)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=actor.user_id)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        if not filters.assignee.isdigit():
            raise InvalidInput(_("assignee must be a user id, “me” or “none”."))
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.q:
        qs = search_cases(qs, actor, filters.q)
    ordering = ORDERINGS[filters.order_by]
    # Counted up to the cap only: at most COUNT_CAP + 1 rows are read, whatever the size.
    count = qs.order_by().values_list("pk")[: COUNT_CAP + 1].count()
    page = qs.order_by(*ordering).values(*SUMMARY_COLUMNS)[
        filters.offset : filters.offset + filters.limit
    ]
    labels = summary_labels(translation.get_language())
    body = {
        "count": min(count, COUNT_CAP),
        "count_exact": count <= COUNT_CAP,
        "limit": filters.limit,
        "offset": filters.offset,
        "results": [summary_of_row(row, labels) for row in page],
    }
    # Rendered as built: `summary_of_row` writes exactly `CasePage`'s fields, as the tests
    # check against the schema (`tests/test_cases_read.py`). Ninja's validation of 50 rows, an
    # object wrapper per row and per buyer, cost a third of the request (issue 16).
    return api.create_response(request, body, status=200)


@cases.get("/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="Case detail")
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return case_detail(get_case_for_actor(actor_of(request), case_id))


@cases.get(
    "/{case_id}/evidence/{evidence_id}/file",
    url_name="evidence_file",
    response={200: None, **ERRORS},
    summary="Download an evidence file",
)
def evidence_file(request: HttpRequest, case_id: int, evidence_id: int) -> FileResponse:
    case = get_case_for_actor(actor_of(request), case_id)
    evidence = case.evidence.filter(pk=evidence_id).first()
    if evidence is None:
        raise NotFound(_("Evidence not found."))
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    # Stored under a generated name and served as the sniffed type; never let a browser
    # second-guess it into HTML.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Opening ---------------------------------------------------------------------------------


@cases.post("", response={201: CaseDetailOut, **ERRORS}, summary="Open a case")
def open_case(request: HttpRequest, payload: OpenCaseIn) -> tuple[int, dict[str, Any]]:
    actor = actor_of(request)
    readable = list(actor.shop_roles)
    if payload.shop_id is not None:
        readable = [payload.shop_id] if payload.shop_id in actor.shop_roles else []
    orders = list(
        Order.objects.filter(shop_id__in=readable, platform_order_id=payload.order_id)
        .select_related("buyer")
        .order_by("pk")
    )
    if not orders:
        raise NotFound(_("Order not found."))
    order = next((o for o in orders if actor.role_in(o.shop_id) in WRITE_ROLES), None)
    if order is None:
        # Like cases: a read-only role may know the order exists, but not open a case on it.
        raise PermissionDenied(_("Your role can read this order but not open a case on it."))
    items_by_id = {i.pk: i for i in OrderItem.objects.filter(order=order)}
    requested = []
    for line in payload.items:
        item = items_by_id.get(line.order_item_id)
        if item is None:
            raise InvalidInput(_("An item does not belong to this order."))
        requested.append(services.RequestedItem(order_item=item, quantity=line.quantity))
    # Opened, decided by the policy (which does what it allows without a person, R3.1) and
    # given to a person on duty for the rest (R9.2).
    case = receive_case(
        order=order,
        type=payload.type,
        reason=payload.reason,
        items=requested,
        by=actor,
        buyer_statement=payload.buyer_statement,
        requested_amount_fen=payload.requested_amount_fen,
        platform_case_id=payload.platform_case_id,
    )
    return 201, _detail(case)


# --- Actions ---------------------------------------------------------------------------------


def _writable_case(request: HttpRequest, case_id: int) -> tuple[Case, Actor]:
    actor = actor_of(request)
    return get_case_for_actor(actor, case_id, write=True), actor


def _detail(case: Case) -> dict[str, Any]:
    return case_detail(Case.objects.select_related("order__buyer").get(pk=case.pk))


@cases.post(
    "/{case_id}/approve", response={200: CaseDetailOut, **ERRORS}, summary="Approve (stage 1)"
)
def approve(request: HttpRequest, case_id: int, payload: NoteIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.approve_case(case=case, by=actor, note=payload.note))


@cases.post("/{case_id}/reject", response={200: CaseDetailOut, **ERRORS}, summary="Reject")
def reject(request: HttpRequest, case_id: int, payload: RejectIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(
        services.reject_case(
            case=case,
            reason_code=payload.reason_code,
            note=payload.note,
            evidence_ids=payload.evidence_ids,
            by=actor,
        )
    )


@cases.post("/{case_id}/request-evidence", response={200: CaseDetailOut, **ERRORS})
def request_evidence(request: HttpRequest, case_id: int, payload: RequiredNoteIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.request_evidence(case=case, note=payload.note, by=actor))


def _upload(file: UploadedFile) -> services.Upload:
    assert file.file is not None  # an uploaded file always has its stream
    return services.Upload(stream=file.file, name=file.name or "")


@cases.post(
    "/{case_id}/buyer-evidence",
    response={200: CaseDetailOut, **ERRORS},
    summary="Record the buyer's photos or videos",
)
def buyer_evidence(
    request: HttpRequest,
    case_id: int,
    files: File[list[UploadedFile]],
    note: FormEx[str, P(max_length=SHORT_NOTE_MAX_LENGTH)] = "",
) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    uploads = [_upload(f) for f in files]
    services.record_buyer_evidence(case=case, uploads=uploads, by=actor, note=note)
    return _detail(case)


@cases.post(
    "/{case_id}/evidence",
    response={201: CaseDetailOut, **ERRORS},
    summary="Attach the merchant's evidence or inspection photos",
)
def attach_evidence(
    request: HttpRequest,
    case_id: int,
    file: File[UploadedFile],
    source: FormEx[str, P(max_length=CODE_MAX_LENGTH)] = EvidenceSource.MERCHANT,
    note: FormEx[str, P(max_length=SHORT_NOTE_MAX_LENGTH)] = "",
) -> tuple[int, dict[str, Any]]:
    case, actor = _writable_case(request, case_id)
    if source not in {EvidenceSource.MERCHANT, EvidenceSource.INSPECTION}:
        raise InvalidInput(_("source must be merchant or inspection."))
    services.attach_evidence(
        case=case,
        upload=_upload(file),
        source=source,
        note=note,
        by=actor,
    )
    return 201, _detail(case)


@cases.post("/{case_id}/return-shipment", response={200: CaseDetailOut, **ERRORS})
def return_shipment(request: HttpRequest, case_id: int, payload: ShipmentIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(
        services.record_return_shipment(
            case=case, carrier=payload.carrier, tracking_number=payload.tracking_number, by=actor
        )
    )


@cases.post("/{case_id}/receive-return", response={200: CaseDetailOut, **ERRORS})
def receive_return(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.receive_return(case=case, by=actor))


@cases.post("/{case_id}/inspect", response={201: InspectionOut, **ERRORS})
def inspect(request: HttpRequest, case_id: int, payload: InspectIn) -> tuple[int, Any]:
    case, actor = _writable_case(request, case_id)
    inspection = services.inspect_return(
        case=case,
        result=payload.result,
        condition=payload.condition,
        notes=payload.notes,
        photo_ids=payload.photo_ids,
        package_intact=payload.package_intact,
        by=actor,
    )
    return 201, inspection


@cases.post(
    "/{case_id}/approve-final",
    response={200: CaseDetailOut, **ERRORS},
    summary="Approve after inspection (stage 2)",
)
def approve_final(request: HttpRequest, case_id: int, payload: NoteIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.approve_after_inspection(case=case, by=actor, note=payload.note))


@cases.post("/{case_id}/refund", response={200: CaseDetailOut, **ERRORS}, summary="Refund")
def refund(request: HttpRequest, case_id: int, payload: RefundIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    services.refund_case(
        case=case,
        goods_amount_fen=payload.goods_amount_fen,
        shipping_amount_fen=payload.shipping_amount_fen,
        return_postage_fen=payload.return_postage_fen,
        reason=payload.reason,
        by=actor,
    )
    return _detail(case)


@cases.post("/{case_id}/refund/retry", response={200: CaseDetailOut, **ERRORS})
def retry_refund(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    services.retry_refund(case=case, by=actor)
    return _detail(case)


@cases.post("/{case_id}/quality-check", response={201: QualityCheckOut, **ERRORS})
def quality_check(request: HttpRequest, case_id: int, payload: QualityCheckIn) -> tuple[int, Any]:
    case, actor = _writable_case(request, case_id)
    check = services.record_quality_check(
        case=case,
        quality_ok=payload.quality_ok,
        packaging_intact=payload.packaging_intact,
        notes=payload.notes,
        by=actor,
    )
    return 201, {
        "id": check.pk,
        "quality_ok": check.quality_ok,
        "packaging_intact": check.packaging_intact,
        "passed": check.passed,
        "notes": check.notes,
        "checked_at": check.checked_at,
    }


@cases.post("/{case_id}/ship-replacement", response={200: CaseDetailOut, **ERRORS})
def ship_replacement(request: HttpRequest, case_id: int, payload: ShipmentIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(
        services.ship_replacement(
            case=case, carrier=payload.carrier, tracking_number=payload.tracking_number, by=actor
        )
    )


@cases.post("/{case_id}/resend", response={200: CaseDetailOut, **ERRORS})
def resend(request: HttpRequest, case_id: int, payload: ShipmentIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(
        services.resend_items(
            case=case, carrier=payload.carrier, tracking_number=payload.tracking_number, by=actor
        )
    )


@cases.post("/{case_id}/return-repaired", response={200: CaseDetailOut, **ERRORS})
def return_repaired(
    request: HttpRequest, case_id: int, payload: RepairShipmentIn
) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(
        services.return_repaired(
            case=case,
            carrier=payload.carrier,
            tracking_number=payload.tracking_number,
            repair_notes=payload.repair_notes,
            by=actor,
        )
    )


@cases.post("/{case_id}/confirm-receipt", response={200: CaseDetailOut, **ERRORS})
def confirm_receipt(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.confirm_buyer_receipt(case=case, by=actor))


@cases.post("/{case_id}/convert-to-refund", response={200: CaseDetailOut, **ERRORS})
def convert_to_refund(
    request: HttpRequest, case_id: int, payload: RequiredNoteIn
) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.convert_to_refund(case=case, note=payload.note, by=actor))


@cases.post(
    "/{case_id}/withdraw", response={200: CaseDetailOut, **ERRORS}, summary="Buyer withdraws"
)
def withdraw(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.withdraw_case(case=case, by=actor))


@cases.post("/{case_id}/close", response={200: CaseDetailOut, **ERRORS})
def close(request: HttpRequest, case_id: int, payload: RequiredNoteIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.close_case(case=case, note=payload.note, by=actor))


@cases.post("/{case_id}/reopen", response={200: CaseDetailOut, **ERRORS})
def reopen(request: HttpRequest, case_id: int, payload: NoteIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    return _detail(services.reopen_case(case=case, note=payload.note, by=actor))


@cases.post("/{case_id}/costs", response={201: CostOut, **ERRORS})
def add_cost(request: HttpRequest, case_id: int, payload: CostIn) -> tuple[int, Any]:
    case, actor = _writable_case(request, case_id)
    cost = services.add_cost(
        case=case,
        kind=payload.kind,
        amount_fen=payload.amount_fen,
        payer=payload.payer,
        note=payload.note,
        by=actor,
    )
    return 201, cost


@cases.post("/{case_id}/assign", response={200: CaseDetailOut, **ERRORS})
def assign(request: HttpRequest, case_id: int, payload: AssignIn) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=payload.assignee_id).first()
        if assignee is None:
            raise InvalidInput(_("The assignee is not a member of this shop."))
    return _detail(services.assign_case(case=case, assignee=assignee, by=actor))


# --- Code lists ------------------------------------------------------------------------------


@codes.get("/reasons", response=list[CodeOut], summary="Buyer reason codes")
def reason_codes(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": r.code, "label": str(r.label)} for r in REASONS.values()]


@codes.get("/reject-reasons", response=list[CodeOut], summary="Reject reason codes")
def reject_reason_codes(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": r.code, "label": str(r.label)} for r in REJECT_REASONS.values()]


@codes.get("/case-types", response=list[CodeOut])
def case_types(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": c.value, "label": str(c.label)} for c in CaseType]


@codes.get("/case-statuses", response=list[CodeOut])
def case_statuses(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": c.value, "label": str(c.label)} for c in CaseStatus]


@cases.post(
    "/{case_id}/technical-support",
    response={200: CaseDetailOut, **ERRORS},
    summary="Record the troubleshooting given to the buyer (R7.3)",
)
def technical_support(
    request: HttpRequest, case_id: int, payload: TechnicalSupportIn
) -> dict[str, Any]:
    case, actor = _writable_case(request, case_id)
    services.record_technical_support(
        case=case, notes=payload.notes, resolved=payload.resolved, by=actor
    )
    return _detail(case)


api.add_router("/cases", cases)
api.add_router("/codes", codes)
api.add_router("", policy_router)
api.add_router("", sync_router)
api.add_router("", bot_router)
api.add_router("/analytics", analytics_router)
api.add_router("/incidents", incidents_router)
api.add_router("/signals", signals_router)
api.add_router("/alerts", alerts_router)
api.add_router("", disputes_router)
api.add_router("/imports", imports_router)
api.add_router("/records", records_router)
