"""A parcel's scans, kept by tracking number; called by orders.services and orders.tracking.

Kept apart from the services because both sides need it: a tracking service's update
finds its shipment here, and a shipment that arrives after its scans collects them here.

Carriers reuse tracking numbers, and stores paste the wrong one now and then, so a scan
belongs to a parcel only when it falls near the time the parcel was on its way: from
SCAN_LEAD before it shipped to SCAN_REACH after.
"""

from datetime import datetime, timedelta

from django.db.models import Q

from aftercart.orders.models import Shipment, TrackingEvent

SCAN_LEAD = timedelta(days=7)  # the label is made, and scanned, before the store says "shipped"
SCAN_REACH = timedelta(days=60)  # no parcel is on its way longer; a later scan is another's


def belongs_to(parcel: Shipment, number: str, at: datetime) -> bool:
    """Whether a scan of `number` at `at` is about this parcel (its number, on its way)."""
    shipped = parcel.shipped_at or at
    return parcel.tracking_number == number and shipped - SCAN_LEAD <= at <= shipped + SCAN_REACH


def parcels_for_scan(shop_id: int, number: str, at: datetime):
    """The shop's parcels a scan of `number` at `at` can be about."""
    return Shipment.objects.filter(shop_id=shop_id, tracking_number=number).filter(
        Q(shipped_at__isnull=True)
        | Q(shipped_at__gte=at - SCAN_REACH, shipped_at__lte=at + SCAN_LEAD)
    )


def newest_scan(scans) -> tuple[str, datetime] | None:
    """The status and time of the latest scan that has a status we know."""
    latest = scans.exclude(status="").order_by("-occurred_at", "-id").first()
    return (latest.status, latest.occurred_at) if latest else None


def attach_waiting_scans(shipment: Shipment, shipped_at: datetime) -> tuple[str, datetime] | None:
    """Give the shipment the scans that arrived before it; the newest one's status and time."""
    waiting = TrackingEvent.objects.filter(
        shop_id=shipment.shop_id,
        tracking_number=shipment.tracking_number,
        shipment=None,
        occurred_at__gte=shipped_at - SCAN_LEAD,
        occurred_at__lte=shipped_at + SCAN_REACH,
    )
    scans = list(waiting.order_by("-occurred_at", "-id").values_list("status", "occurred_at"))
    if not scans:
        return None
    if shipment.pk is None:
        shipment.save()
    waiting.update(shipment=shipment)
    return next(((status, at) for status, at in scans if status), None)


def scans_for_parcels(shop_id: int, parcels) -> dict[int, list[TrackingEvent]]:
    """Each parcel's scans, newest first: those of its number from around its journey
    (two orders in one box share them; a reused number's old scans stay with the old one)."""
    numbers = {p.tracking_number for p in parcels if p.tracking_number}
    found: dict[int, list[TrackingEvent]] = {p.pk: [] for p in parcels}
    if not numbers:
        return found
    scans = TrackingEvent.objects.filter(
        shop_id=shop_id, tracking_number__in=numbers, shipment__isnull=False
    ).order_by("-occurred_at", "-id")
    for scan in scans:
        for p in parcels:
            if belongs_to(p, scan.tracking_number, scan.occurred_at):
                found[p.pk].append(scan)
    return found
