"""Staff alerts in the REST API (`/api/v1/alerts…`), mounted by `api/api.py`: the shop's group
robots (shop admins set them up; supervisors read them) with their secrets masked, and the
recent deliveries. Another shop's robot is a 404."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.shops.models import Shop

from . import robots, services
from .models import AlertKind, RobotChannel

router = Router(tags=["alerts"])

AlertKindIn = Literal["sla_breached", "incident_proposed", "incident_declared", "platform_warning"]


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _shop(actor: Actor, shop_id: int | None) -> Shop:
    shops = list(actor.shop_roles)
    if shop_id is None and len(shops) == 1:
        shop_id = shops[0]
    shop = Shop.objects.filter(pk=shop_id).first() if shop_id is not None else None
    if shop is None or not (actor.is_unscoped or shop.pk in actor.shop_roles):
        from django.utils.translation import gettext_lazy as _

        raise NotFound(_("Shop not found."))
    return shop


class ShopQuery(Schema):
    shop: int | None = None


class RobotIn(Schema):
    shop: int | None = None
    kind: Literal["wecom", "dingtalk", "feishu"]
    name: str = Field(..., max_length=services.NAME_MAX_LENGTH)
    webhook_url: str = Field(..., max_length=services.URL_MAX_LENGTH)
    secret: str = Field("", max_length=services.SECRET_MAX_LENGTH)
    alert_kinds: list[AlertKindIn] = Field(..., max_length=len(AlertKind.values))


class RobotPatch(Schema):
    name: str = Field(..., max_length=services.NAME_MAX_LENGTH)
    webhook_url: str = Field("", max_length=services.URL_MAX_LENGTH)  # empty: keep
    secret: str = Field("", max_length=services.SECRET_MAX_LENGTH)  # empty: keep; "-": remove
    alert_kinds: list[AlertKindIn] = Field(..., max_length=len(AlertKind.values))
    active: bool = True


def robot_body(channel: RobotChannel) -> dict[str, Any]:
    """A robot as anyone may see it: the URL's key and the secret masked."""
    return {
        "id": channel.pk,
        "shop": channel.shop_id,
        "kind": channel.kind,
        "name": channel.name,
        "webhook_url": robots.masked_url(channel.webhook_url),
        "secret": robots.mask(channel.secret),
        "signed": bool(channel.secret),
        "alert_kinds": channel.alert_kinds,
        "active": channel.active,
    }


@router.get("/robots", summary="The shop's group robots (secrets masked)")
def list_robots(request: HttpRequest, query: Query[ShopQuery]) -> list[dict[str, Any]]:
    actor = _actor(request)
    return [robot_body(c) for c in services.channels_for_actor(actor, _shop(actor, query.shop).pk)]


@router.post("/robots", summary="Set up a group robot (WeCom, DingTalk, Feishu)")
def create_robot(request: HttpRequest, body: RobotIn) -> dict[str, Any]:
    actor = _actor(request)
    channel = services.configure_channel(
        shop=_shop(actor, body.shop),
        kind=body.kind,
        name=body.name,
        webhook_url=body.webhook_url,
        secret=body.secret,
        alert_kinds=list(body.alert_kinds),
        by=actor,
    )
    return robot_body(channel)


@router.patch("/robots/{robot_id}", summary="Change a group robot")
def patch_robot(request: HttpRequest, robot_id: int, body: RobotPatch) -> dict[str, Any]:
    actor = _actor(request)
    channel = services.update_channel(
        channel=services.get_channel_for_actor(actor, robot_id),
        name=body.name,
        webhook_url=body.webhook_url,
        secret=body.secret,
        alert_kinds=list(body.alert_kinds),
        active=body.active,
        by=actor,
    )
    return robot_body(channel)


@router.get("/deliveries", summary="Recent alerts and how each robot took them")
def list_deliveries(request: HttpRequest, query: Query[ShopQuery]) -> list[dict[str, Any]]:
    actor = _actor(request)
    return [
        {
            "alert": d.alert_id,
            "kind": d.alert.kind,
            "title": d.alert.title,
            "robot": d.channel_id,
            "status": d.status,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "sent_at": d.sent_at,
            "created_at": d.alert.created_at,
        }
        for d in services.recent_deliveries(actor, _shop(actor, query.shop).pk)
    ]
