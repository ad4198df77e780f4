"""Abuse signals in the REST API (`/api/v1/signals…`), mounted by `api/api.py`.

Every member of a shop reads its signals; supervisors and shop admins review them; shop
admins change the rules. Another shop's signal is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.core.limits import REASON_MAX_LENGTH
from aftersales.shops.models import Shop

from . import services
from .models import RuleCode, Signal
from .rules import RULES, definition

router = Router(tags=["signals"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def shop_of(actor: Actor, shop_id: int | None) -> Shop:
    """The shop asked for, or the actor's only shop; another shop is not found."""
    shops = list(actor.shop_roles)
    if shop_id is None and len(shops) == 1:
        shop_id = shops[0]
    shop = Shop.objects.filter(pk=shop_id).first() if shop_id is not None else None
    if shop is None or not (actor.is_unscoped or shop.pk in actor.shop_roles):
        raise NotFound(_("Shop not found."))
    return shop


RuleCodeIn = Literal[
    "refund_only_buyer",
    "high_return_rate",
    "shared_return_tracking",
    "tracking_never_moves",
    "tracking_other_route",
    "inspection_mismatch",
    "reused_image",
    "refund_after_interception",
]


class SignalQuery(Schema):
    status: Literal["", "open", "confirmed", "dismissed"] = ""
    case: int | None = None
    shop: int | None = None


class ReviewIn(Schema):
    verdict: Literal["confirm", "dismiss"]
    note: str = Field("", max_length=REASON_MAX_LENGTH)


class RuleIn(Schema):
    threshold: int = Field(..., ge=1, le=services.MAX_THRESHOLD)
    window_days: int = Field(..., ge=0, le=services.MAX_WINDOW_DAYS)
    active: bool = True


class RulesQuery(Schema):
    shop: int | None = None


def signal_body(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.pk,
        "shop": signal.shop_id,
        "case": signal.case_id,
        "buyer": signal.buyer_id,
        "rule": signal.rule,
        "rule_label": str(RuleCode(signal.rule).label),
        "value": signal.value,
        "threshold": signal.threshold,
        "evidence": signal.evidence,
        "status": signal.status,
        "created_at": signal.created_at,
        "reviewed_by": signal.reviewed_by,
        "reviewed_at": signal.reviewed_at,
        "review_note": signal.review_note,
    }


@router.get("", summary="Signals of the actor's shops, newest first")
def list_signals(request: HttpRequest, query: Query[SignalQuery]) -> list[dict[str, Any]]:
    actor = _actor(request)
    qs = services.signals_for_actor(actor)
    if query.shop is not None:
        qs = qs.filter(shop=shop_of(actor, query.shop))
    if query.status:
        qs = qs.filter(status=query.status)
    if query.case is not None:
        qs = qs.filter(case_id=query.case)
    return [signal_body(s) for s in qs.order_by("-created_at")[:500]]


@router.get("/rules", summary="The shop's rules with their thresholds and precision")
def list_rules(request: HttpRequest, query: Query[RulesQuery]) -> list[dict[str, Any]]:
    shop = shop_of(_actor(request), query.shop)
    return [
        {
            "rule": p.rule.code,
            "label": str(RuleCode(p.rule.code).label),
            "definition": definition(p.rule.code, p.rule.threshold, p.rule.window_days),
            "unit": str(RULES[p.rule.code].unit),
            "threshold": p.rule.threshold,
            "window_days": p.rule.window_days,
            "active": p.rule.active,
            "open": p.open,
            "confirmed": p.confirmed,
            "dismissed": p.dismissed,
            "precision": p.precision,
        }
        for p in services.precision_by_rule(shop.pk)
    ]


@router.put("/rules/{code}", summary="Change a rule's threshold, look-back or switch it off")
def put_rule(
    request: HttpRequest, code: RuleCodeIn, body: RuleIn, query: Query[RulesQuery]
) -> dict[str, Any]:
    actor = _actor(request)
    shop = shop_of(actor, query.shop)
    rule = services.update_rule(
        shop=shop,
        code=code,
        threshold=body.threshold,
        window_days=body.window_days,
        active=body.active,
        by=actor,
    )
    return {
        "rule": rule.code,
        "threshold": rule.threshold,
        "window_days": rule.window_days,
        "active": rule.active,
    }


@router.get("/{signal_id}", summary="One signal with its evidence")
def get_signal(request: HttpRequest, signal_id: int) -> dict[str, Any]:
    return signal_body(services.get_signal_for_actor(_actor(request), signal_id))


@router.post("/{signal_id}/review", summary="Confirm or dismiss a signal (once)")
def review(request: HttpRequest, signal_id: int, body: ReviewIn) -> dict[str, Any]:
    actor = _actor(request)
    signal = services.get_signal_for_actor(actor, signal_id)
    return signal_body(
        services.review_signal(signal=signal, verdict=body.verdict, note=body.note, by=actor)
    )
