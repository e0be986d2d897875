"""Applying many new orders at once, for intake at webhook rates.

record_order costs a dozen queries per order; a batch of new orders needs a handful of
queries in all. The rules are the same ones (services._apply_fields, the timeline keys,
the domain events); only orders that do not exist yet and carry no shipments or refunds
take this path: everything else goes through record_order, one by one.
"""

from django.db import transaction

from aftercart.core.events import DomainEvent, publish_many
from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData, upsert_customers
from aftercart.orders.models import LineItem, Order, OrderEvent
from aftercart.orders.records import OrderData
from aftercart.orders.services import PAID_STATES, OrderChange, _apply_fields, line_items


def record_new_orders(
    shop: Shop, records: list[OrderData]
) -> tuple[list[OrderChange], list[OrderData]]:
    """Create the orders in `records` that are new, in bulk; return (changes, the rest).

    The rest (known orders, ones with shipments or refunds, an id listed twice) is for
    the caller to apply with record_order. Raises IntegrityError when another process
    created one of these orders meanwhile: the caller retries one by one.
    """
    ids = [r.external_id for r in records]
    repeated = {i for i in ids if ids.count(i) > 1} if len(set(ids)) != len(ids) else set()
    with transaction.atomic():
        known = set(
            Order.objects.select_for_update()
            .filter(shop=shop, external_id__in=ids)
            .order_by()  # the default ordering would make SQLite scan every order of the shop
            .values_list("external_id", flat=True)
        )
        fresh, rest = [], []
        for r in records:
            simple = not r.shipments and not r.refunds and r.placed_at is not None
            if simple and r.external_id not in known and r.external_id not in repeated:
                fresh.append(r)
            else:
                rest.append(r)
        if not fresh:
            return [], rest
        customers = upsert_customers(
            shop,
            [
                r.customer or CustomerData(email=r.email or "")
                for r in fresh
                if (r.customer or r.email)
            ],
        )
        orders = []
        for r in fresh:
            order = Order(
                shop=shop,
                external_id=r.external_id,
                source=r.source,
                currency=r.currency or shop.currency,
            )
            _apply_fields(order, r)
            email = (r.customer.email if r.customer else r.email or "").strip().lower()
            order.customer = customers.get(email)
            order.source_updated_at = r.updated_at
            orders.append(order)
        Order.objects.bulk_create(orders)

        lines, events, changes, facts = [], [], [], []
        for order, r in zip(orders, fresh, strict=True):
            lines.extend(line_items(order, r.lines or []))
            written = _first_events(order, r, events, facts)
            changes.append(OrderChange(order, applied=True, events=written))
        LineItem.objects.bulk_create(lines)
        OrderEvent.objects.bulk_create(events)
        # One batch for the subscribers too: flows enrol a batch's customers in bulk.
        publish_many(facts)
    return changes, rest


def _first_events(
    order: Order, r: OrderData, events: list[OrderEvent], published: list[DomainEvent]
) -> list[str]:
    """The timeline a new order starts with, as record_order would write it."""
    facts = [(OrderEvent.Type.PLACED, "placed", order.placed_at, "order.placed", {})]
    if order.financial_status in PAID_STATES:
        facts.append(
            (OrderEvent.Type.PAID, "paid", r.updated_at or order.placed_at, "order.paid", {})
        )
    if order.cancelled_at:
        facts.append(
            (
                OrderEvent.Type.CANCELLED,
                "cancelled",
                order.cancelled_at,
                "order.cancelled",
                {"reason": order.cancel_reason},
            )
        )
    for type_, key, when, name, payload in facts:
        events.append(
            OrderEvent(
                shop_id=order.shop_id,
                order=order,
                type=type_,
                external_id=key,
                occurred_at=when,
                source=r.source,
                payload=payload,
            )
        )
        data = {"order_id": order.pk, "customer_id": order.customer_id}
        published.append(DomainEvent(name, order.shop_id, data))
    return [f[1] for f in facts]
