"""What the orders app holds about a person, registered with core.privacy."""

from aftercart.core import privacy
from aftercart.orders.models import Order, OrderEvent


def export(customer) -> list[dict]:
    orders = Order.objects.filter(customer=customer).prefetch_related("lines", "shipments")
    return [
        {
            "number": o.number,
            "placed_at": o.placed_at.isoformat() if o.placed_at else None,
            "currency": o.currency,
            "total": str(o.total),
            "refunded": str(o.refunded),
            "email": o.email,
            "shipping_name": o.shipping_name,
            "shipping_address": o.shipping_address,
            "shipping_country": o.shipping_country,
            "shipping_postcode": o.shipping_postcode,
            "shipping_city": o.shipping_city,
            "items": [
                {"title": ln.title, "quantity": ln.quantity, "total": str(ln.total)}
                for ln in o.lines.all()
            ],
            "shipments": [
                {"carrier": s.carrier, "tracking_number": s.tracking_number, "status": s.status}
                for s in o.shipments.all()
            ],
        }
        for o in orders
    ]


def erase(customer) -> int:
    """Keep amounts, dates and countries for the books; drop who and where."""
    orders = Order.objects.filter(customer=customer)
    OrderEvent.objects.filter(order__in=orders).update(payload={})
    return orders.update(
        email="",
        shipping_name="",
        shipping_address={},
        shipping_postcode="",
        shipping_city="",
        note="",
    )


privacy.register("orders", export=export, erase=erase)
