"""The shop's past, turned back into the trigger events a flow listens to (for a backtest).

The live engine hears "order.placed", "shipment.delivered" … as they happen. A replay
rebuilds them from what the order history keeps: when each order was placed, paid and
cancelled, when each parcel shipped, changed status and arrived, when each refund was
made. Events the order history does not hold (a review submitted, consent changed) cannot
be replayed; the backtest's report says so.
"""

from dataclasses import dataclass
from datetime import datetime

from aftercart.core.models import Shop
from aftercart.customers.reach import customers_created
from aftercart.orders.past import PastOrder

# Within one moment, the order the live services publish them in.
_RANK = {
    "customer.created": 0,
    "order.placed": 1,
    "order.paid": 2,
    "shipment.created": 3,
    "shipment.updated": 4,
    "shipment.delivered": 5,
    "order.delivered": 6,
    "order.refunded": 7,
    "order.cancelled": 8,
}
REPLAYABLE = frozenset(_RANK)


@dataclass(frozen=True, slots=True)
class PastEvent:
    at: datetime
    name: str
    order_id: int | None = None
    shipment_id: int | None = None


def past_events(
    shop: Shop, orders: dict[int, PastOrder], names: set[str], since: datetime, until: datetime
) -> dict[int, list[PastEvent]]:
    """{customer: her events named in `names`, in time order} for the customers with at
    least one event of the trigger kind… or any: the caller passes what the flow needs."""
    found: dict[int, list[PastEvent]] = {}

    def add(customer_id: int, at: datetime | None, name: str, order_id=None, shipment_id=None):
        if name in names and at is not None and since <= at <= until:
            found.setdefault(customer_id, []).append(PastEvent(at, name, order_id, shipment_id))

    for order in orders.values():
        who, pk = order.customer_id, order.id
        add(who, order.placed_at, "order.placed", pk)
        add(who, order.paid_at, "order.paid", pk)
        for shipment in order.shipments:
            add(who, shipment.shipped_at, "shipment.created", pk, shipment.id)
            for at, _status in shipment.updates:
                add(who, at, "shipment.updated", pk, shipment.id)
            add(who, shipment.delivered_at, "shipment.delivered", pk, shipment.id)
        add(who, order.delivered_at(), "order.delivered", pk)
        for refunded_at in order.refunds:
            add(who, refunded_at, "order.refunded", pk)
        add(who, order.cancelled_at, "order.cancelled", pk)
    if "customer.created" in names:
        for customer_id, created_at in customers_created(shop, since, until):
            add(customer_id, created_at, "customer.created")
    for events in found.values():
        events.sort(key=lambda e: (e.at, _RANK[e.name]))
    return found
