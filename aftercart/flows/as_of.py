"""Conditions answered as they would have been at a moment in the past (for a backtest).

The engine's predicates (flows.predicates) read the state of the moment they run: right
live, wrong in a replay of last year, where "no newer order" would see this spring's
orders. The conditions about the order history are answered here from the replayed
history, as of the replay's clock. They say the same as the engine's own when asked
about today (tests/flows/test_backtest.py checks that for each), so a change to one
shows up as a failing test, not as a quietly different backtest.

Every other condition (and any a later capability adds) is asked of the engine's own
predicate, with today's data; the backtest's report names those.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aftercart.orders import replenishment
from aftercart.orders.past import PastOrder

Placed = tuple[int, datetime, datetime | None]  # (order, placed, cancelled)


@dataclass(frozen=True)
class History:
    orders: dict[int, PastOrder]  # the replayed orders, by id
    by_customer: dict[int, list[Placed]]  # every order of each customer, ever

    def orders_then(self, customer_id: int | None, at: datetime) -> list[Placed]:
        """Her orders placed by `at` and not cancelled by then."""
        return [
            o
            for o in self.by_customer.get(customer_id, ())
            if o[1] <= at and (o[2] is None or o[2] > at)
        ]

    def cancelled_by(self, order: PastOrder, at: datetime) -> bool:
        return order.cancelled_at is not None and order.cancelled_at <= at


def first_order(history: History, enrolment, args: dict, at: datetime) -> bool:
    return len(history.orders_then(enrolment.customer_id, at)) <= 1


def repeat_customer(history: History, enrolment, args: dict, at: datetime) -> bool:
    return len(history.orders_then(enrolment.customer_id, at)) > 1


def no_newer_order(history: History, enrolment, args: dict, at: datetime) -> bool:
    order = history.orders.get(enrolment.order_id)
    since = order.placed_at if order else enrolment.started_at
    return not any(
        placed > since for _, placed, _ in history.orders_then(enrolment.customer_id, at)
    )


def not_refunded(history: History, enrolment, args: dict, at: datetime) -> bool:
    order = history.orders.get(enrolment.order_id)
    return (
        order is not None
        and not any(r <= at for r in order.refunds)
        and not history.cancelled_by(order, at)
    )


def not_cancelled(history: History, enrolment, args: dict, at: datetime) -> bool:
    order = history.orders.get(enrolment.order_id)
    return order is not None and not history.cancelled_by(order, at)


def not_reordered(history: History, enrolment, args: dict, at: datetime) -> bool:
    """ "Runs out soon" as of `at`; "not bought again since" is today's (the replenishment
    service answers that only for now): a customer who reordered later counts as having
    reordered already. The report says so."""
    if not enrolment.order_id:
        return False
    return bool(replenishment.products_to_reorder(enrolment.shop, enrolment.order_id, at=at))


AS_OF: dict[str, Callable[[History, object, dict, datetime], bool]] = {
    f.__name__: f
    for f in (
        first_order,
        repeat_customer,
        no_newer_order,
        not_refunded,
        not_cancelled,
        not_reordered,
    )
}
