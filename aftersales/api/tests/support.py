"""Helpers for the API tests: real video bytes, clients, a snapshot of everything
a request could change (to prove a refusal changed nothing), and the error-shape check."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from aftersales.audit.models import AuditEvent
from aftersales.cases.models import (
    Case,
    CaseCost,
    CaseItem,
    Evidence,
    Inspection,
    QualityCheck,
    RefundDecision,
    RefundExecution,
)
from aftersales.cases.ports import RefundGatewayError, RefundReceipt
from aftersales.orders.models import Order, OrderItem, Shipment

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")
CATALOGUE = Path(settings.BASE_DIR) / "aftersales/locale/zh_Hans/LC_MESSAGES/django.mo"
# Decided once, before any message is translated: Django caches the catalogue it loads.
HAS_CATALOGUE = CATALOGUE.exists()


def logged_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def post_json(client: Client, path: str, data: Any = None, **kwargs: Any):
    return client.post(API + path, data or {}, content_type="application/json", **kwargs)


class CountingGateway:
    """A refund gateway that succeeds and counts the money movements it was asked for."""

    calls: list[str] = []

    def refund(self, execution):
        CountingGateway.calls.append(execution.idempotency_key)
        return RefundReceipt(reference=f"test:{execution.idempotency_key}")


class FailingGateway:
    def refund(self, execution):
        raise RefundGatewayError("bank timeout")


COUNTING_GATEWAY = "aftersales.api.tests.support.CountingGateway"
FAILING_GATEWAY = "aftersales.api.tests.support.FailingGateway"

# --- Files -----------------------------------------------------------------------------------


def mp4_bytes() -> bytes:
    """The start of an MP4: an `ftyp` box (brand isom) and an empty `mdat` box."""
    brands = b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41"
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    mdat = struct.pack(">I", 8 + 16) + b"mdat" + bytes(16)
    return ftyp + mdat


def stored_files() -> set[str]:
    """Every file under MEDIA_ROOT/evidence, to prove a refused upload stored nothing."""
    root = Path(settings.MEDIA_ROOT) / "evidence"
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# --- State -----------------------------------------------------------------------------------

TRACKED = [
    Case,
    CaseItem,
    Evidence,
    Inspection,
    QualityCheck,
    CaseCost,
    RefundDecision,
    RefundExecution,
    Shipment,
    AuditEvent,
]


def db_state() -> dict[str, Any]:
    """Everything a case action can write: every case row in full, the order money,
    and the rows of every table a service appends to."""
    return {
        "cases": list(Case.objects.order_by("pk").values()),
        "order_items": list(OrderItem.objects.order_by("pk").values("pk", "refunded_amount_fen")),
        "orders": list(
            Order.objects.order_by("pk").values("pk", "status", "shipping_refunded_fen")
        ),
        "shipments": list(Shipment.objects.order_by("pk").values("pk", "status")),
        "executions": list(
            RefundExecution.objects.order_by("pk").values("pk", "status", "attempts")
        ),
        "counts": {model.__name__: model.objects.count() for model in TRACKED},
        "files": stored_files(),
    }


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    """An error is JSON with a stable code and the message in Chinese and English."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    for key in ("message", "message_zh", "message_en"):
        assert isinstance(body[key], str) and body[key].strip()
    # English is English: no Chinese characters.
    assert not CJK.search(body["message_en"]), body["message_en"]
    assert re.search(r"[A-Za-z]{3}", body["message_en"])
    if HAS_CATALOGUE:
        assert CJK.search(body["message_zh"]), body["message_zh"]
    return body
