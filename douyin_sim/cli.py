"""`douyin-sim`: serve the simulator, drive a running one (`ctl`), or run traffic against it."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .client import ControlClient, ControlError
from .errors import ControlError as SettingError

DEFAULT_URL = "http://127.0.0.1:9100"


def _pair(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _assignments(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {pair!r}")
        out[key] = _value(value)
    return out


# --- serve ------------------------------------------------------------------------------

_SERVE_CONFIG = {
    "token_ttl": "token_ttl",
    "refresh_ttl": "refresh_ttl",
    "qps": "qps",
    "refund_delay": "refund_delay",
    "tick": "tick",
    "latency": "api_latency",
}
_SERVE_SWITCHES = {
    "push_duplicate": "push_duplicate",
    "push_reorder": "push_reorder_window",
    "push_delay": "push_delay",
    "push_batch": "push_batch_size",
    "push_timeout": "push_timeout",
    "push_retry_base": "push_retry_base",
    "fail_rate": "api_fail_rate",
    "hang_rate": "api_hang_rate",
    "hang_seconds": "api_hang_seconds",
    "fault_when": "api_fault_when",
    "fault_methods": "api_fault_methods",
}


def _serve(args: argparse.Namespace) -> int:
    from .server import Simulator

    config = {key: getattr(args, arg) for arg, key in _SERVE_CONFIG.items()}
    switches = {key: getattr(args, arg) for arg, key in _SERVE_SWITCHES.items()}
    config = {k: v for k, v in config.items() if v is not None}
    switches = {k: v for k, v in switches.items() if v is not None}
    try:
        sim = Simulator(
            args.host,
            args.port,
            state_path=args.state,
            seed=args.seed,
            config=config,
            switches=switches,
        )
    except SettingError as error:
        print(f"douyin-sim: {error.message}", file=sys.stderr)
        return 2
    existing = {s["shop_id"] for s in sim.platform.list_shops()}
    for spec in args.shop or []:
        parts = spec.split(":", 3)
        if len(parts) < 3:
            print("--shop SHOP_ID:APP_KEY:APP_SECRET[:PUSH_URL]", file=sys.stderr)
            return 2
        shop_id, app_key, app_secret = parts[:3]
        push_url = parts[3] if len(parts) == 4 else ""
        try:
            if shop_id in existing:
                sim.platform.update_shop(shop_id, {"push_url": push_url})
            else:
                sim.platform.create_shop(
                    {
                        "shop_id": shop_id,
                        "app_key": app_key,
                        "app_secret": app_secret,
                        "push_url": push_url,
                    }
                )
        except SettingError as error:
            print(f"douyin-sim: --shop {spec}: {error.message}", file=sys.stderr)
            return 2
    if args.traffic:
        low, high = args.traffic_follow_up
        sim.start_traffic(
            {
                "rate": args.traffic,
                "shop_ids": [s.split(":", 1)[0] for s in args.shop or []],
                "seed": args.seed,
                "follow_up": [low, high],
            }
        )
    try:
        signal.signal(signal.SIGTERM, _interrupt_once)
        print(f"douyin-sim: serving on {sim.url} (control API: {sim.url}/_sim/)", flush=True)
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def _interrupt_once(signum: int, frame: Any) -> None:
    """SIGTERM stops `serve` as Ctrl-C does: the main thread unwinds and stops the simulator.
    Further signals are ignored while it stops; a handler that started a thread per signal
    deadlocked once the interpreter was shutting down (`make demo`'s `kill 0` sends several)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


# --- ctl --------------------------------------------------------------------------------


def _order_item(text: str) -> dict:
    parts = text.split("|")
    if len(parts) < 4:
        raise argparse.ArgumentTypeError("NAME|CATEGORY|QUANTITY|ORIGIN_FEN[|PAY_FEN[|SPEC]]")
    item = {
        "product_name": parts[0],
        "category": parts[1],
        "quantity": int(parts[2]),
        "origin_amount": int(parts[3]),
    }
    if len(parts) > 4 and parts[4]:
        item["pay_amount"] = int(parts[4])
    if len(parts) > 5:
        item["sku_spec"] = parts[5]
    return item


def _claim(text: str) -> dict:
    sku, _, quantity = text.partition(":")
    return {"sku_order_id": sku} | ({"quantity": int(quantity)} if quantity else {})


def _ctl(args: argparse.Namespace) -> Any:
    c = ControlClient(args.url)
    cmd = args.command
    case = f"aftersales/{getattr(args, 'id', '')}"
    simple_get = {
        "health": "health",
        "shops": "shops",
        "clock": "clock",
        "calls": "calls",
        "traffic-status": "traffic",
    }
    if cmd in simple_get:
        return c.get(simple_get[cmd])
    if cmd == "reset":
        return c.post("reset")
    if cmd == "shop-create":
        return c.post(
            "shops",
            {
                "shop_id": args.shop_id,
                "shop_name": args.name,
                "app_key": args.app_key,
                "app_secret": args.app_secret,
                "push_url": args.push_url,
            },
        )
    if cmd == "shop-update":
        return c.post(f"shops/{args.id}", {"push_url": args.push_url})
    if cmd == "expire-tokens":
        return c.post("tokens/expire", {"shop_id": args.shop})
    if cmd == "order-create":
        return c.post(
            "orders",
            {
                "shop_id": args.shop,
                "items": args.item,
                "shipping_fee": args.shipping_fee,
                "insurance": args.insurance,
                "buyer": {"nickname": args.nickname, "vip_level": args.vip},
                "shipped": args.shipped,
                "delivered": args.delivered,
            },
        )
    if cmd == "order":
        return c.get(f"orders/{args.id}")
    if cmd in ("ship", "deliver"):
        body = {}
        if cmd == "ship":
            body = {"company_code": args.company, "tracking_no": args.tracking}
        return c.post(f"orders/{args.id}/{cmd}", {k: v for k, v in body.items() if v})
    if cmd == "apply":
        body = {
            "order_id": args.id,
            "type": args.type,
            "reason_code": args.reason,
            "items": args.item,
            "amount": args.amount,
            "post_amount": args.post_amount,
            "statement": args.statement,
            "evidence": args.evidence,
        }
        return c.post("aftersales", {k: v for k, v in body.items() if v is not None})
    if cmd == "aftersales":
        return c.get("aftersales", shop_id=args.shop, open="1" if args.open else None)
    if cmd == "aftersale":
        return c.get(case)
    if cmd == "modify":
        body = {
            "reason_code": args.reason,
            "amount": args.amount,
            "statement": args.statement,
            "evidence": args.evidence,
        }
        return c.post(f"{case}/modify", {k: v for k, v in body.items() if v is not None})
    if cmd == "ship-return":
        return c.post(
            f"{case}/ship_return", {"company_code": args.company, "tracking_no": args.tracking}
        )
    actions = {
        "withdraw": "withdraw",
        "confirm-receipt": "confirm_receipt",
        "resend-ship": "resend_ship",
        "arbitrate": "arbitrate",
        "request-evidence": "arbitrate/evidence_request",
        "cancel-arbitration": "arbitrate/cancel",
    }
    if cmd in actions:
        return c.post(f"{case}/{actions[cmd]}", {})
    if cmd == "rule":
        return c.post(f"{case}/arbitrate/rule", {"conclusion": args.conclusion})
    if cmd == "advance":
        body = {"seconds": args.seconds, "hours": args.hours, "days": args.days}
        return c.post("clock/advance", {k: v for k, v in body.items() if v is not None})
    if cmd == "sweep":
        return c.post("sweep")
    if cmd == "operations":
        return c.get(
            "operations", shop_id=args.shop, method=args.method, aftersale_id=args.aftersale
        )
    if cmd == "messages":
        return c.get(
            "messages", shop_id=args.shop, order_id=args.order, aftersale_id=args.aftersale
        )
    if cmd == "pushes":
        return c.get("pushes", status=args.status, tag=args.tag, aftersale_id=args.aftersale)
    if cmd == "retry-pushes":
        return c.post("pushes/retry")
    if cmd in ("faults", "config"):
        updates = _assignments(args.assignments)
        return c.post(cmd, updates) if updates else c.get(cmd)
    if cmd == "traffic-start":
        return c.post("traffic", {"rate": args.rate, "shop_ids": args.shop or []})
    if cmd == "traffic-stop":
        return c.post("traffic/stop")
    if cmd == "raw":
        if args.method.upper() == "GET":
            return c.get(args.path)
        return c.post(args.path, json.loads(args.body or "{}"))
    raise SystemExit(f"unknown command {cmd}")


def _add_ctl(sub: argparse._SubParsersAction) -> None:
    ctl = sub.add_parser("ctl", help="drive a running simulator through /_sim/")
    ctl.add_argument("--url", default=DEFAULT_URL)
    cmds = ctl.add_subparsers(dest="command", required=True)

    def cmd(name: str, help: str, *ids: str) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, help=help)
        for id_name in ids:
            p.add_argument(id_name)
        return p

    for name, help in (
        ("health", "is it up; the clock"),
        ("reset", "forget everything (shops too)"),
        ("shops", "list shops"),
        ("clock", "wall time and the simulated offset"),
        ("sweep", "run due timeouts and refunds now"),
        ("calls", "the last 1000 gateway calls"),
        ("retry-pushes", "re-queue dead deliveries"),
        ("traffic-stop", "stop the in-server traffic generator"),
        ("traffic-status", "the in-server traffic generator"),
    ):
        cmd(name, help)
    p = cmd("shop-create", "create a shop and its app credentials")
    p.add_argument("--shop-id")
    p.add_argument("--name")
    p.add_argument("--app-key", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--push-url", default="")
    p = cmd("shop-update", "change a shop's push URL", "id")
    p.add_argument("--push-url", default="")
    p = cmd("expire-tokens", "make access tokens expire now")
    p.add_argument("--shop")
    p = cmd("order-create", "create a paid order")
    p.add_argument("--shop", required=True)
    p.add_argument(
        "--item",
        action="append",
        type=_order_item,
        required=True,
        help="NAME|CATEGORY|QUANTITY|ORIGIN_FEN[|PAY_FEN[|SPEC]] (repeat)",
    )
    p.add_argument("--shipping-fee", type=int, default=0)
    p.add_argument("--insurance", action="store_true")
    p.add_argument("--nickname", default="抖音用户")
    p.add_argument("--vip", type=int, default=0)
    p.add_argument("--shipped", action="store_true")
    p.add_argument("--delivered", action="store_true")
    cmd("order", "show an order", "id")
    p = cmd("ship", "ship an order", "id")
    p.add_argument("--company")
    p.add_argument("--tracking")
    cmd("deliver", "the buyer signs for the order", "id")
    p = cmd("apply", "the buyer applies for an after-sale on ORDER", "id")
    p.add_argument("--type", type=int, required=True, help="0 return, 1/2 refund, 3, 7, 8")
    p.add_argument("--reason", type=int, required=True)
    p.add_argument("--item", action="append", type=_claim, help="SKU_ORDER_ID[:QUANTITY]")
    p.add_argument("--amount", type=int)
    p.add_argument("--post-amount", type=int)
    p.add_argument("--statement")
    p.add_argument("--evidence", action="append")
    p = cmd("aftersales", "list after-sales")
    p.add_argument("--shop")
    p.add_argument("--open", action="store_true")
    cmd("aftersale", "show one after-sale", "id")
    p = cmd("modify", "the buyer modifies the application", "id")
    p.add_argument("--reason", type=int)
    p.add_argument("--amount", type=int)
    p.add_argument("--statement")
    p.add_argument("--evidence", action="append")
    for name, help in (
        ("withdraw", "the buyer withdraws"),
        ("confirm-receipt", "the buyer confirms receipt of the replacement"),
        ("resend-ship", "the warehouse ships the resend (8 → 13)"),
        ("arbitrate", "the buyer asks for platform intervention"),
        ("request-evidence", "the platform asks the merchant for evidence"),
        ("cancel-arbitration", "the buyer cancels the intervention"),
    ):
        cmd(name, help, "id")
    p = cmd("ship-return", "the buyer ships the goods back", "id")
    p.add_argument("--company", default="zhongtong")
    p.add_argument("--tracking", required=True)
    p = cmd("rule", "the platform rules", "id")
    p.add_argument("--conclusion", type=int, required=True, choices=(1, 2, 3))
    p = cmd("advance", "advance the simulated clock (timeouts fire)")
    p.add_argument("--seconds", type=float)
    p.add_argument("--hours", type=float)
    p.add_argument("--days", type=float)
    p = cmd("operations", "the merchant's recorded API operations")
    p.add_argument("--shop")
    p.add_argument("--method")
    p.add_argument("--aftersale")
    p = cmd("messages", "messages sent to buyers")
    p.add_argument("--shop")
    p.add_argument("--order")
    p.add_argument("--aftersale")
    p = cmd("pushes", "the push queue")
    p.add_argument("--status", choices=("pending", "delivered", "dead"))
    p.add_argument("--tag")
    p.add_argument("--aftersale")
    for name in ("faults", "config"):
        p = cmd(name, f"show, or set with key=value, the {name}")
        p.add_argument("assignments", nargs="*", metavar="key=value")
    p = cmd("traffic-start", "start the in-server traffic generator")
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--shop", action="append")
    p = cmd("raw", "any control endpoint", "method", "path")
    p.add_argument("body", nargs="?")


def _traffic(args: argparse.Namespace) -> int:
    from .traffic import Traffic

    traffic = Traffic(
        args.url, args.rate, shop_ids=args.shop, seed=args.seed, follow_up=args.follow_up
    )
    if args.count:
        for _ in range(args.count):
            case = traffic.create_one()
            print(json.dumps({k: case[k] for k in ("aftersale_id", "type", "status")}))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: traffic.stop.set())
    print(f"douyin-sim traffic: {args.rate}/s against {args.url} (Ctrl-C stops)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        traffic.run()
    print(json.dumps(traffic.stats))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="douyin-sim", description="A local simulator of the Douyin open platform (抖店)."
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="action", required=True)

    s = sub.add_parser("serve", help="run the simulator")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=9100)
    s.add_argument("--state", metavar="FILE", help="keep the state in this JSON file")
    s.add_argument("--seed", type=int)
    s.add_argument(
        "--shop",
        action="append",
        metavar="ID:APP_KEY:APP_SECRET[:PUSH_URL]",
        help="create (or update the push URL of) a shop at start; repeat",
    )
    s.add_argument("--token-ttl", type=int, help="access token lifetime, seconds (7200)")
    s.add_argument("--refresh-ttl", type=int, help="refresh token lifetime, seconds (14 days)")
    s.add_argument("--qps", type=int, help="per-app rate limit, 0 = none (100)")
    s.add_argument("--refund-delay", type=float, help="seconds from 退款中 to 退款成功 (5)")
    s.add_argument("--tick", type=float, help="seconds between deadline sweeps (1)")
    s.add_argument(
        "--latency", type=float, help="seconds every API call waits before its answer (0)"
    )
    s.add_argument("--push-duplicate", type=int, help="send every push N times")
    s.add_argument("--push-reorder", type=int, help="shuffle pushes within windows of N")
    s.add_argument("--push-delay", type=float, help="seconds before a push is first sent")
    s.add_argument("--push-batch", type=int, help="messages per push POST")
    s.add_argument("--push-timeout", type=float, help="seconds to wait for the receiver (5)")
    s.add_argument("--push-retry-base", type=float, help="first redelivery delay, seconds (2)")
    s.add_argument("--fail-rate", type=float, help="fraction of API calls answered with 5xx")
    s.add_argument("--hang-rate", type=float, help="fraction of API calls left unanswered")
    s.add_argument("--hang-seconds", type=float, help="how long a hung call hangs (10)")
    s.add_argument("--fault-when", choices=("before", "after", "random"))
    s.add_argument("--fault-methods", help="comma-separated methods the faults apply to")
    s.add_argument("--traffic", type=float, metavar="RATE", help="start traffic: cases/second")
    s.add_argument("--traffic-follow-up", type=_pair, default=(15.0, 90.0), metavar="LOW,HIGH")

    _add_ctl(sub)

    t = sub.add_parser("traffic", help="generate orders and after-sales against a simulator")
    t.add_argument("--url", default=DEFAULT_URL)
    t.add_argument("--rate", type=float, default=0.2, help="applications per second")
    t.add_argument("--shop", action="append", help="shop id (repeat; default: all shops)")
    t.add_argument("--seed", type=int)
    t.add_argument("--follow-up", type=_pair, default=(15.0, 90.0), metavar="LOW,HIGH")
    t.add_argument("--count", type=int, help="create this many applications, then exit")
    return parser


class PlatformTimeFormatter(logging.Formatter):
    """The platform's time, Beijing time with its zone (2026-03-02T09:00:00.123+08:00), as the
    product logs its own beside it, whatever zone this process runs in."""

    zone = ZoneInfo("Asia/Shanghai")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(PlatformTimeFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    if args.action == "serve":
        return _serve(args)
    if args.action == "traffic":
        try:
            return _traffic(args)
        except ControlError as error:
            print(f"douyin-sim traffic: {error}", file=sys.stderr)
            return 1
    try:
        result = _ctl(args)
    except ControlError as error:
        print(f"douyin-sim ctl: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"douyin-sim ctl: cannot reach {args.url}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
