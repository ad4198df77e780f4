"""Shared fixtures: personas in two shops (alice and bob in shop A, carol in shop B)."""

import pytest
from django.db import connection

from aftersales import testing
from aftersales.shops.choices import Role


@pytest.fixture
def shop_a(db):
    return testing.make_shop("A店·服饰旗舰店")


@pytest.fixture
def shop_b(db):
    return testing.make_shop("B店·数码专营店")


@pytest.fixture
def alice(shop_a):
    """An agent of shop A."""
    return testing.make_user("alice", shop_a, Role.AGENT)


@pytest.fixture
def audrey(shop_a):
    """An auditor of shop A: reads everything, changes nothing."""
    return testing.make_user("audrey", shop_a, Role.AUDITOR)


@pytest.fixture
def carol(shop_b):
    """An agent of shop B, who must never see shop A's data."""
    return testing.make_user("carol", shop_b, Role.AGENT)


@pytest.fixture
def system():
    return testing.SYSTEM


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL's row locks and real concurrency."""
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(skip)
