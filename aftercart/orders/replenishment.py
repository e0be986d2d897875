"""When a customer runs out: each product's reorder interval, set by the merchant or learned.

A merchant may set a product's interval (`reorder_interval_days`, "a 1 kg bag lasts 30
days"); where she has not, the shop's own history says it: the median number of days
between two orders of the same product by the same customer, once there are enough of
those reorders to trust (MIN_PAIRS), kept within a sane range. The learned value lives
in its own field, so relearning never overwrites what the merchant typed.

The replenishment reminder (flows) asks two things of an order: when its first
consumable runs out (`reorder_due_at`) and which of its consumables the customer has
not bought again yet (`products_to_reorder`); the email lists the latter.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders.models import LineItem, Order, Product

log = logging.getLogger(__name__)

MIN_PAIRS = 5  # fewer reorders than this say too little about a product
SHORTEST, LONGEST = 7, 365  # days: a learned interval outside this is clipped to it
# What a reminder lists: the products that run out within this time from the moment it is
# sent (or ran out at most this long ago). A reminder comes a few days before the first one runs out (the wait's days_before,
# at most this), and whatever runs out soon after is worth stocking up on in the same order.
REMINDER_HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class Learned:
    """What a learning run did, for the log and the command that runs it."""

    products: int  # products with a learned interval now
    changed: int  # of which the interval (or its support) changed in this run
    pairs: int  # reorders seen (two consecutive orders of a product by one customer)
    seconds: float


@dataclass(frozen=True)
class ReorderItem:
    product_id: int
    title: str  # as the customer bought it ("Espresso beans 1 kg")
    image_url: str
    due_at: datetime  # when she is expected to run out


def set_reorder_interval(shop: Shop, product_id: int, days: int | None) -> Product:
    """The merchant's interval for a product (None: go by the learned one again).

    Setting one makes the product a consumable: that is what an interval means.
    """
    if days is not None and (
        not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
    ):
        raise ValueError(f"reorder interval {days!r}: a whole number of days from 1 to 3650")
    product = Product.objects.filter(shop=shop, pk=product_id).first()
    if product is None:
        raise ValueError(f"product {product_id}: not in this shop")
    product.reorder_interval_days = days
    fields = ["reorder_interval_days"]
    if days is not None:
        product.consumable = True
        fields.append("consumable")
    product.save(update_fields=fields)
    return product


# Reorders: for each customer and product, the days since she last ordered that product.
# Grouped by (product, whole days) in the database, so a million order lines come back
# as a histogram of tens of thousands of rows, of which Python takes the medians. No
# DISTINCT: a product on two lines of one order gives a gap of 0 days, dropped below
# like any same-day order, and costs less than sorting every line once more.
_GAPS = """
WITH bought AS (
    SELECT o.customer_id, l.product_id, o.placed_at
    FROM {lines} l JOIN {orders} o ON o.id = l.order_id
    WHERE o.shop_id = %s AND o.customer_id IS NOT NULL AND l.product_id IS NOT NULL
      AND o.placed_at IS NOT NULL AND o.cancelled_at IS NULL AND NOT o.is_placeholder
), gaps AS (
    SELECT product_id, {days} AS days
    FROM bought
    WINDOW since AS (PARTITION BY customer_id, product_id ORDER BY placed_at)
)
SELECT product_id, CAST(ROUND(days) AS INTEGER) AS whole_days, COUNT(*)
FROM gaps
WHERE days >= 0.5
GROUP BY product_id, whole_days
"""
_DAYS = {
    "sqlite": "julianday(placed_at) - julianday(LAG(placed_at) OVER since)",
    "postgresql": "EXTRACT(EPOCH FROM placed_at - LAG(placed_at) OVER since) / 86400.0",
}


def reorder_gaps(shop: Shop) -> dict[int, dict[int, int]]:
    """{product id: {days between two orders of it by one customer: how many times}}.

    Orders on the same day are one shopping trip (a forgotten item), not a reorder.
    """
    sql = _GAPS.format(
        lines=LineItem._meta.db_table,
        orders=Order._meta.db_table,
        days=_DAYS[connection.vendor],
    )
    gaps: dict[int, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop.pk])
        for product_id, days, count in cursor.fetchall():
            gaps.setdefault(product_id, {})[days] = count
    return gaps


def typical_interval(histogram: dict[int, int]) -> int | None:
    """The median gap in days, clipped to SHORTEST..LONGEST; None with too few reorders."""
    pairs = sum(histogram.values())
    if pairs < MIN_PAIRS:
        return None
    low_rank, high_rank = (pairs - 1) // 2, pairs // 2
    seen, low = 0, None
    for days in sorted(histogram):
        seen += histogram[days]
        if low is None and seen > low_rank:
            low = days
        if seen > high_rank:
            median = (low + days) / 2
            return min(max(round(median), SHORTEST), LONGEST)
    raise AssertionError("unreachable: the ranks are within the counts")


def learn_reorder_intervals(shop: Shop) -> Learned:
    """Learn every product's interval from the shop's history; the merchant's stay as set."""
    started = time.monotonic()
    learned = {}
    pairs = 0
    for product_id, histogram in reorder_gaps(shop).items():
        pairs += sum(histogram.values())
        days = typical_interval(histogram)
        if days is not None:
            learned[product_id] = (days, sum(histogram.values()))
    now = timezone.now()
    # The products whose interval (or its support) changed, by their new value: one
    # UPDATE per value is many times faster than bulk_update's CASE per row on SQLite.
    changes: dict[tuple[int | None, int], list[int]] = defaultdict(list)
    with transaction.atomic():
        # The whole catalogue, three numbers a product: cheaper than a list of ids as big
        # as the catalogue in an IN (...), and it finds the intervals to forget as well.
        known = Product.objects.filter(shop=shop).values_list(
            "pk", "learned_reorder_interval_days", "reorder_pairs"
        )
        for pk, was_days, was_pairs in known.iterator(chunk_size=5000):
            now_is = learned.get(pk, (None, 0))
            if now_is != (was_days, was_pairs):
                changes[now_is].append(pk)
        for (days, support), ids in changes.items():
            for at in range(0, len(ids), 500):
                Product.objects.filter(pk__in=ids[at : at + 500]).update(
                    learned_reorder_interval_days=days,
                    reorder_pairs=support,
                    reorder_learned_at=now,
                )
    changed = sum(len(ids) for ids in changes.values())
    result = Learned(len(learned), changed, pairs, time.monotonic() - started)
    log.info("reorder intervals of %s: %s", shop.slug, result)
    return result


def learn_for_every_shop() -> dict[str, Learned]:
    """The weekly run: every shop, each in its own transaction (one failing stops no other)."""
    done = {}
    for shop in Shop.objects.order_by("pk"):
        try:
            done[shop.slug] = learn_reorder_intervals(shop)
        except Exception:
            log.exception("reorder intervals of %s could not be learned", shop.slug)
    return done


def _consumables(shop: Shop, order_id: int) -> tuple[Order | None, list[ReorderItem]]:
    """The order and its consumable products that have an interval, earliest to run out.

    One query; an order without consumables (most of them) comes back as (None, [])."""
    lines = (
        LineItem.objects.filter(order_id=order_id, order__shop=shop, product__consumable=True)
        .select_related("product", "order")
        .only(
            "product_id",
            "title",
            "product__image_url",
            "product__reorder_interval_days",
            "product__learned_reorder_interval_days",
            "order__customer_id",
            "order__placed_at",
            "order__cancelled_at",
        )
        .order_by("id")
    )
    order = None
    items: dict[int, ReorderItem] = {}
    for line in lines:
        order = line.order
        interval = line.product.reorder_interval
        if interval and order.placed_at and line.product_id not in items:
            items[line.product_id] = ReorderItem(
                line.product_id,
                line.title,
                line.product.image_url,
                order.placed_at + timedelta(days=interval),
            )
    return order, sorted(items.values(), key=lambda item: item.due_at)


def _reordered(shop: Shop, order: Order, product_ids: list[int]) -> set[int]:
    """Which of these products the customer has ordered again since `order`.

    Her later orders first, by the customer's index, then their lines: in one join SQLite
    walked the shop's orders by date instead (12–38 ms an order on a big shop)."""
    if not order.customer_id or not product_ids:
        return set()
    later = list(
        Order.objects.filter(
            customer_id=order.customer_id,
            shop=shop,
            placed_at__gt=order.placed_at,
            cancelled_at=None,
            is_placeholder=False,
        ).values_list("pk", flat=True)
    )
    if not later:
        return set()
    return set(
        LineItem.objects.filter(order_id__in=later, product_id__in=product_ids).values_list(
            "product_id", flat=True
        )
    )


def orders_with_consumables(shop_id: int, order_ids: set[int]) -> set[int]:
    """Which of these orders have a consumable product at all: for the rest there is never
    anything to remind of, and a batch of flow steps need not ask one order at a time."""
    # The shop is checked on the product (a line only ever names its own shop's products):
    # joined through the orders instead, a planner without fresh statistics hashed every
    # order of the shop for each batch (45 ms at 100,000 orders on PostgreSQL).
    return set(
        LineItem.objects.filter(
            order_id__in=order_ids, product__shop_id=shop_id, product__consumable=True
        )
        .order_by()
        .values_list("order_id", flat=True)
        .distinct()
    )


def _not_reordered(shop: Shop, order_id: int) -> list[ReorderItem]:
    order, items = _consumables(shop, order_id)
    if order is None or order.cancelled_at is not None:
        return []
    again = _reordered(shop, order, [item.product_id for item in items])
    return [item for item in items if item.product_id not in again]


def reorder_due_at(shop: Shop, order_id: int) -> datetime | None:
    """When the first consumable of the order that was not bought again since runs out.

    None when there is none: no consumable with an interval, or all reordered already.
    """
    items = _not_reordered(shop, order_id)
    return items[0].due_at if items else None


def products_to_reorder(
    shop: Shop, order_id: int, *, at: datetime | None = None
) -> list[ReorderItem]:
    """What a reminder for this order lists at `at` (now): the consumables the customer
    has not bought again since, that run out within REMINDER_HORIZON of it, either way.

    One that ran out long ago is not "running low" any more (an old order that reached
    us late, a worker that was down for weeks): no reminder for that.
    """
    at = at or timezone.now()
    return [
        item
        for item in _not_reordered(shop, order_id)
        if at - REMINDER_HORIZON <= item.due_at <= at + REMINDER_HORIZON
    ]
