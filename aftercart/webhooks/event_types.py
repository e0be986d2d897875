"""Which events an endpoint can ask for, and how its choice ("order.*", "*") is read."""

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# What the dashboard offers; an endpoint may also name an event not listed here (one a
# newer version or a flow's webhook step sends), as long as it is spelled like one.
EVENT_TYPES = {
    "order.placed": gettext_lazy("An order was placed"),
    "order.paid": gettext_lazy("An order was paid"),
    "order.cancelled": gettext_lazy("An order was cancelled"),
    "order.refunded": gettext_lazy("An order was (partly) refunded"),
    "order.delivered": gettext_lazy("Everything in an order was delivered"),
    "shipment.created": gettext_lazy("A parcel was shipped"),
    "shipment.updated": gettext_lazy("A parcel's tracking status changed"),
    "shipment.delivered": gettext_lazy("A parcel was delivered"),
    "shipment.out_for_delivery": gettext_lazy("A parcel is out for delivery"),
    "shipment.failed_attempt": gettext_lazy("A delivery attempt failed"),
    "shipment.available_for_pickup": gettext_lazy("A parcel is ready for pickup"),
    "shipment.exception": gettext_lazy("A carrier reported a problem with a parcel"),
    "shipment.returned_to_sender": gettext_lazy("A parcel is going back to the shop"),
    "shipment.delayed": gettext_lazy("A parcel is late"),
    "customer.created": gettext_lazy("A new customer"),
    "customer.updated": gettext_lazy("A customer's details changed"),
    "customer.consent_changed": gettext_lazy("A customer said yes or no to marketing"),
    "customer.suppressed": gettext_lazy("An address may no longer be mailed"),
    "customer.erased": gettext_lazy("A customer's personal data was erased"),
    "return.requested": gettext_lazy("A customer asked for a return"),
    "return.approved": gettext_lazy("A return was approved"),
    "return.rejected": gettext_lazy("A return was rejected"),
    "return.shipped": gettext_lazy("A return is on its way back"),
    "return.received": gettext_lazy("A return arrived"),
    "return.inspected": gettext_lazy("A return was inspected"),
    "return.settled": gettext_lazy("A refund, exchange or store credit of a return was done"),
    "return.completed": gettext_lazy("A return was completed"),
    "return.cancelled": gettext_lazy("A return was cancelled"),
    "message.sent": gettext_lazy("An email was sent"),
    "message.failed": gettext_lazy("An email could not be sent"),
    "message.suppressed": gettext_lazy("An email was held back"),
}
# Not offered: internal facts (a shop was created) that mean nothing to a receiver.
NOT_SENT = {"shop.created", "return.settlement_created"}
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*)$")


class EventTypeProblem(ValueError):
    pass


def parse_choice(text: str | list[str]) -> list[str]:
    """The event types an endpoint wants, from "order.*, shipment.delivered" or a list.

    Refuses what could never match, naming it, rather than an endpoint that silently
    receives nothing.
    """
    items = text if isinstance(text, list) else re.split(r"[\s,]+", text or "")
    chosen: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if not (NAME.match(item) or PATTERN.match(item)):
            raise EventTypeProblem(
                _(
                    "“%(item)s” is not an event type: use a name like order.placed, "
                    "a group like order.*, or * for every event."
                )
                % {"item": item}
            )
        if item not in chosen:
            chosen.append(item)
    if not chosen:
        raise EventTypeProblem(_("Choose at least one event type (or * for every event)."))
    return chosen


def matches(chosen: list[str], name: str) -> bool:
    """Whether an endpoint that chose these types wants the event `name`."""
    for pattern in chosen:
        if pattern == "*" or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise EventTypeProblem(
            _("“%(name)s” is not an event name like order.placed.") % {"name": name}
        )
    return name
