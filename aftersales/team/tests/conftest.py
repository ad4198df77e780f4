"""Personas for the team tests, beside the shared ones (alice: agent of shop A, audrey:
auditor of shop A, carol: agent of shop B): sam, supervisor of shop A; ada, admin of shop
A; bert, supervisor of shop B. Clients are logged in; `anon` is not."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales import testing
from aftersales.shops.choices import Role


@pytest.fixture
def sam(shop_a):
    """A supervisor of shop A."""
    return testing.make_user("sam", shop_a, Role.SUPERVISOR)


@pytest.fixture
def ada(shop_a):
    """The shop admin of shop A."""
    return testing.make_user("ada", shop_a, Role.ADMIN)


@pytest.fixture
def bert(shop_b):
    """A supervisor of shop B, who must never see or change shop A's team."""
    return testing.make_user("bert", shop_b, Role.SUPERVISOR)


def logged_in(user) -> Client:
    """A client of `user` reading the pages in English, so the assertions read naturally;
    the Chinese default is checked in `test_page_markup`."""
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def anon(db):
    return Client()
