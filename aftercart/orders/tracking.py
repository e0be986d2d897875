"""Tracking updates from a carrier or an aggregator, applied to the parcels they are about.

A tracking service knows a parcel by its tracking number, not by our order: the update's
scans are kept under the number (each scan once, however often it is delivered, by
whichever event), and every parcel of the shop with that number, shipped around the time
of the scans, takes the newest scan's status. The scans' clock is the carrier's: it is
never compared with the store's own updated_at (orders.services keeps the two apart).

An update for a number no parcel has yet waits; the parcel collects it when the store
reports it, and the periodic sweep (`settle_waiting_scans`) catches the one that came in
while the store's report was being written, and forgets scans nobody claimed in 60 days.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders import services
from aftercart.orders.models import TrackingEvent
from aftercart.orders.records import Checkpoint, TrackingUpdate
from aftercart.orders.scans import SCAN_LEAD, SCAN_REACH, newest_scan, parcels_for_scan
from aftercart.tracking.carriers import clean_number


@dataclass
class TrackingResult:
    tracking_number: str
    scans_new: int
    shipments: list[int]  # ids of the shipments it was applied to; [] while it waits

    @property
    def waiting(self) -> bool:
        return not self.shipments


def scan_key(scan: Checkpoint) -> str:
    """The same scan, reported again (by any event of any source), gets the same key."""
    text = "\n".join(
        [scan.occurred_at.isoformat(), scan.raw_status, scan.description, scan.location]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _aware(moment: datetime, shop: Shop) -> datetime:
    # A time without a zone is the scan's local time; the shop's zone is the best guess
    # (most parcels travel within the shop's country).
    return moment if moment.tzinfo else timezone.make_aware(moment, shop.zone)


def _scans(shop: Shop, update: TrackingUpdate) -> list[Checkpoint]:
    scans = [
        Checkpoint(
            occurred_at=_aware(c.occurred_at, shop),
            status=c.status,
            raw_status=c.raw_status,
            description=c.description,
            location=c.location,
        )
        for c in update.checkpoints
    ]
    if not scans and update.status:
        # A status without scans ("it is delivered") is a scan of its own. Without a time
        # it is stamped now but keyed without it, so a retried delivery adds nothing.
        at = _aware(update.updated_at, shop) if update.updated_at else timezone.now()
        scans = [
            Checkpoint(
                occurred_at=at,
                status=update.status,
                raw_status=update.raw_status or update.status,
                description="" if update.updated_at else "status only",
            )
        ]
    return scans


def record_tracking(shop: Shop, update: TrackingUpdate) -> TrackingResult:
    """Keep the update's scans and move the parcel(s) with its number to the newest status."""
    number = clean_number(update.tracking_number)[:100]
    if not number:
        raise ValueError("tracking_number: missing")
    scans = _scans(shop, update)
    with transaction.atomic():
        known = TrackingEvent.objects.filter(shop=shop, tracking_number=number)
        before = known.count()
        TrackingEvent.objects.bulk_create(
            [
                TrackingEvent(
                    shop=shop,
                    tracking_number=number,
                    status=scan.status or "",
                    raw_status=scan.raw_status[:100],
                    description=scan.description[:500],
                    location=scan.location[:200],
                    occurred_at=scan.occurred_at,
                    source=update.source,
                    key=(
                        scan_key(scan)
                        if scan.description != "status only"
                        else f"status:{scan.status}"
                    ),
                )
                for scan in scans
            ],
            ignore_conflicts=True,
        )
        new = known.count() - before
        applied = _apply_to_parcels(shop, number)
    return TrackingResult(number, new, applied)


def _apply_to_parcels(shop: Shop, number: str) -> list[int]:
    """Attach the number's unclaimed scans to its parcel and apply the newest status."""
    latest = newest_scan(TrackingEvent.objects.filter(shop=shop, tracking_number=number))
    if latest is None:
        return []
    status, at = latest
    parcels = list(parcels_for_scan(shop.pk, number, at).select_related("order").order_by("id"))
    if not parcels:
        return []
    # A number on two parcels (two orders in one box): the scans are kept with the first
    # and read by number, so both show them.
    first = parcels[0]
    shipped = first.shipped_at or at
    TrackingEvent.objects.filter(
        shop=shop,
        tracking_number=number,
        shipment=None,
        occurred_at__gte=shipped - SCAN_LEAD,
        occurred_at__lte=shipped + SCAN_REACH,
    ).update(shipment=first)
    for parcel in parcels:
        services.record_scan(shop, parcel.order.external_id, parcel.external_id, status, at)
    return [p.pk for p in parcels]


def settle_waiting_scans(now: datetime | None = None) -> dict[str, int]:
    """Give waiting scans to parcels that exist by now; forget those unclaimed for too long."""
    now = now or timezone.now()
    forgotten = TrackingEvent.objects.filter(
        shipment=None, occurred_at__lt=now - SCAN_REACH
    ).delete()[0]
    waiting = (
        TrackingEvent.objects.filter(shipment=None)
        .order_by()
        .values_list("shop_id", "tracking_number")
        .distinct()[:1000]
    )
    settled = 0
    shops = {}
    for shop_id, number in waiting:
        shop = shops.get(shop_id) or shops.setdefault(shop_id, Shop.objects.get(pk=shop_id))
        with transaction.atomic():
            settled += bool(_apply_to_parcels(shop, number))
    return {"settled": settled, "forgotten": forgotten}
