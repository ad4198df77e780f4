"""The settings read from the environment: each declared once in `aftersales/settings.py`,
with its default, and a value that does not parse stops the start with the setting's name."""

from __future__ import annotations

import os
import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured

import aftersales.settings

# What the Douyin adapter used when a setting was not declared (its old `setting(name,
# default)` helpers); declaring the settings must not change a running installation.
DOUYIN_DEFAULTS = {
    "DOUYIN_HTTP_TIMEOUT": 10.0,
    "DOUYIN_MAX_TRIES": 4,
    "DOUYIN_BACKOFF_BASE": 0.2,
    "DOUYIN_BACKOFF_CAP": 5.0,
    "DOUYIN_USE_ENVIRONMENT_PROXY": False,
    "DOUYIN_OUTBOX_INLINE_TRIES": 3,
    "DOUYIN_OUTBOX_MAX_ATTEMPTS": 8,
    "DOUYIN_OUTBOX_BACKOFF_BASE": 5.0,
    "DOUYIN_OUTBOX_BACKOFF_CAP": 600.0,
    "DOUYIN_OUTBOX_LEASE_SECONDS": 300,
    "DOUYIN_OUTBOX_BATCH": 50,
    "DOUYIN_REFUND_WAIT_SECONDS": 10.0,
    "DOUYIN_INBOUND_MAX_ATTEMPTS": 10,
    "DOUYIN_INBOUND_LEASE_SECONDS": 300,
    "DOUYIN_INBOUND_BATCH": 50,
    "DOUYIN_NOTIFY_MAX_AGE_SECONDS": 86400,
    "DOUYIN_SYNC_OVERLAP_SECONDS": 300,
    "DOUYIN_SYNC_WINDOW_SECONDS": 6 * 3600,
    "DOUYIN_SYNC_INITIAL_LOOKBACK_SECONDS": 86400,
    "DOUYIN_SYNC_INTERVAL": 60,
    "DOUYIN_RECONCILE_RECENT_DAYS": 3,
    "DOUYIN_BUYER_MESSAGE_METHOD": "im/sendMessage",
    "DOUYIN_EVIDENCE_BASE_URL": "http://127.0.0.1:8000",
    # Issue 15: the bounded record of a refused push.
    "DOUYIN_REFUSED_BODY_KEPT_BYTES": 4096,
    "DOUYIN_REFUSED_PER_MINUTE": 30,
    # Issue 16: the platform calls a batch makes side by side.
    "DOUYIN_CALL_CONCURRENCY": 8,
}


def load_settings(monkeypatch, **environ: str) -> dict:
    """`aftersales/settings.py` run afresh with these variables (and no other DOUYIN_*)."""
    for name in list(os.environ):
        if name.startswith("DOUYIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AFTERSALES_TESTING", "true")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(aftersales.settings.__file__)


def test_the_douyin_settings_default_to_what_the_adapter_used_before(monkeypatch):
    loaded = load_settings(monkeypatch)

    assert {name: loaded[name] for name in DOUYIN_DEFAULTS} == DOUYIN_DEFAULTS
    assert sorted(n for n in loaded if n.startswith("DOUYIN_")) == sorted(DOUYIN_DEFAULTS)
    assert (
        loaded["AFTERSALES_REFUND_GATEWAY"] == "aftersales.platforms.gateway.PlatformRefundGateway"
    )


def test_values_from_the_environment_are_parsed_to_their_types(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        DOUYIN_HTTP_TIMEOUT="2.5",
        DOUYIN_MAX_TRIES="6",
        DOUYIN_USE_ENVIRONMENT_PROXY="yes",
        DOUYIN_EVIDENCE_BASE_URL="https://shop.example.com/",
        DOUYIN_BUYER_MESSAGE_METHOD="",  # empty is unset
    )

    assert loaded["DOUYIN_HTTP_TIMEOUT"] == 2.5
    assert loaded["DOUYIN_MAX_TRIES"] == 6
    assert loaded["DOUYIN_USE_ENVIRONMENT_PROXY"] is True
    assert loaded["DOUYIN_EVIDENCE_BASE_URL"] == "https://shop.example.com/"
    assert loaded["DOUYIN_BUYER_MESSAGE_METHOD"] == "im/sendMessage"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOUYIN_HTTP_TIMEOUT", "ten"),
        ("DOUYIN_HTTP_TIMEOUT", "-1"),
        ("DOUYIN_BACKOFF_BASE", "nan"),
        ("DOUYIN_OUTBOX_BACKOFF_CAP", "inf"),
        ("DOUYIN_MAX_TRIES", "2.5"),
        ("DOUYIN_MAX_TRIES", "0"),
        ("DOUYIN_OUTBOX_MAX_ATTEMPTS", "many"),
        ("DOUYIN_INBOUND_MAX_ATTEMPTS", "0"),
        ("DOUYIN_SYNC_WINDOW_SECONDS", "0"),  # windows of no length never reach the end
        ("DOUYIN_SYNC_OVERLAP_SECONDS", "-300"),
        ("DOUYIN_RECONCILE_RECENT_DAYS", "3d"),
        ("DOUYIN_USE_ENVIRONMENT_PROXY", "maybe"),
        ("AFTERSALES_EVIDENCE_MAX_IMAGE_BYTES", "10MB"),
    ],
)
def test_a_bad_value_is_refused_with_the_settings_name(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(monkeypatch, **{name: value})
