"""Fixtures: a simulator on an ephemeral port, a shop with a signed client, a push receiver.

No database and no Django: these tests run under the repository's pytest configuration but
use none of its fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest

from douyin_sim.client import ControlClient, OpenApiClient
from douyin_sim.server import Simulator

from .helpers import APP_KEY, APP_SECRET, SHOP_ID, TEST_CONFIG, TEST_SWITCHES, PushReceiver


@pytest.fixture
def make_sim():
    sims: list[Simulator] = []

    def make(**kwargs: Any) -> Simulator:
        kwargs.setdefault("port", 0)
        kwargs["config"] = TEST_CONFIG | kwargs.get("config", {})
        kwargs["switches"] = TEST_SWITCHES | kwargs.get("switches", {})
        sim = Simulator(**kwargs).start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def sim(make_sim) -> Simulator:
    return make_sim(seed=7)


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.close()


@pytest.fixture
def ctl(sim) -> ControlClient:
    return ControlClient(sim.url)


@pytest.fixture
def shop(ctl) -> dict:
    return ctl.post(
        "shops",
        {
            "shop_id": SHOP_ID,
            "shop_name": "测试旗舰店",
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
        },
    )


@pytest.fixture
def api(sim, shop) -> OpenApiClient:
    client = OpenApiClient(sim.url, APP_KEY, APP_SECRET, timeout=5)
    client.create_token(SHOP_ID)
    return client
