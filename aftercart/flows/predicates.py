"""Conditions a flow can branch on; later capabilities add theirs with `predicate`.

A predicate reads the state at the moment the step runs (an enrolment waited 7 days;
was the order refunded meanwhile?) and answers yes or no. An `if` step branches on one;
a hold ({"wait": {"until": [...]}}) waits until they all say yes.

A condition may belong to a capability that does not exist yet. It is registered as a
placeholder that always holds, so the default loop can name it today; the app that knows
the answer replaces it by registering the same name (`no_open_complaint` and
`no_open_return` began so, and are answered by the support and returns apps now):

    @predicate("no_open_complaint", replaces_placeholder=True)
    def no_open_complaint(enrolment, args) -> bool:
        return not open_complaints(enrolment.shop, enrolment.customer_id).exists()

Flows already saved keep working and start asking the real question at once. Replacing
a condition that is not a placeholder is an error: two apps must not both answer it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aftercart.orders import queries as orders
from aftercart.orders import replenishment
from aftercart.returns import queries as returns
from aftercart.support import queries as support


@dataclass(frozen=True)
class Predicate:
    name: str
    test: Callable[[Any, dict], bool]  # (enrolment, args) -> holds?
    check_args: Callable[[dict], None]  # raises ValueError naming what is wrong
    placeholder: bool = False  # holds until the capability that knows registers the real one


REGISTRY: dict[str, Predicate] = {}


def _no_args(args: dict) -> None:
    if args:
        raise ValueError("this condition takes no args")


def predicate(
    name: str,
    check_args: Callable[[dict], None] = _no_args,
    *,
    placeholder: bool = False,
    replaces_placeholder: bool = False,
):
    def register(fn):
        known = REGISTRY.get(name)
        # The same function again is a module imported twice, not a second answer.
        again = known is not None and known.test.__qualname__ == fn.__qualname__
        if known is not None and not again and not (replaces_placeholder and known.placeholder):
            raise ValueError(f"condition {name!r} is registered already")
        REGISTRY[name] = Predicate(name, fn, check_args, placeholder)
        return fn

    return register


def _order(enrolment):
    if not enrolment.order_id:
        return None
    return orders.order_with_items(enrolment.shop, enrolment.order_id)


def _orders_of(enrolment):
    if not enrolment.customer_id:
        return orders.find_orders(enrolment.shop).none()
    return orders.find_orders(enrolment.shop, customer_id=enrolment.customer_id, cancelled=False)


@predicate("first_order")
def first_order(enrolment, args) -> bool:
    return _orders_of(enrolment).count() <= 1


@predicate("repeat_customer")
def repeat_customer(enrolment, args) -> bool:
    return _orders_of(enrolment).count() > 1


@predicate("not_refunded")
def not_refunded(enrolment, args) -> bool:
    order = _order(enrolment)
    return order is not None and not order.refunded and order.cancelled_at is None


@predicate("not_cancelled")
def not_cancelled(enrolment, args) -> bool:
    order = _order(enrolment)
    return order is not None and order.cancelled_at is None


@predicate("accepts_marketing")
def accepts_marketing(enrolment, args) -> bool:
    return bool(enrolment.customer and enrolment.customer.accepts_marketing)


@predicate("no_newer_order")
def no_newer_order(enrolment, args) -> bool:
    """No order placed after the one that started this enrolment (or after it started)."""
    order = _order(enrolment)
    since = order.placed_at if order and order.placed_at else enrolment.started_at
    return not _orders_of(enrolment).filter(placed_at__gt=since).exists()


def _amount_args(args: dict) -> None:
    if set(args) != {"amount"}:
        raise ValueError('order_total_at_least takes {"amount": "50.00"}')
    try:
        Decimal(str(args["amount"]))
    except InvalidOperation:
        raise ValueError(f"amount {args['amount']!r} is not an amount") from None


@predicate("order_total_at_least", _amount_args)
def order_total_at_least(enrolment, args) -> bool:
    order = _order(enrolment)
    return order is not None and order.total >= Decimal(str(args["amount"]))


def _country_args(args: dict) -> None:
    countries = args.get("countries")
    if set(args) != {"countries"} or not isinstance(countries, list) or not countries:
        raise ValueError('shipping_country_in takes {"countries": ["NL", "BE"]}')


@predicate("shipping_country_in", _country_args)
def shipping_country_in(enrolment, args) -> bool:
    order = _order(enrolment)
    wanted = {c.upper() for c in args["countries"]}
    return order is not None and order.shipping_country.upper() in wanted


def _category_args(args: dict) -> None:
    if set(args) != {"category"} or not isinstance(args["category"], str):
        raise ValueError('bought_category takes {"category": "coffee"}')


@predicate("bought_category", _category_args)
def bought_category(enrolment, args) -> bool:
    order = _order(enrolment)
    if order is None:
        return False
    wanted = args["category"].strip().lower()
    return any(
        line.product and line.product.category.strip().lower() == wanted
        for line in order.lines.all()
    )


@predicate("not_reordered")
def not_reordered(enrolment, args) -> bool:
    """Something of the order runs out soon that the customer has not bought again since:
    what a replenishment reminder would list (orders.replenishment.products_to_reorder)."""
    if not enrolment.order_id:
        return False
    return bool(replenishment.products_to_reorder(enrolment.shop, enrolment.order_id))


@predicate("no_late_delivery")
def no_late_delivery(enrolment, args) -> bool:
    """No parcel of the order is late and still on its way (orders.delivery marks them)."""
    order = _order(enrolment)
    if order is None:
        return True
    return not any(s.late_since and s.delivered_at is None for s in order.shipments.all())


@predicate("no_open_complaint")
def no_open_complaint(enrolment, args) -> bool:
    """The customer has no complaint open with customer care (a ticket of the category
    complaint that is not resolved or closed)."""
    if not enrolment.customer_id:
        return True
    return not support.has_open_complaint(enrolment.shop_id, enrolment.customer_id)


@predicate("no_open_return")
def no_open_return(enrolment, args) -> bool:
    """No return of the enrolment's order is under way (asked for and not yet completed,
    rejected or cancelled); for a flow about no order, none of the customer's."""
    if enrolment.order_id:
        return not returns.has_open_return(enrolment.shop_id, order_id=enrolment.order_id)
    if enrolment.customer_id:
        return not returns.has_open_return(enrolment.shop_id, customer_id=enrolment.customer_id)
    return True
