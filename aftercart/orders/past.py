"""A shop's order history as plain facts, read-only, for replaying it (flows.backtest).

A replay of a year reads every order, shipment and refund of it: a few streaming queries
of bare values, not a model object (and its related queries) per order, so 100,000
orders load in seconds. Always scoped to one shop.
"""

from dataclasses import dataclass, field
from datetime import datetime

from aftercart.core.models import Shop
from aftercart.orders.models import Order, OrderEvent, Refund, Shipment

CHUNK = 5000


@dataclass(slots=True)
class PastShipment:
    id: int
    external_id: str
    cancelled: bool
    shipped_at: datetime | None
    delivered_at: datetime | None
    updates: list[tuple[datetime, str]] = field(default_factory=list)  # (when, status)


@dataclass(slots=True)
class PastOrder:
    id: int
    customer_id: int
    placed_at: datetime
    cancelled_at: datetime | None
    paid_at: datetime | None = None
    refunds: list[datetime] = field(default_factory=list)
    shipments: list[PastShipment] = field(default_factory=list)

    def delivered_at(self) -> datetime | None:
        """When the whole order was delivered: every live parcel delivered (as the order
        services decide "order.delivered"), at the last one's delivery."""
        live = [s for s in self.shipments if not s.cancelled]
        if not live or any(s.delivered_at is None for s in live):
            return None
        return max(s.delivered_at for s in live)


def orders_placed(
    shop: Shop, since: datetime, until: datetime, *, with_timeline: bool = False
) -> dict[int, PastOrder]:
    """The shop's orders placed in [since, until] that have a customer, with their
    shipments and refunds; with_timeline adds when each was paid and each parcel's
    status updates (read from the order timeline, a larger table)."""
    period = {"placed_at__gte": since, "placed_at__lte": until}
    orders = {
        pk: PastOrder(pk, customer_id, placed_at, cancelled_at)
        for pk, customer_id, placed_at, cancelled_at in Order.objects.filter(
            shop=shop, is_placeholder=False, customer__isnull=False, **period
        )
        .order_by()
        .values_list("id", "customer_id", "placed_at", "cancelled_at")
        .iterator(chunk_size=CHUNK)
    }
    of_period = {f"order__{name}": value for name, value in period.items()}
    shipments: dict[tuple[int, str], PastShipment] = {}
    for order_id, *facts in (
        Shipment.objects.filter(shop=shop, **of_period)
        .order_by("shipped_at", "id")
        .values_list("order_id", "id", "external_id", "status", "shipped_at", "delivered_at")
        .iterator(chunk_size=CHUNK)
    ):
        if order_id in orders:
            pk, external_id, status, shipped_at, delivered_at = facts
            cancelled = status == Shipment.Status.CANCELLED
            shipment = PastShipment(pk, external_id, cancelled, shipped_at, delivered_at)
            orders[order_id].shipments.append(shipment)
            shipments[(order_id, external_id)] = shipment
    for order_id, refunded_at in (
        Refund.objects.filter(shop=shop, **of_period)
        .order_by("refunded_at", "id")
        .values_list("order_id", "refunded_at")
        .iterator(chunk_size=CHUNK)
    ):
        if order_id in orders:
            orders[order_id].refunds.append(refunded_at)
    if with_timeline:
        _read_timeline(shop, of_period, orders, shipments)
    return orders


def _read_timeline(shop, of_period, orders, shipments) -> None:
    types = [OrderEvent.Type.PAID, OrderEvent.Type.SHIPMENT_UPDATED]
    for order_id, type_, key, occurred_at in (
        OrderEvent.objects.filter(shop=shop, type__in=types, **of_period)
        .order_by("occurred_at", "id")
        .values_list("order_id", "type", "external_id", "occurred_at")
        .iterator(chunk_size=CHUNK)
    ):
        order = orders.get(order_id)
        if order is None:
            continue
        if type_ == OrderEvent.Type.PAID:
            order.paid_at = order.paid_at or occurred_at
            continue
        # "shipment:<its external id>:<status>", as orders.services writes it
        external_id, _, status = key.removeprefix("shipment:").rpartition(":")
        shipment = shipments.get((order_id, external_id))
        if shipment is not None:
            shipment.updates.append((occurred_at, status))


def orders_by_customer(shop: Shop) -> dict[int, list[tuple[int, datetime, datetime | None]]]:
    """Every order of the shop's customers, ever: {customer: [(order, placed, cancelled)]},
    oldest first. What "her first order" or "no newer order" is asked against."""
    found: dict[int, list[tuple[int, datetime, datetime | None]]] = {}
    for customer_id, pk, placed_at, cancelled_at in (
        Order.objects.filter(
            shop=shop, is_placeholder=False, customer__isnull=False, placed_at__isnull=False
        )
        .order_by("placed_at", "id")
        .values_list("customer_id", "id", "placed_at", "cancelled_at")
        .iterator(chunk_size=CHUNK)
    ):
        found.setdefault(customer_id, []).append((pk, placed_at, cancelled_at))
    return found
