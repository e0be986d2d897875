"""Customers and the suppression list in bulk, read-only, for replaying the past.

A flow backtest asks "may marketing mail reach her?" for tens of thousands of customers:
one query for all of them instead of one per customer (customers.services.suppression_reason).
"""

from collections.abc import Iterable
from datetime import datetime

from aftercart.core.models import Shop
from aftercart.customers.models import Customer, Suppression


def customers_by_id(shop: Shop, ids: Iterable[int]) -> dict[int, Customer]:
    """The shop's customers with these ids (another shop's ids find nothing)."""
    wanted = list(set(ids))
    found: dict[int, Customer] = {}
    for at in range(0, len(wanted), 900):  # SQLite allows at most 999 parameters per query
        for customer in Customer.objects.filter(shop=shop, pk__in=wanted[at : at + 900]):
            found[customer.pk] = customer
    return found


def suppressed_addresses(shop: Shop) -> dict[str, str]:
    """Every address on the shop's suppression list, with its reason (as of today)."""
    return dict(Suppression.objects.filter(shop=shop).values_list("email", "reason"))


def customers_created(shop: Shop, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
    """(id, created_at) of the customers first seen in this period, oldest first."""
    return list(
        Customer.objects.filter(shop=shop, created_at__gte=since, created_at__lte=until)
        .order_by("created_at", "id")
        .values_list("id", "created_at")
    )
