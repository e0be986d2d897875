"""What a message's template sees: the shop, the customer, the order as it is now, links."""

from collections.abc import Callable, Iterable
from functools import cache, partial

from django.utils import formats, translation

from aftercart.core.models import Shop
from aftercart.messaging import links
from aftercart.messaging.models import Message
from aftercart.orders.delivery import order_window
from aftercart.orders.links import status_url
from aftercart.orders.queries import order_with_items
from aftercart.orders.replenishment import products_to_reorder
from aftercart.tracking.carriers import tracking_url

# Kinds whose subject lives in an app above this one (a return, a ticket): that app
# registers what their templates see, read from the message's extra ids at rendering.
Provider = Callable[[Message, Shop, object], dict]
_providers: dict[str, Provider] = {}


def provide(kinds: Iterable[str], provider: Provider) -> Provider:
    for kind in kinds:
        _providers[kind] = provider
    return provider


def message_context(message: Message, shop: Shop, *, order=None) -> dict:
    """`order`: the message's order read already (a batch of emails reads theirs at once)."""
    customer = message.customer
    if order is None and message.order_id:
        order = order_with_items(shop, message.order_id)
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
    reorder_items = []
    if order is not None and message.kind == "replenishment_reminder":
        # As of sending, not queueing: a product she reordered meanwhile is left out.
        reorder_items = [
            {"title": item.title, "image_url": item.image_url, "url": ""}
            for item in products_to_reorder(shop, order.pk)
        ]
    extra = dict(message.extra or {})
    provider = _providers.get(message.kind)
    if provider is not None:
        extra = {**provider(message, shop, order), **extra}
    return {
        # Rows as plain values: a template (which a shop member may now edit) must not walk
        # relations, e.g. shop.members.all to every member's password hash.
        "shop": plain(shop),
        "shop_currency": shop.currency,
        "customer": plain(customer),
        "order": plain(order),
        "items": items,
        "reorder_items": reorder_items,
        "shipment": shipment_values(shipment, order, message.locale),
        "marketing": message.marketing,
        "expected_delivery": extra.pop("expected_delivery", None)
        or expected_delivery(message, shop, order, shipment),
        "links": {
            "shop": shop.public_base_url,
            # The order's status page, signed for this order (only when a template uses it).
            "status": cache(partial(status_url, shop.id, order.pk)) if order is not None else "",
            # Signed when a template uses them (marketing mail's footer), not for every
            # order email: the template engine calls a callable value. Once, so the HTML
            # and the text part carry the same link.
            "unsubscribe": cache(partial(links.unsubscribe_url, shop.id, message.to_email)),
            "preferences": cache(partial(links.preferences_url, shop.id, message.to_email)),
            **extra.pop("links", {}),
        },
        **extra,
    }


# The emails that promise a day: the confirmation from the order date, the shipping
# notification from the parcel's window (set when it shipped).
PROMISES = {"order_confirmation", "shipping_notification", "out_for_delivery"}


def expected_delivery(message: Message, shop: Shop, order, shipment) -> str:
    """ "Tuesday 24 – Wednesday 25 November" in the email's language, or "" when unknown."""
    if message.kind not in PROMISES or order is None:
        return ""
    if shipment is not None and shipment.expected_until:
        first, last = shipment.expected_from or shipment.expected_until, shipment.expected_until
    elif message.kind == "order_confirmation" and not order.shipments.all():
        window = order_window(shop, order)
        if window is None:
            return ""
        first, last = window.earliest, window.latest
    else:
        return ""
    with translation.override(message.locale):
        if first == last:
            return formats.date_format(last, "l j F")
        same_month = first.month == last.month
        return f"{formats.date_format(first, 'l j' if same_month else 'l j F')} – " + (
            formats.date_format(last, "l j F")
        )


def shipment_values(shipment, order, language: str) -> dict | None:
    """The parcel, with a link to follow it: the store's, else the carrier's own page."""
    values = plain(shipment)
    if values is not None and not values["tracking_url"]:
        values["tracking_url"] = tracking_url(
            shipment.carrier_code,
            shipment.tracking_number,
            language=language,
            country=order.shipping_country,
            postcode=order.shipping_postcode,
        )
    return values


def plain(row) -> dict | None:
    """A model row's own fields (no relations, no methods) for a template."""
    if row is None:
        return None
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    values["pk"] = row.pk
    return values
