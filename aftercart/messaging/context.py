"""What a message's template sees: the shop, the customer, the order as it is now, links."""

from aftercart.core.models import Shop
from aftercart.messaging import links
from aftercart.messaging.models import Message
from aftercart.orders.queries import order_with_items


def message_context(message: Message, shop: Shop) -> dict:
    customer = message.customer
    order = order_with_items(shop, message.order_id) if message.order_id else None
    shipment = None
    if order is not None and message.shipment_id:
        shipment = next((s for s in order.shipments.all() if s.pk == message.shipment_id), None)
    items = []
    if order is not None:
        items = [
            {
                "title": line.title,
                "variant_title": line.variant_title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "total": line.total,
                "image_url": "",
            }
            for line in order.lines.all()
        ]
    extra = dict(message.extra or {})
    return {
        "shop": shop,
        "shop_currency": shop.currency,
        "customer": customer,
        "order": order,
        "items": items,
        "shipment": shipment,
        "marketing": message.marketing,
        "expected_delivery": extra.pop("expected_delivery", ""),
        "links": {
            "shop": shop.public_base_url,
            "status": "",
            "unsubscribe": links.unsubscribe_url(shop.id, message.to_email),
            "preferences": links.preferences_url(shop.id, message.to_email),
            **extra.pop("links", {}),
        },
        **extra,
    }
