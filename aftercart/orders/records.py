"""An order as any source describes it, before it is applied.

Adapters (Shopify, WooCommerce, the event API, CSV) map their payloads to these; the
services apply them. A field left None means "this source did not say", so it changes
nothing already stored.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from aftercart.customers.services import CustomerData


@dataclass
class LineData:
    title: str
    quantity: int
    unit_price: Decimal
    external_id: str = ""
    discount: Decimal = Decimal("0.00")
    sku: str = ""
    variant_title: str = ""
    product_external_id: str = ""
    variant_external_id: str = ""
    category: str = ""


@dataclass
class ShipmentData:
    external_id: str
    status: str | None = None  # a normalised Shipment.Status value
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    items: list[dict] | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Checkpoint:
    """One scan of a parcel, as a carrier or an aggregator reported it."""

    occurred_at: datetime
    status: str | None  # normalised (tracking.statuses); None: the source's word is unknown
    raw_status: str = ""
    description: str = ""
    location: str = ""


@dataclass
class TrackingUpdate:
    """What a tracking source says about one tracking number: its scans, its status now."""

    tracking_number: str
    source: str
    status: str | None = None  # normalised; None: take the newest scan's
    raw_status: str = ""
    carrier: str | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    updated_at: datetime | None = None
    expected_delivery: date | None = None


@dataclass
class RefundData:
    external_id: str
    amount: Decimal
    refunded_at: datetime
    reason: str = ""
    items: list[dict] = field(default_factory=list)


@dataclass
class OrderData:
    external_id: str
    source: str
    number: str | None = None
    email: str | None = None
    customer: CustomerData | None = None
    currency: str | None = None
    subtotal: Decimal | None = None
    discounts: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    financial_status: str | None = None
    fulfilment_status: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    discount_codes: list[str] | None = None
    shipping_name: str | None = None
    shipping_address: dict | None = None
    shipping_country: str | None = None
    shipping_postcode: str | None = None
    shipping_city: str | None = None
    locale: str | None = None
    note: str | None = None
    tags: list[str] | None = None
    # None: the source did not list them (a partial update); [] means "none".
    lines: list[LineData] | None = None
    shipments: list[ShipmentData] | None = None
    refunds: list[RefundData] | None = None
