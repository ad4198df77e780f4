"""Personas for the workbench tests, beside the project's alice (agent), audrey (auditor) and
carol (shop B agent): sam the supervisor and adam the shop admin of shop A."""

import pytest

from aftersales import testing
from aftersales.shops.choices import Role


@pytest.fixture
def sam(shop_a):
    """A supervisor of shop A: may reveal buyers' personal data."""
    return testing.make_user("sam", shop_a, Role.SUPERVISOR)


@pytest.fixture
def adam(shop_a):
    """The shop admin of shop A."""
    return testing.make_user("adam", shop_a, Role.ADMIN)


@pytest.fixture
def personas(alice, audrey, carol, sam, adam):
    return {
        "agent": alice,
        "auditor": audrey,
        "other_shop": carol,
        "supervisor": sam,
        "admin": adam,
    }
