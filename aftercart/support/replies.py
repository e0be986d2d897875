"""Saved replies, filled in from the ticket: {first_name}, {order_number}, {status_link}.

Plain placeholders, not a template language: a saved reply is written by any agent, and
must not be able to reach anything but these values. A placeholder we do not know, or
one without a value for this ticket, is left as written so the agent sees it.
"""

from django.db import transaction

from aftercart.core.models import Shop
from aftercart.orders.links import status_url
from aftercart.orders.queries import order_with_items
from aftercart.support.models import SavedReply, Ticket
from aftercart.tracking.carriers import tracking_url

PLACEHOLDERS = (
    "first_name",
    "name",
    "order_number",
    "status_link",
    "tracking_number",
    "tracking_link",
    "agent",
    "shop",
)


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, ticket: Ticket, *, agent: str = "") -> str:
    values = _Values(shop=ticket.shop.name, agent=agent)
    name = ticket.name or (ticket.customer.first_name if ticket.customer else "")
    if name:
        values["name"] = name
        values["first_name"] = name.split()[0]
    order = order_with_items(ticket.shop, ticket.order_id) if ticket.order_id else None
    if order is not None:
        values["order_number"] = order.number
        values["status_link"] = status_url(ticket.shop_id, order.pk)
        parcel = next((s for s in order.shipments.all() if s.tracking_number), None)
        if parcel is not None:
            values["tracking_number"] = parcel.tracking_number
            link = parcel.tracking_url or tracking_url(
                parcel.carrier_code,
                parcel.tracking_number,
                language=ticket.locale or "en",
                country=order.shipping_country,
                postcode=order.shipping_postcode,
            )
            if link:
                values["tracking_link"] = link
    try:
        return text.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return text  # stray braces: left as the agent wrote them


@transaction.atomic
def save_reply(shop: Shop, title: str, body: str, pk: int | None = None) -> SavedReply:
    if not title.strip() or not body.strip():
        raise ValueError("a saved reply needs a title and a text")
    reply = SavedReply.objects.get(shop=shop, pk=pk) if pk else SavedReply(shop=shop)
    reply.title, reply.body = title.strip()[:120], body.strip()
    reply.save()
    return reply


def delete_reply(shop: Shop, pk: int) -> None:
    SavedReply.objects.filter(shop=shop, pk=pk).delete()
