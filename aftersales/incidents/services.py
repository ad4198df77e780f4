"""Incidents (R12.1): declare, propose, confirm, dismiss, close; the cases that join; bulk
actions and templated messages on them; the tightened deadlines.

Like every service here: keyword-only, an acting `by`, one transaction, an audit event in
that transaction (the incident's timeline is the shop's audit chain: every event carries
`payload.incident`). Who may: supervisors and shop admins declare, confirm, dismiss, close and
act in bulk; every member of the shop reads. Another shop's incident is not found.

Transitions (`TRANSITIONS`): proposed → open (confirm) or dismissed; open → closed.
A case joins an open incident when its scope rule matches — the cases there are when it is
declared, and each new case as it opens (the reaction `on_case_event`); from then on its
merchant's deadlines run at most `target_hours` (`sla.services.tighten_clocks`), also those
that start later, until the incident is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.alerts.models import AlertKind
from aftersales.alerts.services import public_link, raise_alert
from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.events import CaseEvent
from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case, CaseItem, opened_items
from aftersales.cases.ports import CaseChange
from aftersales.cases.reasons import REASONS
from aftersales.cases.transitions import can_approve
from aftersales.catalog.models import Product, Sku
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from aftersales.core.limits import CODE_MAX_LENGTH, NOTE_MAX_LENGTH, check_length
from aftersales.orders.carriers import CARRIERS, carrier_for, carrier_label
from aftersales.orders.choices import ShipmentKind
from aftersales.orders.models import Shipment
from aftersales.policy.services import approvable_by_policy
from aftersales.shops.choices import Role
from aftersales.shops.models import Shop
from aftersales.sla.services import tighten_clocks
from aftersales.team import services as team_services

from . import surges
from .models import Incident, IncidentCase, IncidentKind, IncidentStatus

logger = logging.getLogger(__name__)

LEAD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
TITLE_MAX_LENGTH = 200
REGION_MAX_LENGTH = 32
KEYWORD_MAX_LENGTH = 64
MIN_TARGET_HOURS, MAX_TARGET_HOURS = 1, 72
MAX_JOIN_AT_ONCE = 2000  # cases joined when declared; later ones join as they open
BULK_MAX_CASES = 500

TRANSITIONS: dict[tuple[str, str], str] = {
    (IncidentStatus.PROPOSED, "confirm"): IncidentStatus.OPEN,
    (IncidentStatus.PROPOSED, "dismiss"): IncidentStatus.DISMISSED,
    (IncidentStatus.OPEN, "close"): IncidentStatus.CLOSED,
}


def _check_lead(by: Actor, shop_id: int) -> None:
    if not by.is_unscoped and by.role_in(shop_id) not in LEAD_ROLES:
        raise PermissionDenied(_("Only a supervisor or shop admin can do this."))


def _count_open(shop_id: int, delta: int) -> None:
    """Keep `Shop.open_incidents` in the transaction that opens or closes an incident: the
    case reaction below skips its query for the shop's member incidents while it is 0."""
    Shop.objects.filter(pk=shop_id).update(open_incidents=F("open_incidents") + delta)


def _move(incident: Incident, action: str) -> str:
    target = TRANSITIONS.get((incident.status, action))
    if target is None:
        raise Conflict(
            _("This incident is %(status)s; it cannot be changed that way."),
            status=incident.get_status_display(),
        )
    return target


# --- Reading --------------------------------------------------------------------------------


def incidents_for_actor(actor: Actor) -> QuerySet[Incident]:
    qs = Incident.objects.all()
    if not actor.is_unscoped:
        qs = qs.filter(shop_id__in=list(actor.shop_roles))
    return qs


def get_incident_for_actor(actor: Actor, pk: int) -> Incident:
    """The incident, if one of the actor's shops has it; another shop's is not found."""
    incident = (
        incidents_for_actor(actor).select_related("shop", "product", "sku").filter(pk=pk).first()
    )
    if incident is None:
        raise NotFound(_("Incident not found."))
    return incident


def member_cases(incident: Incident) -> QuerySet[Case]:
    joined = IncidentCase.objects.filter(incident=incident, case=OuterRef("pk"))
    return Case.objects.filter(shop_id=incident.shop_id).filter(Exists(joined))


def timeline(incident: Incident) -> QuerySet[AuditEvent]:
    """The incident's events on the shop's audit chain, oldest first."""
    return AuditEvent.objects.filter(
        shop_id=incident.shop_id, payload__incident=incident.pk
    ).order_by("seq")


def scope_words(incident: Incident) -> list[str]:
    """The scope rule in words, one line per condition."""
    words = []
    if incident.sku is not None:
        words.append(
            gettext("SKU: %(sku)s") % {"sku": f"{incident.sku.product.name} {incident.sku.spec}"}
        )
    elif incident.product is not None:
        words.append(gettext("Product: %(name)s") % {"name": incident.product.name})
    if incident.reason:
        reason = REASONS.get(incident.reason)
        words.append(
            gettext("Reason: %(reason)s") % {"reason": reason.label if reason else incident.reason}
        )
    if incident.carrier:
        words.append(gettext("Carrier: %(carrier)s") % {"carrier": carrier_label(incident.carrier)})
    if incident.region:
        words.append(
            gettext("Receiver address begins with: %(region)s") % {"region": incident.region}
        )
    if incident.keyword:
        words.append(
            gettext("Buyer's statement contains: %(keyword)s") % {"keyword": incident.keyword}
        )
    return words


# --- The scope rule -------------------------------------------------------------------------


def scope_filter(incident: Incident) -> Q:
    """The cases an incident's scope rule matches (any status), as a filter on Case."""
    match = Q(shop_id=incident.shop_id, applied_at__gte=incident.since)
    if incident.sku_id:
        match &= Q(
            Exists(CaseItem.objects.filter(case=OuterRef("pk"), order_item__sku_id=incident.sku_id))
        )
    elif incident.product_id:
        match &= Q(
            Exists(
                CaseItem.objects.filter(
                    case=OuterRef("pk"), order_item__sku__product_id=incident.product_id
                )
            )
        )
    if incident.reason:
        match &= Q(reason=incident.reason)
    if incident.carrier:
        carrier = carrier_for(incident.carrier)
        names = [incident.carrier] + ([carrier.name] if carrier else [])
        match &= Q(
            Exists(
                Shipment.objects.filter(
                    order_id=OuterRef("order_id"), kind=ShipmentKind.OUTBOUND, carrier__in=names
                )
            )
        )
    if incident.region:
        match &= Q(order__receiver_address__startswith=incident.region)
    if incident.keyword:
        match &= Q(buyer_statement__contains=incident.keyword)
    return match


def matches(incident: Incident, case: Case) -> bool:
    return Case.objects.filter(scope_filter(incident), pk=case.pk).exists()


# --- Declaring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A scope rule as typed: at least one condition."""

    product_id: int | None = None
    sku_id: int | None = None
    reason: str = ""
    carrier: str = ""
    region: str = ""
    keyword: str = ""


def _clean_scope(shop: Shop, scope: Scope) -> dict[str, Any]:
    check_length(
        reason=(scope.reason, CODE_MAX_LENGTH),
        carrier=(scope.carrier, CODE_MAX_LENGTH),
        region=(scope.region, REGION_MAX_LENGTH),
        keyword=(scope.keyword, KEYWORD_MAX_LENGTH),
    )
    fields: dict[str, Any] = {
        "reason": scope.reason.strip(),
        "carrier": scope.carrier.strip(),
        "region": scope.region.strip(),
        "keyword": scope.keyword.strip(),
        "product": None,
        "sku": None,
    }
    if scope.sku_id is not None:
        sku = Sku.objects.filter(pk=scope.sku_id, shop=shop).select_related("product").first()
        if sku is None:
            raise InvalidInput(_("No such SKU in this shop."), field="sku")
        fields["sku"], fields["product"] = sku, sku.product
    elif scope.product_id is not None:
        product = Product.objects.filter(pk=scope.product_id, shop=shop).first()
        if product is None:
            raise InvalidInput(_("No such product in this shop."), field="product")
        fields["product"] = product
    if fields["reason"] and fields["reason"] not in REASONS:
        raise InvalidInput(_("Unknown reason."), field="reason")
    if fields["carrier"] and fields["carrier"] not in CARRIERS:
        raise InvalidInput(_("Unknown carrier."), field="carrier")
    if not any(
        (
            fields["product"],
            fields["reason"],
            fields["carrier"],
            fields["region"],
            fields["keyword"],
        )
    ):
        raise InvalidInput(
            _("Say which cases belong: a product, a reason, a carrier, a region or a keyword."),
            field="scope",
        )
    return fields


def _check_target(target_hours: int) -> None:
    if not MIN_TARGET_HOURS <= target_hours <= MAX_TARGET_HOURS:
        raise InvalidInput(
            _("Deadline hours must be between %(low)d and %(high)d."),
            field="target_hours",
            low=MIN_TARGET_HOURS,
            high=MAX_TARGET_HOURS,
        )


@transaction.atomic
def declare_incident(
    *,
    shop: Shop,
    kind: str,
    title: str,
    scope: Scope,
    by: Actor,
    description: str = "",
    since: datetime | None = None,
    target_hours: int = 4,
) -> Incident:
    """A supervisor declares an incident: it opens, and the cases its rule matches join."""
    _check_lead(by, shop.pk)
    check_length(title=(title, TITLE_MAX_LENGTH), description=(description, NOTE_MAX_LENGTH))
    if kind not in IncidentKind.values:
        raise InvalidInput(_("Unknown kind of incident."), field="kind")
    if not title.strip():
        raise InvalidInput(_("Give the incident a title."), field="title")
    _check_target(target_hours)
    now = timezone.now()
    since = since or now - timedelta(days=7)
    if since > now:
        raise InvalidInput(_("The start cannot be in the future."), field="since")
    incident = Incident.objects.create(
        shop=shop,
        kind=kind,
        status=IncidentStatus.OPEN,
        title=title.strip(),
        description=description.strip(),
        since=since,
        target_hours=target_hours,
        created_by=by.label[:150],
        created_at=now,
        declared_at=now,
        **_clean_scope(shop, scope),
    )
    _count_open(incident.shop_id, +1)
    _record(incident, "incident_declared", by, scope=scope_as_dict(incident))
    joined = _join_existing(incident, by)
    _alert_declared(incident, joined)
    return incident


def scope_as_dict(incident: Incident) -> dict[str, Any]:
    return {
        "kind": incident.kind,
        "product": incident.product_id,
        "sku": incident.sku_id,
        "reason": incident.reason,
        "carrier": incident.carrier,
        "region": incident.region,
        "keyword": incident.keyword,
        "since": incident.since.isoformat(),
        "target_hours": incident.target_hours,
    }


def _record(
    incident: Incident, type: str, by: Actor, *, case_id: int | None = None, **payload: Any
) -> None:
    record_event(
        shop_id=incident.shop_id,
        case_id=case_id,
        type=type,
        by=by,
        payload={"incident": incident.pk, "title": incident.title, **payload},
    )


def _join_existing(incident: Incident, by: Actor) -> int:
    candidates = (
        Case.objects.filter(scope_filter(incident))
        .exclude(status__in=TERMINAL_STATUSES)
        .exclude(Exists(IncidentCase.objects.filter(incident=incident, case=OuterRef("pk"))))
        .order_by("applied_at", "pk")[:MAX_JOIN_AT_ONCE]
    )
    joined = 0
    for case in candidates:
        _join(incident, case, by)
        joined += 1
    return joined


def _join(incident: Incident, case: Case, by: Actor) -> None:
    now = timezone.now()
    IncidentCase.objects.create(incident=incident, case=case, joined_at=now)
    moved = tighten_clocks(case=case, within=timedelta(hours=incident.target_hours), now=now)
    _record(
        incident,
        "incident_case_joined",
        by,
        case_id=case.pk,
        target_hours=incident.target_hours,
        clocks_tightened=[c.kind for c in moved],
    )


def _alert_declared(incident: Incident, joined: int) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        raise_alert(
            shop_id=incident.shop_id,
            kind=AlertKind.INCIDENT_DECLARED,
            key=f"incident_declared:{incident.pk}",
            title=gettext("Incident declared: %(title)s") % {"title": incident.title},
            lines=[
                *scope_words(incident),
                gettext("%(count)d open cases joined; deadlines at most %(hours)d hours.")
                % {"count": joined, "hours": incident.target_hours},
            ],
            link=public_link(f"/incidents/{incident.pk}/"),
        )


@transaction.atomic
def confirm_incident(
    *, incident: Incident, by: Actor, title: str = "", target_hours: int | None = None
) -> Incident:
    """Turn a proposal into an open incident; the cases its rule matches join."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _check_lead(by, incident.shop_id)
    check_length(title=(title, TITLE_MAX_LENGTH))
    incident.status = _move(incident, "confirm")
    if title.strip():
        incident.title = title.strip()
    if target_hours is not None:
        _check_target(target_hours)
        incident.target_hours = target_hours
    incident.declared_at = timezone.now()
    incident.save(update_fields=["status", "title", "target_hours", "declared_at"])
    _count_open(incident.shop_id, +1)
    _record(incident, "incident_declared", by, scope=scope_as_dict(incident), proposed=True)
    joined = _join_existing(incident, by)
    _alert_declared(incident, joined)
    return incident


@transaction.atomic
def dismiss_incident(*, incident: Incident, by: Actor, note: str = "") -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _check_lead(by, incident.shop_id)
    check_length(note=(note, NOTE_MAX_LENGTH))
    incident.status = _move(incident, "dismiss")
    incident.closed_at, incident.close_note = timezone.now(), note.strip()
    incident.save(update_fields=["status", "closed_at", "close_note"])
    _record(incident, "incident_dismissed", by, note=note.strip())
    return incident


@transaction.atomic
def close_incident(*, incident: Incident, by: Actor, note: str = "") -> Incident:
    """Close it: no case joins any more, and deadlines that start from now on are the
    policy's again (those already tightened stay as promised)."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _check_lead(by, incident.shop_id)
    check_length(note=(note, NOTE_MAX_LENGTH))
    incident.status = _move(incident, "close")
    incident.closed_at, incident.close_note = timezone.now(), note.strip()
    incident.save(update_fields=["status", "closed_at", "close_note"])
    _count_open(incident.shop_id, -1)
    _record(
        incident,
        "incident_closed",
        by,
        note=note.strip(),
        cases=IncidentCase.objects.filter(incident=incident).count(),
    )
    return incident


# --- The reaction ---------------------------------------------------------------------------


def on_case_event(change: CaseChange) -> None:
    """The incidents' reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`), in the
    event's transaction, after the SLA's:

    - a new case joins every open incident of its shop whose rule it matches, and the
      arrival counts are checked for a surge once the case is committed;
    - a member case of an open incident whose status changed gets its new deadlines
      tightened.

    Every other event returns before any query.
    """
    case = change.case
    if change.event == CaseEvent.CASE_OPENED:
        live = Incident.objects.filter(shop_id=case.shop_id, status=IncidentStatus.OPEN)
        for incident in live:
            if matches(incident, case):
                _join(incident, case, Actor.system("incidents"))
        # The case object goes along (its items as opened among it): not read again.
        transaction.on_commit(lambda: detect_surges_for_case(case))
        return
    if not change.status_changed or case.status in TERMINAL_STATUSES:
        return
    if Case.shop.is_cached(case) and case.shop.open_incidents == 0:  # type: ignore[attr-defined]
        # The shop, read with the case's lock (`lock_case`), has no open incident: the case
        # is a member of none.
        return
    tightest = (
        Incident.objects.filter(
            status=IncidentStatus.OPEN,
            members__case=case,
        )
        .order_by("target_hours")
        .first()
    )
    if tightest is not None:
        tighten_clocks(case=case, within=timedelta(hours=tightest.target_hours))


# --- Proposals ------------------------------------------------------------------------------


def _arrivals(shop_id: int, dimension: str, value: str, start: datetime, end: datetime) -> int:
    qs = Case.objects.filter(shop_id=shop_id, applied_at__gte=start, applied_at__lt=end)
    if dimension == "product":
        qs = qs.filter(
            Exists(
                CaseItem.objects.filter(case=OuterRef("pk"), order_item__sku__product_id=int(value))
            )
        )
    elif dimension == "reason":
        qs = qs.filter(reason=value)
    else:
        carrier = carrier_for(value)
        names = [value] + ([carrier.name] if carrier else [])
        qs = qs.filter(
            Exists(
                Shipment.objects.filter(
                    order_id=OuterRef("order_id"), kind=ShipmentKind.OUTBOUND, carrier__in=names
                )
            )
        )
    return qs.count()


def _dimensions_of(case: Case) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    opened = opened_items(case)
    if opened is None:
        products = list(
            CaseItem.objects.filter(case=case)
            .values_list("order_item__sku__product_id", "order_item__sku__product__name")
            .distinct()
        )
    else:  # the opening's object: its items came with their products
        names = {ci.order_item.sku.product_id: ci.order_item.sku.product.name for ci in opened}
        products = list(names.items())
    found += [("product", str(pk), name) for pk, name in products]
    reason = REASONS.get(case.reason)
    found.append(("reason", case.reason, str(reason.label) if reason else case.reason))
    shipment = (
        Shipment.objects.filter(order_id=case.order_id, kind=ShipmentKind.OUTBOUND)
        .order_by("pk")
        .values_list("carrier", flat=True)
        .first()
    )
    if shipment:
        carrier = carrier_for(shipment)
        code = carrier.code if carrier else shipment
        found.append(("carrier", code, carrier_label(shipment)))
    return found


def check_surge(
    shop_id: int, dimension: str, value: str, label: str, now: datetime | None = None
) -> surges.Surge | None:
    now = now or timezone.now()
    start = now - surges.WINDOW
    count = _arrivals(shop_id, dimension, value, start, now + timedelta(microseconds=1))
    if count < surges.MIN_CASES:
        return None  # the bound needs at least this many: no baseline query
    baseline = _arrivals(
        shop_id, dimension, value, start - timedelta(days=surges.BASELINE_DAYS), start
    )
    return surges.surge(dimension, value, label, count, baseline)


def detect_surges_for_case(case: Case | int, now: datetime | None = None) -> list[Incident]:
    """Check the new case's product(s), reason and carrier for a surge; propose an incident
    for each that crossed the bound and has no live incident or proposal already. `case`:
    the committed case (the opening's object), or its id."""
    if not isinstance(case, Case):
        found_case = Case.objects.filter(pk=case).first()
        if found_case is None:
            return []
        case = found_case
    proposed = []
    # A dimension with a live incident or proposal gets no new one (`propose_incident` checks
    # again under lock): its arrival counts are not worth two queries and a transaction per
    # new case while a surge lasts (issue 16). One query for all of the case's dimensions.
    live = set()
    for product_id, reason, carrier in Incident.objects.filter(
        shop_id=case.shop_id, status__in=[IncidentStatus.PROPOSED, IncidentStatus.OPEN]
    ).values_list("product_id", "reason", "carrier"):
        live |= {("product", str(product_id)), ("reason", reason), ("carrier", carrier)}
    for dimension, value, label in _dimensions_of(case):
        if (dimension, value) in live:
            continue
        found = check_surge(case.shop_id, dimension, value, label, now)
        if found is not None:
            incident = propose_incident(shop_id=case.shop_id, surge=found, now=now)
            if incident is not None:
                proposed.append(incident)
    return proposed


_KIND_OF = {
    "product": IncidentKind.BATCH_DEFECT,
    "reason": IncidentKind.SURGE,
    "carrier": IncidentKind.CARRIER_FAILURE,
}


@transaction.atomic
def propose_incident(
    *, shop_id: int, surge: surges.Surge, now: datetime | None = None
) -> Incident | None:
    """A proposal for the supervisors, with its numbers; none if one is live for the same
    dimension value. It changes no case until a supervisor confirms it."""
    now = now or timezone.now()
    key = {"product": "product_id", "reason": "reason", "carrier": "carrier"}[surge.dimension]
    value: Any = int(surge.value) if surge.dimension == "product" else surge.value
    live = Incident.objects.select_for_update().filter(
        shop_id=shop_id, status__in=[IncidentStatus.PROPOSED, IncidentStatus.OPEN], **{key: value}
    )
    if live.exists():
        return None
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext("More cases than usual: %(label)s") % {"label": surge.label}
        lines = [
            gettext(
                "%(count)d cases in the last 24 hours; normally %(rate).1f a day (p = %(p).1e)."
            )
            % {"count": surge.count, "rate": surge.rate, "p": surge.p_value}
        ]
    incident = Incident.objects.create(
        shop_id=shop_id,
        kind=_KIND_OF[surge.dimension],
        status=IncidentStatus.PROPOSED,
        title=title[:TITLE_MAX_LENGTH],
        since=now - surges.WINDOW,
        proposal=surge.as_dict(),
        created_by="system:incidents",
        created_at=now,
        **{key: value},
    )
    _record(incident, "incident_proposed", Actor.system("incidents"), proposal=surge.as_dict())
    raise_alert(
        shop_id=shop_id,
        kind=AlertKind.INCIDENT_PROPOSED,
        key=f"incident_proposed:{incident.pk}",
        title=title,
        lines=lines,
        link=public_link(f"/incidents/{incident.pk}/"),
    )
    return incident


def detect_surges(now: datetime | None = None) -> list[Incident]:
    """Check every dimension value with cases in the last window, in every shop (the
    `propose_incidents` command)."""
    now = now or timezone.now()
    start = now - surges.WINDOW
    recent = Case.objects.filter(applied_at__gte=start, applied_at__lte=now)
    proposed = []
    by_reason = (
        recent.values("shop_id", "reason").annotate(n=Count("pk")).filter(n__gte=surges.MIN_CASES)
    )
    candidates: list[tuple[int, str, str, str]] = []
    for row in by_reason:
        reason = REASONS.get(row["reason"])
        candidates.append(
            (
                row["shop_id"],
                "reason",
                row["reason"],
                str(reason.label) if reason else row["reason"],
            )
        )
    by_product = (
        CaseItem.objects.filter(case__in=recent)
        .values("case__shop_id", "order_item__sku__product_id", "order_item__sku__product__name")
        .annotate(n=Count("case_id", distinct=True))
        .filter(n__gte=surges.MIN_CASES)
    )
    for row in by_product:
        candidates.append(
            (
                row["case__shop_id"],
                "product",
                str(row["order_item__sku__product_id"]),
                row["order_item__sku__product__name"],
            )
        )
    by_carrier = (
        Shipment.objects.filter(kind=ShipmentKind.OUTBOUND, order__cases__in=recent)
        .values("shop_id", "carrier")
        .annotate(n=Count("order__cases", distinct=True))
        .filter(n__gte=surges.MIN_CASES)
    )
    for row in by_carrier:
        carrier = carrier_for(row["carrier"])
        code = carrier.code if carrier else row["carrier"]
        candidates.append((row["shop_id"], "carrier", code, carrier_label(row["carrier"])))
    seen = set()
    for shop_id, dimension, value, label in candidates:
        if (shop_id, dimension, value) in seen:
            continue
        seen.add((shop_id, dimension, value))
        found = check_surge(shop_id, dimension, value, label, now)
        if found is not None:
            incident = propose_incident(shop_id=shop_id, surge=found, now=now)
            if incident is not None:
                proposed.append(incident)
    return proposed


# --- Bulk actions ---------------------------------------------------------------------------

BULK_ACTIONS = ("approve", "message", "assign")


@dataclass(frozen=True)
class BulkResult:
    case_id: int
    outcome: str  # "done" or why it was skipped (the team's bulk words: team.views.SKIP_REASONS)
    detail: str = ""


def apply_bulk(
    *,
    incident: Incident,
    action: str,
    by: Actor,
    template: str = "",
    assignee: Any = None,
    case_ids: Sequence[int] | None = None,
) -> list[BulkResult]:
    """One action on the incident's open cases (or those of `case_ids` among them), each
    through the same service as on the case page and in its own transaction, so one
    refusal does not undo the others. The incident's timeline records the action and its
    counts. Not inside a transaction: each case commits on its own."""
    _check_lead(by, incident.shop_id)
    if action not in BULK_ACTIONS:
        raise InvalidInput(
            _("Choose an action: approve, assign or send a message."), field="action"
        )
    if (
        action == "message"
        and team_services.replies.template_for(incident.shop_id, template) is None
    ):
        raise InvalidInput(_("Choose a message template."), field="template")
    if action == "assign" and assignee is None:
        raise InvalidInput(_("Choose who gets the cases."), field="assignee")
    members = member_cases(incident).exclude(status__in=TERMINAL_STATUSES).order_by("pk")
    if case_ids is not None:
        members = members.filter(pk__in=list(case_ids))
    ids = list(members.values_list("pk", flat=True)[:BULK_MAX_CASES])
    results = [_apply_one(by, pk, action, template, assignee) for pk in ids]
    with transaction.atomic():
        done = [r.case_id for r in results if r.outcome == "done"]
        _record(
            incident,
            "incident_bulk_applied",
            by,
            action=action,
            template=template,
            done=done,
            skipped={r.case_id: r.outcome for r in results if r.outcome != "done"},
        )
    return results


def _apply_one(by: Actor, case_id: int, action: str, template: str, assignee: Any) -> BulkResult:
    try:
        case = get_case_for_actor(by, case_id, write=True)
    except NotFound:
        return BulkResult(case_id, "not_found")
    except PermissionDenied:
        return BulkResult(case_id, "read_only")
    try:
        if action == "approve":
            if not can_approve(case):
                return BulkResult(case_id, "wrong_status")
            if not approvable_by_policy(case):
                return BulkResult(case_id, "not_allowed_by_policy")
            case_services.approve_case(case=case, by=by)
        elif action == "assign":
            team_services.reassign(case=case, to_user=assignee, by=by)
        else:
            misfit = team_services.template_misfit(case, template)
            if misfit is not None:
                return BulkResult(case_id, "does_not_fit", str(misfit))
            team_services.send_templated_message(case=case, template=template, by=by)
    except PermissionDenied:
        return BulkResult(case_id, "not_permitted")
    except DomainError as error:
        return BulkResult(case_id, "refused", error.render(translation.get_language() or "zh-hans"))
    return BulkResult(case_id, "done")


def incidents_of_case(case: Case) -> list[Incident]:
    return list(Incident.objects.filter(members__case=case).order_by("-created_at"))
