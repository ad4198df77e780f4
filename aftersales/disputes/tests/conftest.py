"""The simulator and the product over HTTP, as the Douyin adapter's end-to-end tests use them."""

from aftersales.platforms.douyin.tests.conftest import control, product, sim, sim_link  # noqa: F401
