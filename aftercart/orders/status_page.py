"""What the customer's order-status page shows: where the order is, and what comes next.

Read here, once per request, from the order, its parcels, their scans and the timeline;
the portal view only renders it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.orders.delivery import order_window
from aftercart.orders.models import Order, OrderEvent, Shipment, TrackingEvent
from aftercart.orders.scans import scans_for_parcels
from aftercart.tracking.carriers import tracking_url
from aftercart.tracking.statuses import TROUBLE

PAID = {"paid", "partially_refunded", "refunded"}
STEPS = (
    ("placed", _("Order placed")),
    ("paid", _("Paid")),
    ("shipped", _("Shipped")),
    ("out_for_delivery", _("Out for delivery")),
    ("delivered", _("Delivered")),
)
MAX_SCANS = 30  # per parcel; the carrier's page has the rest


@dataclass
class Step:
    key: str
    label: str
    done: bool
    at: datetime | None = None
    current: bool = False


@dataclass
class Scan:
    at: datetime
    text: str
    location: str = ""


@dataclass
class Parcel:
    shipment: Shipment
    carrier: str
    tracking_number: str
    link: str
    status_label: str
    trouble: bool
    late: bool
    expected_from: date | None
    expected_until: date | None
    scans: list[Scan] = field(default_factory=list)


@dataclass
class StatusPage:
    order: Order
    steps: list[Step]
    parcels: list[Parcel]
    items: list
    cancelled: bool
    contact_email: str
    language: str
    # Nothing shipped yet: the days expected from the order date (orders.delivery).
    expected: tuple[date, date] | None = None
    # Filled by later capabilities (returns, reviews): (label, url).
    actions: list[tuple[str, str]] = field(default_factory=list)


def page_version(shop: Shop, order_id: int) -> tuple[datetime, str, str] | None:
    """(updated_at, the order's language, the customer's) of the shop's order, in one query:
    every change the page shows moves the order's updated_at (orders.services sees to it)."""
    return (
        Order.objects.filter(shop=shop, pk=order_id)
        .values_list("updated_at", "locale", "customer__locale")
        .first()
    )


def read_status_page(
    shop: Shop, order_id: int, language_of: Callable[[Order], str]
) -> StatusPage | None:
    """The page for one order of the shop; `language_of` picks the customer's language."""
    order = (
        Order.objects.filter(shop=shop, pk=order_id)
        .select_related("customer")
        .prefetch_related(
            "lines",
            "shipments",
            Prefetch(
                "events",
                queryset=OrderEvent.objects.only("order_id", "type", "external_id", "occurred_at"),
            ),
        )
        .first()
    )
    if order is None:
        return None
    language = language_of(order)
    shipments = [s for s in order.shipments.all() if s.status != Shipment.Status.CANCELLED]
    events = list(order.events.all())
    scans = scans_for_parcels(shop.pk, shipments)
    with translation.override(language):  # labels and statuses in the customer's words
        parcels = [_parcel(s, scans[s.pk], order, events, language) for s in shipments]
        steps = _steps(order, shipments, events)
    expected = None
    if not shipments and order.cancelled_at is None:
        window = order_window(shop, order)
        today = timezone.localdate(timezone=shop.zone)
        # Promised days that have passed say nothing useful: then nothing is said.
        if window and window.latest >= today:
            expected = (max(window.earliest, today), window.latest)
    return StatusPage(
        order=order,
        steps=steps,
        parcels=parcels,
        items=list(order.lines.all()),
        cancelled=order.cancelled_at is not None,
        contact_email=shop.reply_to or shop.sender_email,
        language=language,
        expected=expected,
    )


def _first(events: list[OrderEvent], type_: str, suffix: str = "") -> datetime | None:
    times = [e.occurred_at for e in events if e.type == type_ and e.external_id.endswith(suffix)]
    return min(times) if times else None


def _steps(order: Order, shipments: list[Shipment], events: list[OrderEvent]) -> list[Step]:
    delivered = order.fulfilment_status == Order.Fulfilment.DELIVERED
    out = delivered or any(
        s.status in ("out_for_delivery", "failed_attempt", "available_for_pickup", "delivered")
        for s in shipments
    )
    shipped_at = min((s.shipped_at for s in shipments if s.shipped_at), default=None)
    done = {
        "placed": (True, order.placed_at),
        "paid": (order.financial_status in PAID, _first(events, OrderEvent.Type.PAID)),
        "shipped": (bool(shipments), shipped_at),
        "out_for_delivery": (out, _first(events, "shipment_updated", ":out_for_delivery")),
        "delivered": (
            delivered,
            max((s.delivered_at for s in shipments if s.delivered_at), default=None),
        ),
    }
    steps = [Step(key, str(label), *done[key]) for key, label in STEPS]
    # A later step can be known while an earlier one was never reported (paid offline):
    # what is behind the furthest known step happened too.
    furthest = max((i for i, s in enumerate(steps) if s.done), default=0)
    for step in steps[:furthest]:
        step.done = True
    steps[furthest].current = True
    return steps


def _scan_text(scan: TrackingEvent) -> str:
    if scan.description and scan.description != "status only":
        return scan.description
    return str(scan.get_status_display())


def _parcel(
    shipment: Shipment,
    tracking_events: list[TrackingEvent],
    order: Order,
    events: list[OrderEvent],
    language: str,
) -> Parcel:
    scans = [Scan(e.occurred_at, _scan_text(e), e.location) for e in tracking_events[:MAX_SCANS]]
    if not scans:
        # No carrier scans (no tracking service connected): the statuses the store reported.
        prefix = f"shipment:{shipment.external_id}:"
        labels = dict(Shipment.Status.choices)
        scans = [
            Scan(e.occurred_at, str(labels.get(e.external_id.removeprefix(prefix), "")))
            for e in sorted(events, key=lambda e: e.occurred_at, reverse=True)
            if e.external_id.startswith(prefix) and e.external_id.removeprefix(prefix) in labels
        ]
    link = shipment.tracking_url or tracking_url(  # http(s) only: orders.services sees to it
        shipment.carrier_code,
        shipment.tracking_number,
        language=language,
        country=order.shipping_country,
        postcode=order.shipping_postcode,
    )
    return Parcel(
        shipment=shipment,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        link=link,
        status_label=str(shipment.get_status_display()),
        trouble=shipment.status in TROUBLE,
        late=bool(shipment.late_since) and shipment.delivered_at is None,
        expected_from=shipment.expected_from,
        expected_until=shipment.expected_until,
        scans=scans,
    )
