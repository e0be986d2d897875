"""Order history in bulk: a batch of past orders applied in one transaction, a few queries each.

services.record_order locks, writes and publishes one order at a time: right for a webhook,
far too slow for years of history (a million CSV lines). import_history applies a batch of
hundreds to a few thousand orders with bulk queries and keeps the same rules:

* an order is found by (shop, external id); a stored order identical to the import is not
  touched, so importing the same file twice changes nothing;
* an import never overwrites what the store's live feed wrote (webhooks, the API, a sync),
  nor an order whose customer was erased: such orders are kept as they are;
* timeline entries use the live path's keys ("placed", "paid", "cancelled", "refund:…")
  under the same unique constraint, so no fact is recorded twice;
* customers are found by normalised email, through customers.services.import_customers.

Historical imports publish NO domain events, on purpose: "order.placed" for a year-old order
would send a thank-you email, schedule a review request and award loyalty points for it.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core import events
from aftercart.core.bulk import find_ids, insert_rows, one_writer_at_a_time, update_rows
from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData, import_customers
from aftercart.orders.models import LineItem, Order, OrderEvent, Product, Refund
from aftercart.orders.records import LineData, OrderData
from aftercart.orders.services import PAID_STATES

ZERO = Decimal("0.00")

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
KEPT = "kept"  # left as it is: the live feed wrote it, or its customer was erased
REPEATED = "repeated"  # this same import wrote it already: the file lists the order twice

# Order fields an import sets when the source says them (None: not said, nothing changes).
FIELDS = (
    "number",
    "currency",
    "subtotal",
    "discounts",
    "shipping",
    "tax",
    "total",
    "placed_at",
    "financial_status",
    "fulfilment_status",
    "cancelled_at",
    "cancel_reason",
    "discount_codes",
    "shipping_name",
    "shipping_address",
    "shipping_country",
    "shipping_postcode",
    "shipping_city",
    "locale",
    "note",
    "tags",
    "email",
)
WRITTEN = [*FIELDS, "customer", "refunded", "is_placeholder", "updated_at"]
STORED = ("id", "source", "source_updated_at", "updated_at", *WRITTEN[:-1])
DEFAULTS = {name: Order._meta.get_field(name).get_default() for name in FIELDS}
LINE_FIELDS = (
    "order",
    "external_id",
    "sku",
    "title",
    "variant_title",
    "quantity",
    "unit_price",
    "discount",
    "total",
    "product",
)
_LIMITS = {f.name: f.max_length for f in Order._meta.fields if getattr(f, "max_length", None)}


@dataclass
class PastOrder(OrderData):
    """An order from an export: OrderData plus facts exports give as plain columns."""

    paid_at: datetime | None = None
    refunded_total: Decimal | None = None  # all that was paid back, as of the export
    refunded_at: datetime | None = None


@dataclass
class ImportResult:
    outcomes: dict[str, str] = field(default_factory=dict)  # external id -> CREATED, ...
    lines: int = 0  # order lines of the orders created, updated or found unchanged


def import_history(
    shop: Shop, orders: list[OrderData], *, since: datetime | None = None
) -> ImportResult:
    """Create or update a batch of past orders in one transaction; publishes no events.

    `since` is when the calling import began: a stored order written after it was written
    by this import, so the file lists it twice; it is reported REPEATED, not overwritten.
    Shipments and refund lists are not taken (a PastOrder's refunded_total is).
    """
    keys = [o.external_id for o in orders]
    if not all(keys) or len(set(keys)) != len(keys):
        raise ValueError("import_history: every order needs an external id, once per batch")
    if any(o.shipments or o.refunds for o in orders):
        raise ValueError("import_history: shipments and refunds are applied by services")
    # What depends on the file alone is worked out before the transaction: the database
    # (on SQLite, the whole database) is held only for what depends on what it stores.
    prepared = [_Prepared(data, _fields(data), _line_rows(data.lines or ())) for data in orders]
    # Nothing on this path publishes; muted() keeps it so if a service it calls ever does.
    with events.muted():
        try:
            with transaction.atomic():
                return _apply(shop, prepared, since)
        except IntegrityError:
            # A webhook or another import created one of these orders or customers between
            # our look-up and our insert. The batch rolled back whole; a second look sees it.
            with transaction.atomic():
                return _apply(shop, prepared, since)


@dataclass
class _Prepared:
    data: OrderData
    wanted: dict  # the order's fields as the import sets them (see _fields)
    lines: list[tuple]  # its line rows but for the order and the product (see _line_rows)


def _apply(shop: Shop, prepared: list[_Prepared], since: datetime | None) -> ImportResult:
    one_writer_at_a_time(f"order history of shop {shop.id}")
    orders = [p.data for p in prepared]
    lines_of = {p.data.external_id: p.lines for p in prepared}
    result = ImportResult()
    now = timezone.now()
    # Plain rows, not model instances: a batch reads and writes thousands of them. No
    # ORDER BY: the model's default (-placed_at) makes SQLite walk the shop's whole
    # placed_at index instead of looking up each key, which grows with every batch.
    existing = find_ids(Order, "external_id", [o.external_id for o in orders], same={"shop": shop})
    stored = (
        {
            row["external_id"]: row
            for row in Order.objects.filter(id__in=existing.values())
            .order_by()
            .values("external_id", *STORED)
        }
        if existing
        else {}
    )
    erased = _of_erased_customers([row["id"] for row in stored.values() if row["customer"]])
    stored_lines = _stored_lines([row["id"] for row in stored.values()])
    new: list[tuple[OrderData, dict]] = []
    changed: list[tuple[OrderData, dict, bool]] = []
    for item in prepared:
        data, wanted = item.data, item.wanted
        row = stored.get(data.external_id)
        if row is None:
            row = {**DEFAULTS, **wanted, "id": None, "customer": None, "refunded": ZERO}
            new.append((data, row))
            outcome = CREATED
        elif row["id"] in erased or _written_live(row, data):
            outcome = KEPT
        elif since and row["updated_at"] >= since:
            outcome = REPEATED
        else:
            lines_differ = data.lines is not None and (
                _line_keys(data.lines) != stored_lines.get(row["id"], [])
            )
            if lines_differ or _differs(row, wanted, data):
                row.update(wanted)
                changed.append((data, row, lines_differ))
                outcome = UPDATED
            else:
                outcome = UNCHANGED
        result.outcomes[data.external_id] = outcome
        if outcome in (CREATED, UPDATED, UNCHANGED):
            result.lines += len(data.lines or ())
    if not new and not changed:
        return result

    touched = [*new, *((data, row) for data, row, _ in changed)]
    _link_customers(shop, touched)
    refunds = {data.external_id: r for data, row in touched if (r := _refund(row, data, now))}
    for _, row in touched:
        row["is_placeholder"] = row["placed_at"] is None
        row["updated_at"] = now
    created = insert_rows(
        Order,
        ["external_id", "source", *WRITTEN[:-1]],
        [(data.external_id, data.source, *_values(row)[:-1]) for data, row in new],
        same={"shop": shop.id, "created_at": now, "updated_at": now},
        ids=True,
    )
    for (_, row), pk in zip(new, created, strict=True):
        row["id"] = pk
    update_rows(Order, WRITTEN, [(*_values(row), row["id"]) for _, row, _ in changed])

    relined = [(data, row) for data, row, lines_differ in changed if lines_differ]
    if relined:
        LineItem.objects.filter(order_id__in=[row["id"] for _, row in relined]).delete()
    _create_lines(shop, [*new, *relined], lines_of)
    insert_rows(
        Refund,
        ["order", "external_id", "amount", "currency", "refunded_at"],
        [
            (row["id"], r.external_id, r.amount, row["currency"], r.refunded_at)
            for data, row in touched
            if (r := refunds.get(data.external_id))
        ],
        same={"shop": shop.id},
    )
    insert_rows(
        OrderEvent,
        ["order", "type", "external_id", "occurred_at", "payload", "source"],
        [
            (row["id"], *entry, data.source)
            for data, row in touched
            for entry in _timeline(row, data, refunds.get(data.external_id))
        ],
        same={"shop": shop.id},
        ignore_conflicts=True,  # an updated order keeps the entries it already has
    )
    return result


def _of_erased_customers(order_ids: list[int]) -> set[int]:
    # Filtered by order first: a join over all customers would grow with the shop.
    if not order_ids:
        return set()
    orders = Order.objects.filter(id__in=order_ids, customer__erased_at__isnull=False)
    return set(orders.order_by().values_list("id", flat=True))


def _values(row: dict) -> tuple:
    return tuple(row[name] for name in WRITTEN)


def _written_live(row: dict, data: OrderData) -> bool:
    """The store's live feed (or another source) wrote this order: an export never outranks it.

    Imports leave source_updated_at empty; webhooks and the API set it. A placeholder (an
    event that came before its order) is filled in by the import.
    """
    if row["is_placeholder"]:
        return False
    return row["source"] != data.source or row["source_updated_at"] is not None


def _fields(data: OrderData) -> dict:
    wanted = {}
    for name in FIELDS:
        value = getattr(data, name)
        if value is None:
            continue
        if name in _LIMITS and isinstance(value, str):
            value = value[: _LIMITS[name]]
        wanted[name] = value
    if data.email:
        wanted["email"] = data.email.strip().lower()
    if data.shipping_country:
        wanted["shipping_country"] = data.shipping_country.upper()[:2]
    return wanted


def _differs(row: dict, wanted: dict, data: OrderData) -> bool:
    if row["is_placeholder"]:
        return True
    if any(row[name] != value for name, value in wanted.items()):
        return True
    if data.email and row["customer"] is None:
        return True  # the customer was deleted since; link the order to one again
    total = getattr(data, "refunded_total", None)
    return total is not None and total > row["refunded"]


def _line_keys(lines: list[LineData]) -> list[tuple]:
    return [
        (
            ln.external_id[:100],
            ln.sku[:100],
            ln.title[:255],
            ln.variant_title[:255],
            ln.quantity,
            ln.unit_price,
            ln.discount,
            ln.product_external_id[:100],
        )
        for ln in lines
    ]


def _stored_lines(order_ids: list[int]) -> dict[int, list[tuple]]:
    found: dict[int, list[tuple]] = {}
    if not order_ids:
        return found
    rows = (
        LineItem.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "id")
        .values_list(
            "order_id",
            "external_id",
            "sku",
            "title",
            "variant_title",
            "quantity",
            "unit_price",
            "discount",
            "product__external_id",
        )
    )
    for order_id, *key in rows:
        key[-1] = key[-1] or ""
        found.setdefault(order_id, []).append(tuple(key))
    return found


def _link_customers(shop: Shop, touched: list[tuple[OrderData, dict]]) -> None:
    records: list[CustomerData] = []
    for data, _row in touched:
        record = data.customer or (CustomerData(email=data.email) if data.email else None)
        if record is not None and record.email:
            if record.updated_at is None:
                # Details as of the order: a newer order (or a live update) wins.
                record.updated_at = data.placed_at
            records.append(record)
    if not records:
        return
    customers = import_customers(shop, records)
    for data, row in touched:
        record = data.customer or (CustomerData(email=data.email) if data.email else None)
        if record is not None and record.email:
            row["customer"] = customers[record.email.strip().lower()]


@dataclass
class _Refund:
    external_id: str
    amount: Decimal
    refunded_at: datetime


def _refund(row: dict, data: OrderData, now: datetime) -> _Refund | None:
    """What the export says was paid back beyond what is recorded, as one refund.

    Keyed by the total it brings the order to, so the same file never refunds twice and a
    later export with a larger total records only the difference.
    """
    total = getattr(data, "refunded_total", None)
    if total is None or total <= row["refunded"]:
        return None
    refund = _Refund(
        external_id=f"import:{total}",
        amount=total - row["refunded"],
        refunded_at=getattr(data, "refunded_at", None)
        or row["cancelled_at"]
        or row["placed_at"]
        or now,
    )
    row["refunded"] = total
    return refund


def _line_rows(lines: list[LineData]) -> list[tuple]:
    """Each line as LINE_FIELDS lists it, less the order (first) and the product (last),
    followed by the product's external id."""
    return [
        (
            ln.external_id[:100],
            ln.sku[:100],
            ln.title[:255],
            ln.variant_title[:255],
            ln.quantity,
            ln.unit_price,
            ln.discount,
            ln.unit_price * ln.quantity - ln.discount,
            ln.product_external_id[:100],
        )
        for ln in lines
    ]


def _create_lines(
    shop: Shop, orders: list[tuple[OrderData, dict]], lines_of: dict[str, list[tuple]]
) -> None:
    catalogue = _products(shop, [ln for data, _ in orders for ln in data.lines or ()])
    insert_rows(
        LineItem,
        LINE_FIELDS,
        [
            (row["id"], *line[:-1], catalogue.get(line[-1]) if line[-1] else None)
            for data, row in orders
            for line in lines_of[data.external_id]
        ],
    )


def _products(shop: Shop, lines: list[LineData]) -> dict[str, int]:
    """Catalogue ids for the lines' products, created from the line when the shop has none."""
    wanted: dict[str, LineData] = {}
    for ln in lines:
        if ln.product_external_id:
            wanted.setdefault(ln.product_external_id[:100], ln)
    if not wanted:
        return {}
    found = find_ids(Product, "external_id", wanted, same={"shop": shop})
    missing = [key for key in wanted if key not in found]
    if missing:
        insert_rows(
            Product,
            ["shop", "external_id", "title", "category"],
            [
                (shop.id, key, wanted[key].title[:255], wanted[key].category[:120])
                for key in missing
            ],
            ignore_conflicts=True,  # a webhook may add the same product meanwhile
        )
        found.update(find_ids(Product, "external_id", missing, same={"shop": shop}))
    return found


def _timeline(row: dict, data: OrderData, refund: _Refund | None) -> list[tuple]:
    """The order's history as the live path records it, with the same keys.

    Each entry is (type, key, occurred_at, payload).
    """
    placed_at = row["placed_at"] or row["updated_at"]
    entries = [(OrderEvent.Type.PLACED, "placed", placed_at, {})]
    if row["financial_status"] in PAID_STATES:
        paid_at = getattr(data, "paid_at", None) or placed_at
        entries.append((OrderEvent.Type.PAID, "paid", paid_at, {}))
    if row["cancelled_at"]:
        reason = {"reason": row["cancel_reason"]}
        entries.append((OrderEvent.Type.CANCELLED, "cancelled", row["cancelled_at"], reason))
    if refund:
        payload = {"amount": str(refund.amount), "reason": ""}
        entries.append(
            (OrderEvent.Type.REFUNDED, f"refund:{refund.external_id}", refund.refunded_at, payload)
        )
    return entries
