"""Faults of the simulator's own API: HTTP 5xx and hung calls, before or after the change."""

from __future__ import annotations

import pytest

from douyin_sim.client import HttpFailure

from .helpers import detail, new_case, operate


def _agree(api, aftersale_id: str) -> dict:
    return operate(api, 201, {"aftersale_id": aftersale_id})


def test_5xx_before_the_change_applies_nothing(ctl, api):
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ctl.post("faults", {"api_fail_next": 1, "api_fault_when": "before", "api_fail_status": 502})
    with pytest.raises(HttpFailure, match="HTTP 502"):
        _agree(api, aftersale_id)
    assert detail(api, aftersale_id)["after_sale_status"] == 6
    assert ctl.get("operations") == []
    assert ctl.get("faults")["api_fail_next"] == 0
    assert _agree(api, aftersale_id)["code"] == 10000  # the retry goes through


def test_5xx_after_the_change_applies_it_so_a_blind_retry_sees_wrong_status(ctl, api):
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ctl.post("faults", {"api_fail_next": 1, "api_fault_when": "after"})
    with pytest.raises(HttpFailure, match="HTTP 503"):
        _agree(api, aftersale_id)
    assert detail(api, aftersale_id)["after_sale_status"] == 12
    retry = _agree(api, aftersale_id)
    assert (retry["code"], retry["sub_code"]) == (50002, "isv.business-failed:20309541")
    applied = ctl.get("operations", aftersale_id=aftersale_id, ok="1")
    assert [op["transport"] for op in applied] == ["fail after"]
    assert len(ctl.get("pushes", aftersale_id=aftersale_id, tag="201")) == 1  # refunded once


def test_hung_call_times_out_at_the_client(ctl, api, sim):
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ctl.post("faults", {"api_hang_next": 1, "api_hang_seconds": 2.0, "api_fault_when": "after"})
    api.timeout = 0.3
    with pytest.raises(HttpFailure, match="timed out"):
        _agree(api, aftersale_id)
    api.timeout = 5
    assert detail(api, aftersale_id)["after_sale_status"] == 12  # applied, never answered


def test_faults_can_target_one_method(ctl, api):
    aftersale_id = new_case(ctl, 1, 11, stage="shipped")["aftersale_id"]
    ctl.post(
        "faults",
        {
            "api_fail_rate": 1.0,
            "api_fault_when": "before",
            "api_fault_methods": ["afterSale.operate"],
        },
    )
    assert detail(api, aftersale_id)["after_sale_status"] == 6  # Detail is unaffected
    for _ in range(3):
        with pytest.raises(HttpFailure):
            _agree(api, aftersale_id)
    ctl.post("faults", {"api_fail_rate": 0.0})
    assert _agree(api, aftersale_id)["code"] == 10000


def test_a_fraction_of_calls_fail(ctl, api):
    ctl.post("faults", {"api_fail_rate": 0.5, "api_fault_when": "before"})
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(api.request("afterSale/List", {"page": 0, "size": 1})["code"])
        except HttpFailure:
            outcomes.append("5xx")
    assert 5 <= outcomes.count("5xx") <= 35 and 10000 in outcomes
    assert "fail before" in {c["transport"] for c in ctl.get("calls")}


def test_bad_switch_values_are_refused_and_change_nothing(ctl):
    before = ctl.get("faults")
    for bad in (
        {"api_fail_rate": 1.5},
        {"api_fail_status": 404},
        {"push_duplicate": 0},
        {"api_fault_when": "sometimes"},
        {"no_such_switch": 1},
    ):
        with pytest.raises(Exception, match="HTTP 400"):
            ctl.post("faults", bad)
    assert ctl.get("faults") == before
