"""Fixtures for the API tests: the personas' logged-in clients."""

import pytest
from django.test import Client

from .support import logged_in


@pytest.fixture
def alice_client(alice):
    return logged_in(alice)


@pytest.fixture
def audrey_client(audrey):
    return logged_in(audrey)


@pytest.fixture
def carol_client(carol):
    return logged_in(carol)


@pytest.fixture
def anon_client(db):
    """No session and no key; CSRF enforced as for any real caller."""
    return Client(enforce_csrf_checks=True)
