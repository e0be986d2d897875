"""Tracking updates from a carrier or an aggregator, applied to the parcels they are about.

A tracking service knows a parcel by its tracking number, not by our order: the update's
scans are kept under the number (each scan once, however often it is delivered), and
every shipment of the shop with that number takes the newest status. An update for a
number no shipment has yet waits; the shipment collects it when the store reports it.
"""

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders import services
from aftercart.orders.models import Shipment, TrackingEvent
from aftercart.orders.records import Checkpoint, ShipmentData, TrackingUpdate
from aftercart.orders.scans import newest_scan
from aftercart.tracking.carriers import clean_number


@dataclass
class TrackingResult:
    tracking_number: str
    scans_new: int
    shipments: list[int]  # ids of the shipments it was applied to; [] while it waits

    @property
    def waiting(self) -> bool:
        return not self.shipments


def scan_key(source: str, scan: Checkpoint) -> str:
    """The same scan, reported again, gets the same key (and is kept once)."""
    text = "\n".join(
        [source, scan.occurred_at.isoformat(), scan.raw_status, scan.description, scan.location]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def record_tracking(shop: Shop, update: TrackingUpdate) -> TrackingResult:
    """Keep the update's scans and move the parcel(s) with its number to the newest status."""
    number = clean_number(update.tracking_number)[:100]
    if not number:
        raise ValueError("tracking_number: missing")
    scans = list(update.checkpoints)
    if not scans and update.status:
        # A status without scans (a plain "it is delivered") is a scan of its own.
        scans = [
            Checkpoint(
                occurred_at=update.updated_at or timezone.now(),
                status=update.status,
                raw_status=update.raw_status,
            )
        ]
    with transaction.atomic():
        # Not locked here: record_shipment locks each parcel's order first, as every other
        # writer of a shipment does, so two of them never wait on each other in a circle.
        shipments = list(
            Shipment.objects.select_related("order")
            .filter(shop=shop, tracking_number=number)
            .order_by("id")
        )
        before = TrackingEvent.objects.filter(shop=shop, tracking_number=number).count()
        TrackingEvent.objects.bulk_create(
            [
                TrackingEvent(
                    shop=shop,
                    # A number on two parcels (a re-sent order): its scans go with the first.
                    shipment=shipments[0] if shipments else None,
                    tracking_number=number,
                    status=scan.status or "",
                    raw_status=scan.raw_status[:100],
                    description=scan.description[:500],
                    location=scan.location[:200],
                    occurred_at=scan.occurred_at,
                    source=update.source,
                    key=scan_key(update.source, scan),
                )
                for scan in scans
            ],
            ignore_conflicts=True,
        )
        new = TrackingEvent.objects.filter(shop=shop, tracking_number=number).count() - before
        all_scans = TrackingEvent.objects.filter(shop=shop, tracking_number=number)
        latest = newest_scan(all_scans)
        status, status_at = latest if latest else (update.status, update.updated_at)
        if update.status and (
            latest is None or update.updated_at and update.updated_at > status_at
        ):
            status, status_at = update.status, update.updated_at
        for shipment in shipments:
            services.record_shipment(
                shop,
                shipment.order.external_id,
                ShipmentData(
                    external_id=shipment.external_id,
                    status=status,
                    delivered_at=status_at if status == Shipment.Status.DELIVERED else None,
                    updated_at=status_at,
                ),
                source=update.source,
            )
    return TrackingResult(number, new, [s.pk for s in shipments])
