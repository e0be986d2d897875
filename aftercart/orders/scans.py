"""A parcel's scans, kept by tracking number; called by orders.services and orders.tracking.

Kept apart from the services because both sides need it: a tracking service's update
finds its shipment here, and a shipment that arrives after its scans collects them here.
"""

from datetime import datetime

from aftercart.orders.models import Shipment, TrackingEvent


def newest_scan(scans) -> tuple[str, datetime] | None:
    """The status and time of the latest scan that has a status we know."""
    latest = scans.exclude(status="").order_by("-occurred_at", "-id").first()
    return (latest.status, latest.occurred_at) if latest else None


def attach_waiting_scans(shipment: Shipment) -> tuple[str, datetime] | None:
    """Give the shipment the scans that arrived before it; the newest one's status and time."""
    waiting = TrackingEvent.objects.filter(
        shop_id=shipment.shop_id, tracking_number=shipment.tracking_number, shipment=None
    )
    scans = list(waiting.order_by("-occurred_at", "-id").values_list("status", "occurred_at"))
    if not scans:
        return None
    if shipment.pk is None:
        shipment.save()
    waiting.update(shipment=shipment)
    return next(((status, at) for status, at in scans if status), None)
