"""What a webhook says: the spec's {"type", "timestamp", "data"}, with a summary of the object.

A receiver should not have to call back for the basics, so `data` holds the event's own
ids plus the order / shipment / customer as they are at that moment: numbers, totals,
statuses, never the whole order with its lines. Written once, when the event happens;
every attempt sends the same payload.
"""

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from aftercart.core.models import Shop
from aftercart.customers.queries import customer_in_shop, find_customers
from aftercart.orders.queries import order_detail, order_with_items

# Where a payload holds a person's data: erasure blanks exactly these.
PERSONAL = {"email", "first_name", "last_name", "phone", "shipping_name"}


def build(shop: Shop, name: str, data: dict[str, Any], at: datetime) -> tuple[dict, int | None]:
    """The payload of event `name`, and the id of the customer whose data it holds, if any."""
    body: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    customer_id = data.get("customer_id")
    order = None
    if data.get("order_id"):
        if name == "order.refunded":
            order = order_detail(shop, pk=data["order_id"])  # with its refunds
        else:
            order = order_with_items(shop, data["order_id"])
    if order is not None:
        body["order"] = order_summary(order)
        customer_id = customer_id or order.customer_id
        if data.get("shipment_id"):
            shipment = next((s for s in order.shipments.all() if s.pk == data["shipment_id"]), None)
            if shipment is not None:
                body["shipment"] = shipment_summary(shipment)
        if data.get("refund_id"):
            refund = next((r for r in order.refunds.all() if r.pk == data["refund_id"]), None)
            if refund is not None:
                body["refund"] = {
                    "id": refund.pk,
                    "amount": str(refund.amount),
                    "currency": refund.currency,
                    "reason": refund.reason,
                }
    if not customer_id and data.get("email"):
        # customer.suppressed names the address only; still, it is that customer's data.
        match = find_customers(shop, search=data["email"]).filter(email=data["email"]).first()
        customer_id = match.pk if match else None
    customer = customer_in_shop(shop, customer_id) if customer_id else None
    if customer is not None:
        body["customer"] = customer_summary(customer)
    return {"type": name, "timestamp": at.isoformat(), "data": body}, customer_id


def order_summary(order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "external_id": order.external_id,
        "number": order.number,
        "email": order.email,
        "currency": order.currency,
        "subtotal": str(order.subtotal),
        "total": str(order.total),
        "refunded": str(order.refunded),
        "financial_status": order.financial_status,
        "fulfilment_status": order.fulfilment_status,
        "cancelled": order.cancelled_at is not None,
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
        "items": sum(line.quantity for line in order.lines.all()),
        "source": order.source,
    }


def shipment_summary(shipment) -> dict[str, Any]:
    return {
        "id": shipment.pk,
        "external_id": shipment.external_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "status": shipment.status,
        "shipped_at": shipment.shipped_at.isoformat() if shipment.shipped_at else None,
        "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
    }


def customer_summary(customer) -> dict[str, Any]:
    if customer.erased_at:
        return {"id": customer.pk, "erased": True}
    return {
        "id": customer.pk,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "accepts_marketing": customer.accepts_marketing,
    }


def scrub(payload: Any) -> Any:
    """The payload without personal data: every PERSONAL key, at any depth, blanked."""
    if isinstance(payload, dict):
        return {
            key: ("" if key in PERSONAL and value else scrub(value))
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [scrub(item) for item in payload]
    return payload


def encode(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
