"""afterSale/List paging and ordering; the state file across a restart."""

from __future__ import annotations

import json

from douyin_sim.client import ControlClient, OpenApiClient

from .helpers import APP_KEY, APP_SECRET, SHOP_ID, PushReceiver, detail, new_case, operate


def _page(api, page: int, size: int, **extra) -> dict:
    return api.call("afterSale/List", {"page": page, "size": size} | extra)


def test_paging_covers_every_after_sale_once(ctl, api):
    created = {new_case(ctl, 1, 11, stage="shipped")["aftersale_id"] for _ in range(23)}
    seen = []
    pages = []
    for page in range(3):
        data = _page(api, page, 10, order_by=["update_time asc"])
        pages.append((len(data["items"]), data["has_more"], data["total"]))
        seen += [str(i["process_info"]["after_sale_info"]["after_sale_id"]) for i in data["items"]]
    assert pages == [(10, True, 23), (10, True, 23), (3, False, 23)]
    assert len(seen) == 23 and set(seen) == created
    assert _page(api, 3, 10)["items"] == []
    item = _page(api, 0, 1)["items"][0]
    assert set(item) == {"process_info", "order_info"}  # the Detail shape [ours]


def test_update_time_ordering_and_windows(ctl, api):
    ids = [new_case(ctl, 1, 11, stage="shipped")["aftersale_id"] for _ in range(4)]
    operate(api, 201, {"aftersale_id": ids[0]})  # the oldest becomes the latest change

    def order(direction: str, **extra) -> list[str]:
        items = _page(api, 0, 100, order_by=[f"update_time {direction}"], **extra)["items"]
        return [str(i["process_info"]["after_sale_info"]["after_sale_id"]) for i in items]

    asc = order("asc")
    assert asc[-1] == ids[0] and asc[:3] == ids[1:]
    assert order("desc") == list(reversed(asc))
    times = [detail(api, i)["update_time"] for i in asc]
    assert times == sorted(times)

    changed = detail(api, ids[0])["update_time"]
    window = order("asc", update_start_time=changed, update_end_time=changed + 3600)
    assert window == [ids[0]]
    assert order("asc", standard_aftersale_status=[12]) == [ids[0]]
    assert order("asc", standard_aftersale_status=[6], aftersale_type=1) == ids[1:]
    order_id = ctl.get(f"aftersales/{ids[2]}")["order_id"]
    assert order("asc", order_id=order_id) == [ids[2]]


def test_state_survives_a_restart(make_sim, tmp_path):
    path = str(tmp_path / "sim.json")
    first = make_sim(state_path=path)
    ctl = ControlClient(first.url)
    ctl.post("shops", {"shop_id": SHOP_ID, "app_key": APP_KEY, "app_secret": APP_SECRET})
    ctl.post("faults", {"push_duplicate": 2})
    api = OpenApiClient(first.url, APP_KEY, APP_SECRET)
    api.create_token(SHOP_ID)
    case = new_case(ctl, 1, 11, stage="shipped")
    operate(api, 201, {"aftersale_id": case["aftersale_id"]})
    first.stop()
    with open(path, encoding="utf-8") as fh:
        saved = json.load(fh)
    assert len(saved["pushes"]) == 6  # 200, 201, 206, twice each, none delivered yet

    receiver = PushReceiver()
    try:
        second = make_sim(state_path=path)
        ctl = ControlClient(second.url)
        api.base_url = second.url  # the same tokens work after the restart
        info = detail(api, case["aftersale_id"])
        assert (info["after_sale_status"], info["refund_status"]) == (12, 3)
        assert ctl.get("faults")["push_duplicate"] == 2
        ctl.post(f"shops/{SHOP_ID}", {"push_url": receiver.url})
        assert receiver.wait_for(lambda r: len(r.messages()) == 6)
        assert sorted(receiver.tags()) == ["200", "200", "201", "201", "206", "206"]
        again = new_case(ctl)  # ids keep counting, never reused
        assert int(again["aftersale_id"]) > int(case["aftersale_id"])
        assert len(ctl.get("operations")) == 1
    finally:
        receiver.close()


def test_reset_forgets_everything(ctl, api):
    new_case(ctl)
    ctl.post("reset")
    assert ctl.get("shops") == [] and ctl.get("aftersales") == [] and ctl.get("pushes") == []
