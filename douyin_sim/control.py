"""The control API under /_sim/: unsigned JSON to drive scenarios (never on the real platform)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .errors import ControlError

if TYPE_CHECKING:
    from .server import Simulator

_ID = r"(?P<id>\d+)"
_ROUTES: list[tuple[str, re.Pattern, str]] = []


def route(method: str, pattern: str):
    def register(fn):
        _ROUTES.append((method, re.compile(f"^{pattern}$"), fn.__name__))
        return fn

    return register


def handle(sim: Simulator, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
    path = "/" + path.strip("/")
    allowed = []
    for verb, pattern, name in _ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        if verb != method:
            allowed.append(verb)
            continue
        if method == "POST" and not isinstance(body, dict):
            raise ControlError("expected a JSON object body")
        return 200, globals()[name](sim, query=query, body=body, **match.groupdict())
    if allowed:
        raise ControlError(f"method not allowed (use {', '.join(allowed)})", 405)
    raise ControlError(f"no control endpoint {path} (see GET /_sim/)", 404)


@route("GET", "/_sim")
def index(sim, **_):
    return {"endpoints": [f"{verb} {pattern.pattern[1:-1]}" for verb, pattern, _ in _ROUTES]}


@route("GET", "/_sim/health")
def health(sim, **_):
    return {"ok": True, "url": sim.url, **sim.platform.clock()}


@route("POST", "/_sim/reset")
def reset(sim, **_):
    sim.stop_traffic()
    sim.platform.reset()
    return {"ok": True}


# --- shops, tokens ----------------------------------------------------------------------


@route("GET", "/_sim/shops")
def shops(sim, **_):
    return sim.platform.list_shops()


@route("POST", "/_sim/shops")
def shop_create(sim, body, **_):
    return sim.platform.create_shop(body)


@route("POST", f"/_sim/shops/{_ID}")
def shop_update(sim, id, body, **_):
    return sim.platform.update_shop(id, body)


@route("POST", "/_sim/tokens/expire")
def tokens_expire(sim, body, **_):
    return {"expired": sim.platform.expire_tokens(body.get("shop_id"))}


# --- orders -----------------------------------------------------------------------------


@route("POST", "/_sim/orders")
def order_create(sim, body, **_):
    return sim.platform.create_order(body)


@route("GET", f"/_sim/orders/{_ID}")
def order_get(sim, id, **_):
    return sim.platform.order_view(id)


@route("POST", f"/_sim/orders/{_ID}/ship")
def order_ship(sim, id, body, **_):
    return sim.platform.ship_order(id, body)


@route("POST", f"/_sim/orders/{_ID}/deliver")
def order_deliver(sim, id, body, **_):
    return sim.platform.deliver_order(id, body)


# --- after-sales: the buyer, the warehouse, the platform's customer service --------------


@route("POST", "/_sim/aftersales")
def aftersale_apply(sim, body, **_):
    return sim.platform.apply(body)


@route("GET", "/_sim/aftersales")
def aftersale_list(sim, query, **_):
    return sim.platform.list_cases(query)


@route("GET", f"/_sim/aftersales/{_ID}")
def aftersale_get(sim, id, **_):
    return sim.platform.case_view(id)


_CASE_ACTIONS = {
    "modify": "modify",
    "withdraw": "withdraw",
    "ship_return": "ship_return",
    "confirm_receipt": "confirm_receipt",
    "resend_ship": "resend_ship",
    "arbitrate": "arbitrate_apply",
    "arbitrate/evidence_request": "arbitrate_request_evidence",
    "arbitrate/cancel": "arbitrate_cancel",
    "arbitrate/rule": "arbitrate_rule",
}


@route("POST", f"/_sim/aftersales/{_ID}/(?P<action>[a-z_]+(?:/[a-z_]+)?)")
def aftersale_action(sim, id, action, body, **_):
    name = _CASE_ACTIONS.get(action)
    if name is None:
        raise ControlError(f"unknown action {action!r} (known: {', '.join(_CASE_ACTIONS)})", 404)
    return getattr(sim.platform, name)(id, body)


# --- time -------------------------------------------------------------------------------


@route("GET", "/_sim/clock")
def clock(sim, **_):
    return sim.platform.clock()


@route("POST", "/_sim/clock/advance")
def clock_advance(sim, body, **_):
    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    total = 0.0
    for name, factor in units.items():
        if body.get(name) is not None:
            try:
                total += float(body[name]) * factor
            except (TypeError, ValueError):
                raise ControlError(f"{name}: expected a number") from None
    if not any(body.get(name) is not None for name in units):
        raise ControlError("give seconds, minutes, hours or days")
    return sim.platform.advance(total)


@route("POST", "/_sim/sweep")
def sweep(sim, **_):
    return {"fired": sim.platform.sweep()}


# --- records ----------------------------------------------------------------------------


@route("GET", "/_sim/operations")
def operations(sim, query, **_):
    return sim.platform.operations(query)


@route("GET", "/_sim/messages")
def messages(sim, query, **_):
    return sim.platform.messages(query)


@route("GET", "/_sim/pushes")
def pushes(sim, query, **_):
    return sim.platform.pushes(query)


@route("POST", "/_sim/pushes/retry")
def pushes_retry(sim, **_):
    return {"requeued": sim.platform.retry_dead_pushes()}


@route("GET", "/_sim/calls")
def calls(sim, **_):
    return list(sim.gateway.calls)


# --- settings ---------------------------------------------------------------------------


@route("GET", "/_sim/faults")
def faults(sim, **_):
    with sim.platform.lock:
        return copy.deepcopy(sim.platform.switches)


@route("POST", "/_sim/faults")
def faults_set(sim, body, **_):
    return sim.platform.set_switches(body)


@route("GET", "/_sim/config")
def config(sim, **_):
    with sim.platform.lock:
        return copy.deepcopy(sim.platform.config)


@route("POST", "/_sim/config")
def config_set(sim, body, **_):
    return sim.platform.set_config(body)


# --- traffic ----------------------------------------------------------------------------


@route("GET", "/_sim/traffic")
def traffic(sim, **_):
    return sim.traffic_status()


@route("POST", "/_sim/traffic")
def traffic_start(sim, body, **_):
    return sim.start_traffic(body)


@route("POST", "/_sim/traffic/stop")
def traffic_stop(sim, **_):
    sim.stop_traffic()
    return sim.traffic_status()
