"""Reading returns, and an order as far as returning it goes (what can still come back)."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders.models import LineItem, Order, Shipment
from aftercart.returns.models import (
    HOLDING,
    OPEN,
    CreditEntry,
    ReturnLine,
    ReturnRequest,
    Settlement,
)
from aftercart.returns.policy import Circumstances, Item

CENT = Decimal("0.01")


def line_key(line: LineItem) -> str:
    """What names an order line across versions of the order: the store's id, else what it is.

    The store may send a changed order, and orders.services then makes its lines anew."""
    return line.external_id or f"{line.sku or line.title}|{line.variant_title}"[:100]


def returnable_items(order: Order) -> list[Item]:
    """The order's lines with what reached her and what is in her returns already.

    `order` comes with its lines (and their products), shipments and refunds at hand, or
    they are read here."""
    delivered = _delivered(order)
    returned = returned_quantities(order)
    items = []
    for line in order.lines.all():
        key = line_key(line)
        product = line.product
        items.append(
            Item(
                line_id=line.pk,
                title=line.title + (f" – {line.variant_title}" if line.variant_title else ""),
                unit_paid=(line.total / line.quantity).quantize(CENT, ROUND_HALF_UP)
                if line.quantity
                else Decimal(0),
                delivered=min(line.quantity, delivered.get(key, 0)),
                returned=returned.get(key, 0),
                product=product.external_id if product else "",
                sku=line.sku,
                category=product.category if product else "",
                returnable=product.returnable if product else True,
            )
        )
    return items


def _delivered(order: Order) -> dict[str, int]:
    """Per line key: how many reached her. Parcels reported delivered count; when none is,
    parcels sent count (many shops never hear of deliveries); a parcel that lists no items
    holds the whole order. An order sent without parcels (an import) counts whole once it
    is marked shipped."""
    lines = list(order.lines.all())
    shipments = [s for s in order.shipments.all() if s.status != Shipment.Status.CANCELLED]
    arrived = [s for s in shipments if s.status == Shipment.Status.DELIVERED] or shipments
    whole = {line_key(ln): ln.quantity for ln in lines}
    if not arrived:
        shipped = order.fulfilment_status in (
            Order.Fulfilment.FULFILLED,
            Order.Fulfilment.DELIVERED,
        )
        return whole if shipped else {}
    if any(not s.items for s in arrived):
        return whole
    by_external = {ln.external_id: line_key(ln) for ln in lines if ln.external_id}
    counted: dict[str, int] = {}
    for shipment in arrived:
        for item in shipment.items:
            key = by_external.get(str(item.get("line")))
            if key is not None:
                counted[key] = counted.get(key, 0) + int(item.get("quantity", 0) or 0)
    return counted


def returned_quantities(order: Order) -> dict[str, int]:
    """Per line key: units in her returns that hold them (asked for, on their way, done),
    and units the store refunded itself (a refund made in Shopify's admin lists them)."""
    rows = (
        ReturnLine.objects.filter(request__order=order, request__status__in=HOLDING)
        .values("line_external_id")
        .annotate(n=Sum("quantity"))
    )
    counted = {row["line_external_id"]: row["n"] for row in rows}
    ours = set(
        Settlement.objects.filter(request__order=order)
        .exclude(external_id="")
        .values_list("external_id", flat=True)
    )
    for refund in order.refunds.all():
        if refund.external_id in ours:
            continue  # the store's record of a refund of ours: counted in its return
        for item in refund.items or []:
            key = str(item.get("line") or "")
            if key:
                counted[key] = counted.get(key, 0) + int(item.get("quantity") or 0)
    return counted


def earlier_returns(shop: Shop, order: Order, now: datetime) -> int:
    """Her returns in the 90 days before now that were not rejected or cancelled: by
    customer when we know her, else by the order's email address."""
    who = Q(customer_id=order.customer_id) if order.customer_id else Q(order__email=order.email)
    if not order.customer_id and not order.email:
        return 0
    return (
        ReturnRequest.objects.filter(shop=shop, requested_at__gte=now - timedelta(days=90))
        .filter(who, status__in=HOLDING)
        .count()
    )


def circumstances(shop: Shop, order: Order, now: datetime | None = None) -> Circumstances:
    now = now or timezone.now()
    delivered = [s.delivered_at for s in order.shipments.all() if s.delivered_at]
    return Circumstances(
        ordered_at=order.placed_at or order.created_at,
        # The window starts when all of it had arrived.
        delivered_at=max(delivered) if delivered else None,
        now=now,
        zone=shop.zone,
        earlier_returns=earlier_returns(shop, order, now),
    )


def find_returns(shop: Shop, *, status: str = "", search: str = "") -> QuerySet[ReturnRequest]:
    qs = ReturnRequest.objects.filter(shop=shop).select_related("order", "customer")
    if status == "open":
        qs = qs.filter(status__in=OPEN)
    elif status:
        qs = qs.filter(status=status)
    if search:
        search = search.strip().lstrip("#")
        qs = qs.filter(
            Q(number__icontains=search)
            | Q(order__number__icontains=search)
            | Q(order__email__iexact=search)
        )
    return qs


def return_detail(shop: Shop, pk: int) -> ReturnRequest | None:
    return (
        ReturnRequest.objects.filter(shop=shop, pk=pk)
        .select_related("order", "customer")
        .prefetch_related("lines", "settlements", "photos")
        .first()
    )


def has_open_return(shop: Shop | int, *, order_id: int | None = None, customer_id=None) -> bool:
    qs = ReturnRequest.objects.filter(shop=shop, status__in=OPEN)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.exists()


def credit_balance(shop: Shop, customer_id: int) -> Decimal:
    total = CreditEntry.objects.filter(shop=shop, customer_id=customer_id).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0.00")


def counts_by_status(shop: Shop) -> dict[str, int]:
    rows = ReturnRequest.objects.filter(shop=shop).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def exchange_options(order: Order) -> dict[int, list[tuple[str, str]]]:
    """Per order line, the other variants of its product we know of (the store's id, name)
    that cost no more than she paid for it: what she can exchange it for without writing it
    out. A dearer one is for an agent to arrange (the difference to pay)."""
    from aftercart.orders.models import Variant

    lines = [ln for ln in order.lines.all() if ln.product_id]
    if not lines:
        return {}
    variants: dict[int, list[tuple[str, str, Decimal]]] = {}
    for variant in Variant.objects.filter(
        shop_id=order.shop_id, product_id__in={ln.product_id for ln in lines}
    ).order_by("title", "id"):
        variants.setdefault(variant.product_id, []).append(
            (
                variant.external_id,
                variant.title or variant.sku or variant.external_id,
                variant.price,
            )
        )
    options = {}
    for line in lines:
        own = line.variant.external_id if line.variant_id and line.variant else ""
        paid = line.total / line.quantity if line.quantity else Decimal(0)
        others = [
            (ext, title)
            for ext, title, price in variants.get(line.product_id, [])
            if ext != own and price <= paid
        ]
        if others:
            options[line.pk] = others
    return options


_ORDER_RETURNS = (
    "SELECT id, number, status FROM returns_returnrequest "
    "WHERE shop_id = %s AND order_id = %s ORDER BY id"
)


def order_returns_brief(shop_id: int, order_id: int) -> list[tuple[int, str, str]]:
    """(id, number, status label) of an order's returns, for its status page: plain SQL,
    as the page's own reads are (orders.status_page says why)."""
    labels = dict(ReturnRequest.Status.choices)
    with connection.cursor() as cursor:
        cursor.execute(_ORDER_RETURNS, [shop_id, order_id])
        return [(pk, number, str(labels.get(status, status))) for pk, number, status in cursor]
