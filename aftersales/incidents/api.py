"""Incidents in the REST API (`/api/v1/incidents…`), mounted by `api/api.py` (R12.1).

The same services as the pages: every member of a shop reads its incidents, supervisors and
shop admins (and keys with those roles) declare, confirm, dismiss, close and act in bulk;
another shop's incident is a 404 like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.core.limits import CODE_MAX_LENGTH, NOTE_MAX_LENGTH
from aftersales.shops.models import Shop

from . import services
from .models import Incident, IncidentKind, IncidentStatus

router = Router(tags=["incidents"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def shop_of(actor: Actor, shop_id: int | None) -> Shop:
    """The shop asked for, or the actor's only shop; another shop is not found."""
    shops = list(actor.shop_roles)
    if shop_id is None and len(shops) == 1:
        shop_id = shops[0]
    if shop_id is None or not (actor.is_unscoped or shop_id in actor.shop_roles):
        raise NotFound(_not_found())
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        raise NotFound(_not_found())
    return shop


def _not_found() -> Any:
    from django.utils.translation import gettext_lazy as _

    return _("Shop not found.")


class IncidentListQuery(Schema):
    status: Literal["", "proposed", "open", "closed", "dismissed"] = ""
    shop: int | None = None


class DeclareIn(Schema):
    shop: int | None = None
    kind: Literal["batch_defect", "carrier_failure", "viral_complaint", "surge"]
    title: str = Field(..., max_length=services.TITLE_MAX_LENGTH)
    description: str = Field("", max_length=NOTE_MAX_LENGTH)
    product: int | None = None
    sku: int | None = None
    reason: str = Field("", max_length=CODE_MAX_LENGTH)
    carrier: str = Field("", max_length=CODE_MAX_LENGTH)
    region: str = Field("", max_length=services.REGION_MAX_LENGTH)
    keyword: str = Field("", max_length=services.KEYWORD_MAX_LENGTH)
    since: datetime | None = None
    target_hours: int = Field(4, ge=services.MIN_TARGET_HOURS, le=services.MAX_TARGET_HOURS)


class ConfirmIn(Schema):
    title: str = Field("", max_length=services.TITLE_MAX_LENGTH)
    target_hours: int | None = Field(
        None, ge=services.MIN_TARGET_HOURS, le=services.MAX_TARGET_HOURS
    )


class NoteIn(Schema):
    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class BulkIn(Schema):
    action: Literal["approve", "message", "assign"]
    template: str = Field("", max_length=CODE_MAX_LENGTH)
    assignee_id: int | None = None
    case_ids: list[int] | None = Field(None, max_length=services.BULK_MAX_CASES)


def incident_body(incident: Incident, *, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": incident.pk,
        "shop": incident.shop_id,
        "kind": incident.kind,
        "kind_label": str(IncidentKind(incident.kind).label),
        "status": incident.status,
        "status_label": str(IncidentStatus(incident.status).label),
        "title": incident.title,
        "description": incident.description,
        "scope": services.scope_as_dict(incident),
        "scope_words": services.scope_words(incident),
        "target_hours": incident.target_hours,
        "proposal": incident.proposal or None,
        "created_by": incident.created_by,
        "created_at": incident.created_at,
        "declared_at": incident.declared_at,
        "closed_at": incident.closed_at,
        "close_note": incident.close_note,
    }
    if detail:
        body["cases"] = [
            {"id": c.pk, "status": c.status, "reason": c.reason, "applied_at": c.applied_at}
            for c in services.member_cases(incident).order_by("-applied_at")[:500]
        ]
        body["timeline"] = [
            {
                "seq": e.seq,
                "type": e.type,
                "case": e.case_id,
                "by": e.actor_label,
                "at": e.created_at,
                "payload": e.payload,
            }
            for e in services.timeline(incident)
        ]
    return body


@router.get("", summary="The incidents of the actor's shops, newest first (R12.1)")
def list_incidents(request: HttpRequest, query: Query[IncidentListQuery]) -> list[dict[str, Any]]:
    actor = _actor(request)
    qs = services.incidents_for_actor(actor).select_related("product", "sku", "sku__product")
    if query.shop is not None:
        qs = qs.filter(shop=shop_of(actor, query.shop))
    if query.status:
        qs = qs.filter(status=query.status)
    return [incident_body(i) for i in qs.order_by("-created_at")[:200]]


@router.post("", summary="Declare an incident with its scope rule (R12.1)")
def declare(request: HttpRequest, body: DeclareIn) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.declare_incident(
        shop=shop_of(actor, body.shop),
        kind=body.kind,
        title=body.title,
        description=body.description,
        scope=services.Scope(
            product_id=body.product,
            sku_id=body.sku,
            reason=body.reason,
            carrier=body.carrier,
            region=body.region,
            keyword=body.keyword,
        ),
        since=body.since,
        target_hours=body.target_hours,
        by=actor,
    )
    return incident_body(incident, detail=True)


@router.get("/{incident_id}", summary="An incident with its cases and its timeline")
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return incident_body(services.get_incident_for_actor(_actor(request), incident_id), detail=True)


@router.post("/{incident_id}/confirm", summary="Confirm a proposed incident: its cases join")
def confirm(request: HttpRequest, incident_id: int, body: ConfirmIn) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.get_incident_for_actor(actor, incident_id)
    incident = services.confirm_incident(
        incident=incident, by=actor, title=body.title, target_hours=body.target_hours
    )
    return incident_body(incident, detail=True)


@router.post("/{incident_id}/dismiss", summary="Dismiss a proposed incident")
def dismiss(request: HttpRequest, incident_id: int, body: NoteIn) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.get_incident_for_actor(actor, incident_id)
    return incident_body(services.dismiss_incident(incident=incident, by=actor, note=body.note))


@router.post("/{incident_id}/close", summary="Close an incident: deadlines are the policy's again")
def close(request: HttpRequest, incident_id: int, body: NoteIn) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.get_incident_for_actor(actor, incident_id)
    return incident_body(services.close_incident(incident=incident, by=actor, note=body.note))


@router.post("/{incident_id}/bulk", summary="One action on the incident's open cases, per case")
def bulk(request: HttpRequest, incident_id: int, body: BulkIn) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.get_incident_for_actor(actor, incident_id)
    assignee = None
    if body.assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=body.assignee_id).first()
    results = services.apply_bulk(
        incident=incident,
        action=body.action,
        template=body.template,
        assignee=assignee,
        case_ids=body.case_ids,
        by=actor,
    )
    return {
        "done": [r.case_id for r in results if r.outcome == "done"],
        "results": [{"case": r.case_id, "outcome": r.outcome, "detail": r.detail} for r in results],
    }
