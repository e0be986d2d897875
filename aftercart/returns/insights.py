"""What the returns say about the products: how often each comes back, and why.

Counted over the orders placed in a period (90 days by default): a product's return rate
is the units asked back (in returns not rejected or cancelled) of those orders over the
units sold in them, so a slow month of sales does not make last quarter's returns look
like a spike.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders.models import LineItem
from aftercart.returns.models import HOLDING, ReturnLine, ReturnRequest
from aftercart.returns.policies import reason_labels


@dataclass
class Row:
    name: str
    sold: int
    returned: int
    reasons: list[tuple[str, int]]  # most given first

    @property
    def rate(self) -> float | None:
        return self.returned / self.sold if self.sold else None


@dataclass
class Summary:
    days: int
    orders_with_returns: int
    orders: int
    products: list[Row]
    categories: list[Row]
    reasons: list[tuple[str, int]]

    @property
    def order_rate(self) -> float | None:
        return self.orders_with_returns / self.orders if self.orders else None


def summary(shop: Shop, days: int = 90, limit: int = 20) -> Summary:
    since = timezone.now() - timedelta(days=days)
    sold_lines = LineItem.objects.filter(
        order__shop=shop, order__placed_at__gte=since, order__cancelled_at__isnull=True
    )
    returned = ReturnLine.objects.filter(
        request__shop=shop, request__status__in=HOLDING, request__order__placed_at__gte=since
    )
    # Counted by the reason's code, named in the reader's language: she may have read it
    # in another.
    words = _reason_words(shop)
    by_product = _rows(
        sold_lines.values_list("title").annotate(n=Sum("quantity")),
        returned.values_list("title").annotate(n=Sum("quantity")),
        returned.values_list("title", "request__reason").annotate(n=Count("id")),
        limit,
        words,
    )
    by_category = _rows(
        sold_lines.values_list(Coalesce("product__category", "title")).annotate(n=Sum("quantity")),
        returned.exclude(category="").values_list("category").annotate(n=Sum("quantity")),
        returned.exclude(category="")
        .values_list("category", "request__reason")
        .annotate(n=Count("id")),
        limit,
        words,
    )
    requests = ReturnRequest.objects.filter(
        shop=shop, status__in=HOLDING, order__placed_at__gte=since
    )
    reasons = [
        (words(code), n)
        for code, n in requests.values_list("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")
    ]
    orders = sold_lines.values("order_id").distinct().count() if sold_lines.exists() else 0
    return Summary(
        days=days,
        orders_with_returns=requests.values("order_id").distinct().count(),
        orders=orders,
        products=by_product,
        categories=[row for row in by_category if row.returned],
        reasons=reasons,
    )


def _reason_words(shop: Shop):
    words = reason_labels(shop)
    kept = dict(
        ReturnRequest.objects.filter(shop=shop).values_list("reason", "reason_label").distinct()
    )
    return lambda code: words.get(code) or kept.get(code) or code


def _rows(sold, returned, reasons, limit: int, words) -> list[Row]:
    sold_by = dict(sold)
    why: dict[str, list[tuple[str, int]]] = {}
    for name, reason, n in reasons:
        why.setdefault(name, []).append((words(reason), n))
    rows = [
        Row(name, sold_by.get(name, 0) or 0, n, sorted(why.get(name, []), key=lambda r: -r[1]))
        for name, n in returned
    ]
    rows.sort(key=lambda r: (-(r.rate or 0), -r.returned, r.name))
    return rows[:limit]
