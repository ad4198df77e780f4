"""The `douyin-sim` CLI against a running server, and the traffic generator."""

from __future__ import annotations

import json
import time

from douyin_sim.cli import main
from douyin_sim.traffic import Traffic

from .helpers import APP_KEY, APP_SECRET, SHOP_ID, wait_until


def _ctl(capsys, sim, *args: str):
    code = main(["ctl", "--url", sim.url, *args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)


def test_cli_drives_a_scenario(sim, capsys):
    code, shop = _ctl(
        capsys,
        sim,
        "shop-create",
        "--shop-id",
        SHOP_ID,
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
    )
    assert code == 0 and shop["shop_id"] == SHOP_ID
    code, order = _ctl(
        capsys,
        sim,
        "order-create",
        "--shop",
        SHOP_ID,
        "--item",
        "主动降噪蓝牙耳机|electronics|1|39900|35900|曜石黑",
        "--shipping-fee",
        "600",
        "--vip",
        "5",
        "--delivered",
    )
    assert code == 0 and order["order_status"] == 5
    assert order["buyer"]["vip_level"] == 5 and order["pay_amount"] == 35900 + 600
    code, case = _ctl(
        capsys,
        sim,
        "apply",
        order["order_id"],
        "--type",
        "8",
        "--reason",
        "5",
        "--statement",
        "开机几分钟就自动关机",
        "--evidence",
        "https://e/video.mp4",
    )
    assert code == 0 and (case["type"], case["status"]) == (8, 6)
    code, fired = _ctl(capsys, sim, "advance", "--hours", "49")
    assert code == 0 and fired["fired"][0]["to"] == 7  # repair auto-agreed: send it in
    code, faults = _ctl(capsys, sim, "faults", "push_duplicate=2", "api_fault_methods=a,b")
    assert code == 0 and faults["push_duplicate"] == 2
    assert faults["api_fault_methods"] == ["a", "b"]
    code, error = _ctl(capsys, sim, "faults", "api_fail_rate=2")
    assert code == 1 and "api_fail_rate" in error
    code, error = _ctl(capsys, sim, "withdraw", "999")
    assert code == 1 and "404" in error


def test_traffic_generator_makes_a_realistic_mix(sim, ctl, shop):
    traffic = Traffic(sim.url, 1.0, shop_ids=[SHOP_ID], seed=3, follow_up=(0, 0))
    cases = [traffic.create_one() for _ in range(40)]
    kinds = {c["type"] for c in cases}
    assert {0, 1, 2} <= kinds and len(kinds) >= 4
    names = {c["detail"]["order_info"]["sku_order_infos"][0]["product_name"] for c in cases}
    assert len(names) > 10 and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)
    assert all(c["status"] == 6 for c in cases)
    assert traffic.stats["applications"] == 40


def test_traffic_buyers_ship_returns_after_agreement(sim, ctl, api):
    traffic = Traffic(sim.url, 1.0, shop_ids=[SHOP_ID], seed=5, follow_up=(0, 0))
    case = None
    while case is None or case["type"] != 0:
        case = traffic.create_one()
    aftersale_id = case["aftersale_id"]
    item = {"aftersale_id": aftersale_id, "logistics": {"receiver_address_id": 1}}
    assert api.request("afterSale/operate", {"type": 101, "items": [item]})["code"] == 10000
    traffic.plans[aftersale_id] = {
        "withdraw": False,
        "never_ship": False,
        "arbitrate": False,
        "modify": False,
        "ask_evidence": False,
    }
    traffic.follow_ups(time.monotonic())  # decides, and schedules "some time later"
    traffic.follow_ups(time.monotonic() + 1)  # that time has come
    assert ctl.get(f"aftersales/{aftersale_id}")["return_status"] == 1


def test_in_server_traffic_starts_and_stops(sim, ctl, shop):
    status = ctl.post("traffic", {"rate": 50, "shop_id": SHOP_ID, "seed": 1})
    assert status["running"] is True
    wait_until(lambda: ctl.get("traffic")["applications"] >= 2, timeout=10)
    stopped = ctl.post("traffic/stop")
    assert stopped == {"running": False}
    assert len(ctl.get("aftersales")) >= 2


def test_serve_stops_on_sigterm_even_when_several_arrive(tmp_path):
    """`make demo` stops its processes with `kill 0` on Ctrl-C and again on exit: the
    simulator must release its port whatever number of SIGTERMs it receives."""
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "douyin_sim", "serve", "--port", str(port)]
        + ["--state", str(tmp_path / "state.json"), "--traffic", "1"]
        + ["--shop", f"{SHOP_ID}:{APP_KEY}:{APP_SECRET}:http://127.0.0.1:9/"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving on" in server.stdout.readline()  # up: its threads are running
        for _ in range(3):
            server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.stdout.close()
