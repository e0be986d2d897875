"""A customer asks for her order's status page by order number and email address.

Treated like a password reset: the answer on screen is the same whether or not the two
match an order (the page never says which was wrong), the link goes only to the address
on the order, and attempts are counted per address, per order number and per client, so
no one can try addresses or numbers at speed.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from aftercart.core import ratelimit
from aftercart.core.models import Shop
from aftercart.messaging.services import queue_message
from aftercart.orders.links import LOOKUP, status_url
from aftercart.orders.queries import order_by_number_and_email

PER_ADDRESS = 5  # lookups per address per hour
PER_ORDER_NUMBER = 5
PER_CLIENT = 30  # one office or phone network may share an IP address
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Lookup:
    limited: bool  # too many attempts: nothing was looked up
    sent: bool  # for the caller's log and tests only; the customer is never shown it


def request_status_link(shop: Shop, number: str, email: str, client: str = "") -> Lookup:
    """Email the order's status link to its customer when the number and address match."""
    number, email = number.strip()[:60], email.strip().lower()[:254]
    keys = [
        (ratelimit.private_key(f"status:{shop.pk}:address", email), PER_ADDRESS),
        (ratelimit.private_key(f"status:{shop.pk}:number", number.lstrip("#")), PER_ORDER_NUMBER),
    ]
    if client:
        keys.append((ratelimit.private_key(f"status:{shop.pk}:client", client), PER_CLIENT))
    # Every counter counts, even when an earlier one says no: a refused attempt is an attempt.
    allowed = [ratelimit.allow(key, limit, WINDOW) for key, limit in keys]
    if not all(allowed):
        return Lookup(limited=True, sent=False)
    order = order_by_number_and_email(shop, number, email) if number and email else None
    if order is None or order.customer is None:
        return Lookup(limited=False, sent=False)
    # One email per order per ten minutes, however often the button is pressed.
    bucket = int(timezone.now().timestamp() // 600)
    queue_message(
        shop,
        "order_status_link",
        customer=order.customer,
        dedupe_key=f"status-link:{order.pk}:{bucket}",
        order_id=order.pk,
        order_locale=order.locale,
        to_email=order.email,  # the address on the order, the one she typed
        extra={"links": {"status": status_url(shop.pk, order.pk, LOOKUP)}},
    )
    return Lookup(limited=False, sent=True)
