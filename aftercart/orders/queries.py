"""Read-only views of a shop's orders, for the dashboard and the API. Always scoped to one shop."""

from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum

from aftercart.core.models import Shop
from aftercart.orders.models import Order


def find_orders(
    shop: Shop,
    *,
    search: str = "",
    financial_status: str = "",
    fulfilment_status: str = "",
    cancelled: bool | None = None,
    customer_id: int | None = None,
    updated_since: datetime | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
) -> QuerySet[Order]:
    qs = Order.objects.filter(shop=shop, is_placeholder=False).select_related("customer")
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(external_id=term)
            | Q(email__icontains=term)
            | Q(shipping_name__icontains=term)
        )
    if financial_status:
        qs = qs.filter(financial_status=financial_status)
    if fulfilment_status:
        qs = qs.filter(fulfilment_status=fulfilment_status)
    if cancelled is not None:
        qs = qs.filter(cancelled_at__isnull=not cancelled)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    if placed_from:
        qs = qs.filter(placed_at__gte=placed_from)
    if placed_to:
        qs = qs.filter(placed_at__lt=placed_to)
    return qs.order_by("-placed_at", "-id")


def order_with_items(shop: Shop, pk: int) -> Order | None:
    """An order with its customer, lines (and their products) and shipments: what an email
    or a flow condition reads. Lighter than order_detail, which adds the whole timeline."""
    return (
        Order.objects.filter(shop=shop, pk=pk)
        .select_related("customer")
        .prefetch_related("lines__product", "shipments")
        .first()
    )


def orders_with_items(shop: Shop | int, ids) -> dict[int, Order]:
    """Several orders with their lines and shipments, in three queries: a batch of emails
    (which read neither the customer nor the products through the order)."""
    found = Order.objects.filter(shop=shop, pk__in=list(ids)).prefetch_related("lines", "shipments")
    return {order.pk: order for order in found}


def order_detail(
    shop: Shop, *, pk: int | None = None, external_id: str | None = None
) -> Order | None:
    qs = Order.objects.filter(shop=shop).prefetch_related("lines", "shipments", "refunds", "events")
    if pk is not None:
        qs = qs.filter(pk=pk)
    elif external_id is not None:
        qs = qs.filter(external_id=external_id)
    else:
        return None
    return qs.select_related("customer").first()


def customer_totals(shop: Shop, customer_ids: list[int]) -> dict[int, dict]:
    rows = (
        Order.objects.filter(
            shop=shop, customer_id__in=customer_ids, cancelled_at=None, is_placeholder=False
        )
        .values("customer_id")
        .annotate(
            orders=Count("id"), spent=Sum("total"), refunded=Sum("refunded"), last=Max("placed_at")
        )
    )
    return {r["customer_id"]: r for r in rows}


def order_locales(shop_id: int, order_ids: set[int]) -> dict[int, str]:
    """{order id: the language the customer ordered in} for a batch of orders."""
    return dict(Order.objects.filter(shop_id=shop_id, pk__in=order_ids).values_list("pk", "locale"))


def order_facts(shop_id: int, order_id: int) -> dict | None:
    """The few facts a flow needs to enrol an order's customer: who, which language, when."""
    return (
        Order.objects.filter(shop_id=shop_id, pk=order_id)
        .values("customer_id", "locale", "placed_at")
        .first()
    )


def order_by_number_and_email(shop: Shop, number: str, email: str) -> Order | None:
    """The order a customer names by its number ("1001" or "#1001") and her address."""
    bare = number.strip().lstrip("#")
    if not bare:
        return None
    return (
        Order.objects.filter(shop=shop, number__in=[bare, f"#{bare}"], email__iexact=email.strip())
        .select_related("customer")
        .order_by("-placed_at")
        .first()
    )
