"""The generic event API: any store (or a script) sends order facts as JSON.

These schemas are the contract published in the OpenAPI document at /api/v1/docs.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from aftercart.customers import services as customers
from aftercart.customers.services import CustomerData
from aftercart.integrations.intake import Intake, PayloadError, UnknownTopic
from aftercart.orders import services as orders
from aftercart.orders import tracking
from aftercart.orders.records import (
    Checkpoint,
    LineData,
    OrderData,
    RefundData,
    ShipmentData,
    TrackingUpdate,
)
from aftercart.tracking import statuses

SOURCE = "api"
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0)]
Id = Annotated[str, Field(min_length=1, max_length=100)]
ShipmentStatus = Literal[
    "pending",
    "info_received",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "available_for_pickup",
    "delivered",
    "exception",
    "returned_to_sender",
    "cancelled",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CustomerIn(Strict):
    email: str = Field(max_length=254)
    id: str | None = Field(None, max_length=100, description="The store's customer id")
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    locale: str | None = Field(None, max_length=10, examples=["nl"])
    country: str | None = Field(None, min_length=2, max_length=2, examples=["NL"])
    phone: str | None = Field(None, max_length=40)
    accepts_marketing: bool | None = Field(None, description="Recorded opt-in for marketing email")
    consent_at: datetime | None = None
    updated_at: datetime | None = None


class LineIn(Strict):
    id: str | None = Field(None, max_length=100)
    title: str = Field(min_length=1, max_length=255)
    quantity: int = Field(ge=0)
    unit_price: Money
    discount: Money = Decimal("0.00")
    sku: str = Field("", max_length=100)
    product_id: str | None = Field(None, max_length=100)
    variant_id: str | None = Field(None, max_length=100)
    category: str = Field("", max_length=120)


class AddressIn(Strict):
    name: str = Field("", max_length=200)
    line1: str = Field("", max_length=200)
    line2: str = Field("", max_length=200)
    postcode: str = Field("", max_length=20)
    city: str = Field("", max_length=100)
    country: str = Field("", max_length=2)


class ShipmentIn(Strict):
    id: Id
    status: ShipmentStatus | None = None
    carrier: str | None = Field(None, max_length=100)
    tracking_number: str | None = Field(None, max_length=100)
    tracking_url: str | None = Field(None, max_length=500)
    items: list[dict[str, Any]] | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None


class RefundIn(Strict):
    id: Id
    amount: Money
    refunded_at: datetime
    reason: str = Field("", max_length=255)
    items: list[dict[str, Any]] = []


class OrderIn(Strict):
    id: Id
    number: str | None = Field(None, max_length=60)
    customer: CustomerIn | None = None
    email: str | None = Field(None, max_length=254)
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    subtotal: Money | None = None
    discounts: Money | None = None
    shipping: Money | None = None
    tax: Money | None = None
    total: Money
    placed_at: datetime
    updated_at: datetime | None = None
    financial_status: (
        Literal[
            "pending",
            "authorized",
            "paid",
            "partially_paid",
            "partially_refunded",
            "refunded",
            "voided",
            "failed",
        ]
        | None
    ) = None
    discount_codes: list[str] = []
    shipping_address: AddressIn | None = None
    locale: str | None = Field(None, max_length=10)
    lines: list[LineIn] = Field(min_length=1)
    shipments: list[ShipmentIn] | None = None
    refunds: list[RefundIn] | None = None


class ShipmentEventIn(ShipmentIn):
    order_id: Id


class RefundEventIn(RefundIn):
    order_id: Id


class CancellationIn(Strict):
    order_id: Id
    cancelled_at: datetime | None = None
    reason: str = Field("", max_length=100)


class DeliveredIn(Strict):
    order_id: Id
    delivered_at: datetime | None = None


def _scan_status(value: str) -> str:
    found = statuses.normalise("api", value)
    if found is None:
        words = ", ".join(sorted(statuses.GENERIC))
        raise ValueError(f"{value!r} is not a parcel status; one of {words}")
    return found


# Aftercart's words for a parcel's status, and a few a developer is likely to send.
ScanStatus = Annotated[str, Field(max_length=40), AfterValidator(_scan_status)]


class ScanIn(Strict):
    occurred_at: datetime
    status: ScanStatus | None = Field(
        None, description="The parcel's status after this scan, in Aftercart's words"
    )
    description: str = Field("", max_length=500, examples=["Sorted at the Utrecht depot"])
    location: str = Field("", max_length=200)


class TrackingIn(Strict):
    """Scans of one parcel, by tracking number (your own carrier integration, a script)."""

    tracking_number: Id
    status: ScanStatus | None = Field(None, description="Now; else the newest scan's")
    updated_at: datetime | None = None
    checkpoints: list[ScanIn] = Field([], max_length=500)


EVENT_DATA: dict[str, type[Strict]] = {
    "order.placed": OrderIn,
    "order.paid": OrderIn,
    "shipment.created": ShipmentEventIn,
    "shipment.updated": ShipmentEventIn,
    "order.delivered": DeliveredIn,
    "order.cancelled": CancellationIn,
    "order.refunded": RefundEventIn,
    "customer.updated": CustomerIn,
    "tracking.updated": TrackingIn,
}
EventType = Literal[
    "order.placed",
    "order.paid",
    "shipment.created",
    "shipment.updated",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "customer.updated",
    "tracking.updated",
]


class EventIn(Strict):
    """One fact about an order or customer; `data` is the full object the type names."""

    type: EventType
    id: str | None = Field(
        None, max_length=200, description="Your id for this event; dedupes like Idempotency-Key"
    )
    data: dict[str, Any]


def validate_data(event_type: str, data: Any) -> Strict:
    model = EVENT_DATA.get(event_type)
    if model is None:
        raise UnknownTopic(event_type)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(
            [
                {"field": "data." + ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
                for err in exc.errors()
            ]
        ) from None


def parse(topic: str, payload: Any) -> Intake:
    """`payload` is the event's `data`; `topic` its type."""
    obj = validate_data(topic, payload)
    if isinstance(obj, OrderIn):
        order = to_order(obj, paid=topic == "order.paid")
        return Intake(
            f"order:{obj.id}",
            obj.updated_at or obj.placed_at,
            lambda shop: orders.record_order(shop, order),
            order=order,
        )
    if isinstance(obj, ShipmentEventIn):
        shipment = to_shipment(obj)
        return Intake(
            f"order:{obj.order_id}",
            obj.updated_at or obj.delivered_at or obj.shipped_at,
            lambda shop: orders.record_shipment(shop, obj.order_id, shipment, SOURCE),
        )
    if isinstance(obj, TrackingIn):
        update = to_tracking(obj)
        return Intake(
            f"tracking:{obj.tracking_number}",
            obj.updated_at or max((c.occurred_at for c in obj.checkpoints), default=None),
            lambda shop: tracking.record_tracking(shop, update),
        )
    if isinstance(obj, RefundEventIn):
        refund = to_refund(obj)
        return Intake(
            f"order:{obj.order_id}",
            obj.refunded_at,
            lambda shop: orders.record_refund(shop, obj.order_id, refund, SOURCE),
        )
    if isinstance(obj, CancellationIn):
        return Intake(
            f"order:{obj.order_id}",
            obj.cancelled_at,
            lambda shop: orders.record_cancellation(
                shop, obj.order_id, cancelled_at=obj.cancelled_at, reason=obj.reason, source=SOURCE
            ),
        )
    if isinstance(obj, DeliveredIn):
        return Intake(
            f"order:{obj.order_id}",
            obj.delivered_at,
            lambda shop: orders.record_delivery(
                shop, obj.order_id, delivered_at=obj.delivered_at, source=SOURCE
            ),
        )
    customer = to_customer(obj)
    return Intake(
        f"customer:{customer.email}",
        customer.updated_at,
        lambda shop: customers.upsert_customer(shop, customer),
    )


def to_customer(c: CustomerIn) -> CustomerData:
    return CustomerData(
        email=c.email,
        external_id=c.id or "",
        first_name=c.first_name,
        last_name=c.last_name,
        locale=c.locale,
        country=c.country,
        phone=c.phone,
        accepts_marketing=c.accepts_marketing,
        consent_at=c.consent_at,
        consent_source="api",
        updated_at=c.updated_at,
    )


def to_shipment(s: ShipmentIn) -> ShipmentData:
    return ShipmentData(
        external_id=s.id,
        status=s.status,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        tracking_url=s.tracking_url,
        items=s.items,
        shipped_at=s.shipped_at,
        delivered_at=s.delivered_at,
        updated_at=s.updated_at,
    )


def to_tracking(t: TrackingIn) -> TrackingUpdate:
    return TrackingUpdate(
        tracking_number=t.tracking_number,
        source=SOURCE,
        status=t.status,
        raw_status=t.status or "",
        updated_at=t.updated_at,
        checkpoints=[
            Checkpoint(
                occurred_at=c.occurred_at,
                status=c.status,
                raw_status=c.status or "",
                description=c.description,
                location=c.location,
            )
            for c in t.checkpoints
        ],
    )


def to_refund(r: RefundIn) -> RefundData:
    return RefundData(
        external_id=r.id, amount=r.amount, refunded_at=r.refunded_at, reason=r.reason, items=r.items
    )


def to_order(o: OrderIn, *, paid: bool = False) -> OrderData:
    address = o.shipping_address
    lines_total = sum((ln.unit_price * ln.quantity for ln in o.lines), Decimal("0.00"))
    return OrderData(
        external_id=o.id,
        source=SOURCE,
        number=o.number or o.id,
        email=o.email or (o.customer.email if o.customer else None),
        customer=to_customer(o.customer) if o.customer else None,
        currency=o.currency.upper(),
        subtotal=o.subtotal if o.subtotal is not None else lines_total,
        discounts=o.discounts,
        shipping=o.shipping,
        tax=o.tax,
        total=o.total,
        placed_at=o.placed_at,
        updated_at=o.updated_at,
        financial_status="paid"
        if paid and o.financial_status in (None, "pending", "authorized")
        else o.financial_status,
        discount_codes=o.discount_codes,
        shipping_name=address.name if address else None,
        shipping_address={"line1": address.line1, "line2": address.line2} if address else None,
        shipping_country=address.country if address else None,
        shipping_postcode=address.postcode if address else None,
        shipping_city=address.city if address else None,
        locale=o.locale,
        lines=[
            LineData(
                external_id=ln.id or "",
                title=ln.title,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discount=ln.discount,
                sku=ln.sku,
                product_external_id=ln.product_id or "",
                variant_external_id=ln.variant_id or "",
                category=ln.category,
            )
            for ln in o.lines
        ],
        shipments=[to_shipment(s) for s in o.shipments] if o.shipments is not None else None,
        refunds=[to_refund(r) for r in o.refunds] if o.refunds is not None else None,
    )
