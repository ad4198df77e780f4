"""Fixtures of the Douyin adapter's tests: a fake gateway on loopback and a linked shop."""

import pytest

from . import factories
from .e2e_support import AGENT, APP_KEY, APP_SECRET
from .fake_gateway import FakeGateway
from .live import ProductServer

DOUYIN_GATEWAY = "aftersales.platforms.douyin.gateway.DouyinRefundGateway"


@pytest.fixture
def fast(settings):
    """Retries without waiting long: the backoff is real, only its base is tiny."""
    settings.DOUYIN_BACKOFF_BASE = 0.001
    settings.DOUYIN_BACKOFF_CAP = 0.005
    settings.DOUYIN_HTTP_TIMEOUT = 2.0
    settings.AFTERSALES_REFUND_GATEWAY = DOUYIN_GATEWAY
    return settings


@pytest.fixture
def gateway():
    fake = FakeGateway(app_key="app-test", secret="secret-测试").start()
    yield fake
    fake.stop()


@pytest.fixture
def linked(shop_a, gateway, fast):
    """Shop A connected to the fake gateway, with a valid token."""
    return factories.link(
        shop_a, gateway_url=gateway.url, app_key=gateway.app_key, secret=gateway.secret
    )


# --- The simulator and the product served over HTTP (end-to-end tests) -----------------------


@pytest.fixture
def product(transactional_db):
    server = ProductServer().start()
    yield server
    server.stop()


@pytest.fixture
def sim(product, settings):
    settings.DOUYIN_HTTP_TIMEOUT = 1.0
    settings.DOUYIN_BACKOFF_BASE = 0.01
    settings.DOUYIN_BACKOFF_CAP = 0.05
    settings.DOUYIN_MAX_TRIES = 5
    settings.DOUYIN_OUTBOX_INLINE_TRIES = 5
    settings.DOUYIN_REFUND_WAIT_SECONDS = 5.0
    settings.AFTERSALES_REFUND_GATEWAY = "aftersales.platforms.douyin.gateway.DouyinRefundGateway"
    sim_server = pytest.importorskip("douyin_sim.server")
    simulator = sim_server.Simulator(
        port=0,
        seed=20250101,
        config={"refund_delay": 0, "qps": 0, "tick": 0.2},
        switches={"push_timeout": 10.0, "push_retry_base": 0.2, "push_retry_max": 1.0},
    )
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def control(sim):
    sim_client = pytest.importorskip("douyin_sim.client")
    return sim_client.ControlClient(sim.url)


@pytest.fixture
def sim_link(shop_a, sim, control, product):
    """Shop A connected to the simulator, pushes going to the product server."""
    shop = control.post(
        "shops",
        {
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "push_url": product.push_url,
            "shop_name": shop_a.name,
        },
    )
    from aftersales.platforms.douyin.services import link_shop

    with product.db():
        return link_shop(
            shop=shop_a,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            platform_shop_id=str(shop["shop_id"]),
            gateway_url=sim.url,
            receiver_address_id=shop["return_address"]["address_id"],
            by=AGENT,
        )
