"""What the customer's order-status page shows: where the order is, and what comes next.

Read here, once per request, from the order, its parcels, their scans and the timeline;
the portal view only renders it.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

from django.db import connection
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.orders.delivery import order_window
from aftercart.orders.models import Order, OrderEvent, Shipment
from aftercart.orders.scans import belongs_to
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
LABELS = dict(Shipment.Status.choices)  # lazy: each in the language of the moment


# The rows a page has many of are plain tuples: a model instance costs ten times more
# to make, and the page needs none of a model's behaviour for them.
class Line(NamedTuple):
    quantity: int
    title: str
    variant_title: str


class _Event(NamedTuple):  # of the order's timeline
    type: str
    external_id: str
    occurred_at: datetime


class OrderRow(NamedTuple):  # what the page shows of the order
    id: int
    number: str
    placed_at: datetime | None
    financial_status: str
    fulfilment_status: str
    cancelled_at: datetime | None
    shipping_country: str
    shipping_postcode: str


class ParcelRow(NamedTuple):  # what the page shows of a shipment
    id: int
    external_id: str
    carrier: str
    carrier_code: str
    tracking_number: str
    tracking_url: str
    status: str
    shipped_at: datetime | None
    delivered_at: datetime | None
    expected_from: date | None
    expected_until: date | None
    late_since: datetime | None


class _Reading(NamedTuple):  # a carrier scan as stored
    status: str
    description: str
    location: str
    occurred_at: datetime


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
    shipment: ParcelRow
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
    order: OrderRow
    steps: list[Step]
    parcels: list[Parcel]
    items: list[Line]
    cancelled: bool
    contact_email: str
    language: str
    # Nothing shipped yet: the days expected from the order date (orders.delivery).
    expected: tuple[date, date] | None = None
    # Filled by later capabilities (returns, reviews): (label, url).
    actions: list[tuple[str, str]] = field(default_factory=list)


# The page is read with plain SQL: on a page customers open by the thousand when a batch
# of parcels goes out, building each query through the ORM cost ten to twenty-five times
# what running it did (0.2-0.5 ms against 0.02 ms on SQLite), three quarters of a page.
_LINES = (
    "SELECT quantity, title, variant_title FROM orders_lineitem WHERE order_id = %s ORDER BY id"
)
_SHIPMENTS = """
    SELECT id, external_id, carrier, carrier_code, tracking_number, tracking_url, status,
           shipped_at, delivered_at, expected_from, expected_until, late_since
    FROM orders_shipment WHERE order_id = %s AND status <> 'cancelled'
    ORDER BY shipped_at, id
"""
_EVENTS = "SELECT type, external_id, occurred_at FROM orders_orderevent WHERE order_id = %s"
_SCANS = """
    SELECT tracking_number, status, description, location, occurred_at
    FROM orders_trackingevent
    WHERE shop_id = %s AND tracking_number IN ({numbers}) AND shipment_id IS NOT NULL
    ORDER BY occurred_at DESC, id DESC
"""


def _moment(value) -> datetime | None:
    """A stored time as the ORM would give it: aware, in UTC (SQLite hands back naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value) -> date | None:
    return parse_date(value) if isinstance(value, str) else value


def _rows(cursor, sql: str, params: list) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


_SHOP_FIELDS = (
    "id", "slug", "name", "locale", "timezone", "logo_url", "brand_colour", "sender_email",
    "reply_to", "public_base_url",
)  # fmt: skip
_VERSION = """
    SELECT o.updated_at, o.locale, c.locale,
           o.id, o.number, o.placed_at, o.financial_status, o.fulfilment_status,
           o.cancelled_at, o.shipping_country, o.shipping_postcode,
           s.id, s.slug, s.name, s.locale, s.timezone,
           s.logo_url, s.brand_colour, s.sender_email, s.reply_to, s.public_base_url
    FROM orders_order o
    JOIN core_shop s ON s.id = o.shop_id
    LEFT JOIN customers_customer c ON c.id = o.customer_id
    WHERE o.id = %s AND o.shop_id = %s
"""


@dataclass
class PageVersion:
    """What the page of one order is rendered for: every change the page shows moves the
    order's updated_at (orders.services sees to it)."""

    shop: Shop  # with what the page shows of it (name, brand, addresses, clock)
    order: OrderRow
    updated_at: datetime
    order_locale: str
    customer_locale: str


def page_version(shop_id: int, order_id: int) -> PageVersion | None:
    """The shop's order's version, the order and the shop, in one query; None when there is
    no such order in that shop."""
    with connection.cursor() as cursor:
        rows = _rows(cursor, _VERSION, [order_id, shop_id])
    if not rows:
        return None
    updated_at, locale, customer_locale, *row = rows[0]
    order, shop = row[:8], row[8:]
    return PageVersion(
        shop=Shop(**dict(zip(_SHOP_FIELDS, shop, strict=True))),
        order=OrderRow(*order[:2], _moment(order[2]), *order[3:5], _moment(order[5]), *order[6:]),
        updated_at=_moment(updated_at),
        order_locale=locale or "",
        customer_locale=customer_locale or "",
    )


def read_status_page(version: PageVersion, language: str) -> StatusPage:
    """The page of the order `version` was read for, in the customer's `language`."""
    shop, order = version.shop, version.order
    with connection.cursor() as cursor:
        shipments = [
            ParcelRow(
                *row[:7],
                _moment(row[7]),
                _moment(row[8]),
                _day(row[9]),
                _day(row[10]),
                _moment(row[11]),
            )
            for row in _rows(cursor, _SHIPMENTS, [order.id])
        ]
        events = [_Event(t, key, _moment(at)) for t, key, at in _rows(cursor, _EVENTS, [order.id])]
        scans = _scans(cursor, shop, shipments)
        items = [Line(*row) for row in _rows(cursor, _LINES, [order.id])]
    with translation.override(language):  # labels and statuses in the customer's words
        parcels = [_parcel(s, scans[s.id], order, events, language) for s in shipments]
        steps = _steps(order, shipments, events)
    expected = None
    if not shipments and order.cancelled_at is None:
        window = order_window(shop, order)  # it reads the date and address an OrderRow has
        today = timezone.localdate(timezone=shop.zone)
        # Promised days that have passed say nothing useful: then nothing is said.
        if window and window.latest >= today:
            expected = (max(window.earliest, today), window.latest)
    return StatusPage(
        order=order,
        steps=steps,
        parcels=parcels,
        items=items,
        cancelled=order.cancelled_at is not None,
        contact_email=shop.reply_to or shop.sender_email,
        language=language,
        expected=expected,
    )


def _scans(cursor, shop: Shop, parcels: list[ParcelRow]) -> dict[int, list[_Reading]]:
    """Each parcel's scans, newest first (as orders.scans.scans_for_parcels, in plain SQL)."""
    found: dict[int, list[_Reading]] = {p.id: [] for p in parcels}
    numbers = sorted({p.tracking_number for p in parcels if p.tracking_number})
    if not numbers:
        return found
    sql = _SCANS.format(numbers=", ".join(["%s"] * len(numbers)))
    for number, status, description, location, at in _rows(cursor, sql, [shop.pk, *numbers]):
        at = _moment(at)
        for p in parcels:
            if belongs_to(p, number, at):
                found[p.id].append(_Reading(status, description, location, at))
    return found


def _first(events: list[_Event], type_: str, suffix: str = "") -> datetime | None:
    times = [e.occurred_at for e in events if e.type == type_ and e.external_id.endswith(suffix)]
    return min(times) if times else None


def _steps(order: OrderRow, shipments: list[ParcelRow], events: list[_Event]) -> list[Step]:
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


def _scan_text(scan: _Reading) -> str:
    if scan.description and scan.description != "status only":
        return scan.description
    return str(LABELS.get(scan.status, scan.status))


def _parcel(
    shipment: ParcelRow,
    readings: list[_Reading],
    order: OrderRow,
    events: list[_Event],
    language: str,
) -> Parcel:
    scans = [Scan(r.occurred_at, _scan_text(r), r.location) for r in readings[:MAX_SCANS]]
    if not scans:
        # No carrier scans (no tracking service connected): the statuses the store reported.
        prefix = f"shipment:{shipment.external_id}:"
        scans = [
            Scan(e.occurred_at, str(LABELS[e.external_id.removeprefix(prefix)]))
            for e in sorted(events, key=lambda e: e.occurred_at, reverse=True)
            if e.external_id.startswith(prefix) and e.external_id.removeprefix(prefix) in LABELS
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
        status_label=str(LABELS.get(shipment.status, shipment.status)),
        trouble=shipment.status in TROUBLE,
        late=bool(shipment.late_since) and shipment.delivered_at is None,
        expected_from=shipment.expected_from,
        expected_until=shipment.expected_until,
        scans=scans,
    )
