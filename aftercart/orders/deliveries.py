"""What customer care watches: parcels on their way, late, or in trouble; and the carriers.

Read-only queries for the dashboard's Deliveries page.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders.models import Shipment
from aftercart.tracking.calendar import business_days_between
from aftercart.tracking.carriers import CARRIERS
from aftercart.tracking.statuses import TROUBLE

VIEWS = ("late", "trouble", "in_transit")
ON_THE_WAY = ~Q(status__in=[Shipment.Status.DELIVERED, Shipment.Status.CANCELLED])
CARRIER_DAYS = 90  # the carrier table looks back this far


def _filter(view: str) -> Q:
    if view == "late":
        return ON_THE_WAY & Q(late_since__isnull=False, delivered_at__isnull=True)
    if view == "trouble":
        return Q(status__in=TROUBLE, delivered_at__isnull=True)
    return ON_THE_WAY & Q(delivered_at__isnull=True) & ~Q(status__in=TROUBLE)


def parcels(shop: Shop, view: str) -> QuerySet[Shipment]:
    """The parcels of one list, the ones waiting longest first."""
    if view not in VIEWS:
        raise ValueError(f"view {view!r}: one of {', '.join(VIEWS)}")
    order_by = ["late_since", "id"] if view == "late" else ["shipped_at", "id"]
    return (
        Shipment.objects.filter(shop=shop)
        .filter(_filter(view))
        .select_related("order")
        .order_by(*order_by)
    )


def counts(shop: Shop) -> dict[str, int]:
    return {
        view: Shipment.objects.filter(shop=shop).filter(_filter(view)).count() for view in VIEWS
    }


@dataclass
class CarrierRow:
    code: str
    name: str
    delivered: int
    median_days: float | None
    on_time: float | None  # share delivered by the end of the promised window
    inside: float | None  # share delivered inside it (not before, not after)
    promised: int  # parcels that had a window


def carrier_table(shop: Shop, days: int = CARRIER_DAYS) -> list[CarrierRow]:
    """Per carrier, parcels delivered in the last `days` days: how long they took, and how
    often our window held. Kept ten minutes: a busy shop's 90 days are many parcels."""
    return cache.get_or_set(
        f"aftercart:carrier-table:{shop.pk}:{days}", lambda: _carrier_table(shop, days), 600
    )


def _carrier_table(shop: Shop, days: int) -> list[CarrierRow]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        Shipment.objects.filter(
            shop=shop, delivered_at__gte=since, shipped_at__isnull=False, status="delivered"
        )
        .values_list(
            "carrier_code",
            "carrier",
            "shipped_at",
            "delivered_at",
            "expected_from",
            "expected_until",
            "order__shipping_country",
        )  # fmt: skip
        .iterator(chunk_size=5000)
    )
    zone = shop.zone
    took: dict[str, list[int]] = defaultdict(list)
    names: dict[str, str] = {}
    promised: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for code, name, shipped_at, delivered_at, early, late, country in rows:
        key = code or name or "?"
        names.setdefault(key, CARRIERS[code].name if code in CARRIERS else (name or "?"))
        shipped_on = timezone.localtime(shipped_at, zone).date()
        delivered_on = timezone.localtime(delivered_at, zone).date()
        took[key].append(business_days_between(shipped_on, delivered_on, country))
        if late:
            promised[key].append((delivered_on <= late, (early or late) <= delivered_on <= late))
    table = []
    for key, days_taken in took.items():
        kept = promised.get(key, [])
        table.append(
            CarrierRow(
                code=key,
                name=names[key],
                delivered=len(days_taken),
                median_days=statistics.median(days_taken) if days_taken else None,
                on_time=sum(on for on, _ in kept) / len(kept) if kept else None,
                inside=sum(inside for _, inside in kept) / len(kept) if kept else None,
                promised=len(kept),
            )
        )
    return sorted(table, key=lambda row: -row.delivered)
