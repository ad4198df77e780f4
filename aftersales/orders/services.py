"""Orders and shipments. Called by the case services inside their transactions."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .choices import ShipmentStatus
from .models import Order, Shipment, ShipmentEvent


def create_shipment(
    *,
    order: Order,
    kind: str,
    carrier: str,
    tracking_number: str,
    case_id: int | None = None,
    status: str = ShipmentStatus.IN_TRANSIT,
) -> Shipment:
    """Register a parcel with its first status. Runs inside the caller's transaction."""
    now = timezone.now()
    shipment = Shipment.objects.create(
        shop_id=order.shop_id,
        order=order,
        case_id=case_id,
        kind=kind,
        carrier=carrier,
        tracking_number=tracking_number,
        status=status,
        created_at=now,
    )
    ShipmentEvent.objects.create(shipment=shipment, status=status, at=now)
    return shipment


def update_shipment_status(
    *,
    shipment: Shipment,
    status: str,
    note: str = "",
    place: str = "",
    at: datetime | None = None,
) -> Shipment:
    """Move a parcel to a new status and keep the history (with where the carrier scanned
    it and when, if the tracking says so)."""
    shipment.status = status
    shipment.save(update_fields=["status"])
    ShipmentEvent.objects.create(
        shipment=shipment,
        status=status,
        at=at or timezone.now(),
        note=note[:255],
        place=place.strip()[:64],
    )
    return shipment
