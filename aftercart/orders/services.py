"""The only code that changes orders. One transaction per call; events published on commit.

Every service is safe to run twice with the same input and in any order relative to
the others: the timeline keys each real event ("placed", "refund:77",
"shipment:12:delivered") under a unique constraint, and a version of an order older
than the one stored (by the store's own updated_at) changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core.events import publish
from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData, upsert_customer
from aftercart.orders.delivery import set_expected_window
from aftercart.orders.models import LineItem, Order, OrderEvent, Product, Refund, Shipment, Variant
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.orders.scans import attach_waiting_scans
from aftercart.tracking import carriers
from aftercart.tracking.statuses import PUBLISHED

PAID_STATES = {
    Order.Financial.PAID,
    Order.Financial.PARTIALLY_REFUNDED,
    Order.Financial.REFUNDED,
}
# A shipment only moves forward, unless the source gives a newer timestamp.
STATUS_RANK = {
    "pending": 0,
    "info_received": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "failed_attempt": 3,
    "available_for_pickup": 4,
    "exception": 4,
    "delivered": 5,
    "returned_to_sender": 5,
    "cancelled": 5,
}


@dataclass
class OrderChange:
    order: Order
    applied: bool  # False when the input was stale and nothing changed
    events: list[str] = field(default_factory=list)  # timeline entries written


class _Recorder:
    """Collects timeline entries for one order; `flush` writes the new ones in one query.

    The order row is locked by the caller, so the keys read here cannot change under us.
    """

    def __init__(self, order: Order, source: str, *, is_new: bool = False):
        self.order = order
        self.source = source
        self.written: list[str] = []
        self._known: set[str] | None = set() if is_new else None
        self._pending: list[tuple[OrderEvent, str | None, dict]] = []
        # A parcel of the order changed: the order's updated_at moves too, so whatever is
        # kept of the order (its status page, rendered) knows it is out of date.
        self.touched = False

    def note(
        self,
        type_: str,
        key: str,
        occurred_at: datetime | None,
        domain_event: str | tuple[str, ...] | None = None,
        payload: dict | None = None,
        **ids,
    ) -> bool:
        if self._known is None:
            self._known = set(self.order.events.values_list("external_id", flat=True))
        if key in self._known:
            return False
        self._known.add(key)
        event = OrderEvent(
            shop_id=self.order.shop_id,
            order=self.order,
            type=type_,
            external_id=key,
            occurred_at=occurred_at or timezone.now(),
            source=self.source,
            payload=payload or {},
        )
        self._pending.append((event, domain_event, ids))
        return True

    def flush(self) -> None:
        if self.touched:
            Order.objects.filter(pk=self.order.pk).update(updated_at=timezone.now())
            self.touched = False
        if not self._pending:
            return
        OrderEvent.objects.bulk_create([event for event, _, _ in self._pending])
        for event, domain_event, ids in self._pending:
            self.written.append(event.external_id)
            names = (domain_event,) if isinstance(domain_event, str) else domain_event or ()
            for name in names:
                publish(
                    name,
                    self.order.shop_id,
                    order_id=self.order.pk,
                    customer_id=self.order.customer_id,
                    **ids,
                )
        self._pending = []


def _locked_order(shop: Shop, external_id: str, source: str, currency: str | None) -> Order:
    """The order row, locked for this transaction; a placeholder if it is not known yet."""
    if not external_id:
        raise ValueError("order id: missing")
    order = (
        Order.objects.select_for_update()
        .filter(shop=shop, external_id=external_id)
        .order_by()
        .first()
    )
    if order is not None:
        order.shop = shop  # already at hand: no query when a service reads it
        return order
    try:
        with transaction.atomic():
            return Order.objects.create(
                shop=shop,
                external_id=external_id,
                source=source,
                currency=currency or shop.currency,
                is_placeholder=True,
            )
    except IntegrityError:
        # A concurrent delivery for the same order created it first.
        order = Order.objects.select_for_update().get(shop=shop, external_id=external_id)
        order.shop = shop
        return order


def record_order(shop: Shop, data: OrderData) -> OrderChange:
    """Create or update an order from a full description of it.

    A version older than the stored one changes nothing. Shipments and refunds listed
    in it are applied as record_shipment / record_refund would.
    """
    if not data.external_id:
        raise ValueError("order id: missing")
    try:
        with transaction.atomic():
            return _record_order(shop, data)
    except IntegrityError:
        # Two deliveries created the same new order at once; the loser applies on top.
        with transaction.atomic():
            return _record_order(shop, data)


def _record_order(shop: Shop, data: OrderData) -> OrderChange:
    order = (
        Order.objects.select_for_update()
        .filter(shop=shop, external_id=data.external_id)
        .order_by()
        .first()
    )
    is_new = order is None
    if is_new:
        order = Order(
            shop=shop,
            external_id=data.external_id,
            source=data.source,
            currency=data.currency or shop.currency,
            is_placeholder=True,
        )
    elif data.updated_at and order.source_updated_at and data.updated_at < order.source_updated_at:
        return OrderChange(order, applied=False)
    else:
        order.shop = shop  # at hand already: reading it costs no query

    was_paid = order.financial_status in PAID_STATES
    was_cancelled = order.cancelled_at is not None
    _apply_fields(order, data)
    if data.customer or data.email:
        customer_data = data.customer or CustomerData(email=data.email or "")
        if customer_data.email:
            order.customer, _ = upsert_customer(shop, customer_data)
    if data.updated_at:
        order.source_updated_at = data.updated_at
    if order.is_placeholder and data.placed_at:
        order.is_placeholder = False
    order.save(force_insert=is_new)
    rec = _Recorder(order, data.source, is_new=is_new)

    if data.lines is not None:
        _replace_lines(order, data.lines, is_new=is_new)
    if not order.is_placeholder:
        rec.note(OrderEvent.Type.PLACED, "placed", order.placed_at, "order.placed")
    if order.financial_status in PAID_STATES and not was_paid:
        rec.note(OrderEvent.Type.PAID, "paid", data.updated_at or order.placed_at, "order.paid")
    if order.cancelled_at and not was_cancelled:
        rec.note(
            OrderEvent.Type.CANCELLED,
            "cancelled",
            order.cancelled_at,
            "order.cancelled",
            {"reason": order.cancel_reason},
        )
    for shipment in data.shipments or []:
        _apply_shipment(order, shipment, rec)
    for refund in data.refunds or []:
        _apply_refund(order, refund, rec)
    if not (is_new and not data.shipments and not data.refunds):
        # A brand-new order without shipments or refunds has nothing to settle.
        _settle_statuses(order, rec, fulfilment_given=data.fulfilment_status is not None)
    rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def record_shipment(
    shop: Shop, order_external_id: str, data: ShipmentData, source: str
) -> OrderChange:
    """Add or update one shipment. Arriving before its order, it waits on a placeholder order."""
    with transaction.atomic():
        order = _locked_order(shop, order_external_id, source, None)
        rec = _Recorder(order, source)
        _apply_shipment(order, data, rec)
        _settle_statuses(order, rec, fulfilment_given=False)
        rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def record_scan(
    shop: Shop, order_external_id: str, shipment_external_id: str, status: str | None, at: datetime
) -> OrderChange:
    """A carrier scan of `at` says the parcel is now `status` (orders.tracking calls this)."""
    with transaction.atomic():
        order = _locked_order(shop, order_external_id, "tracking", None)
        rec = _Recorder(order, "tracking")
        delivered = status == Shipment.Status.DELIVERED
        _apply_shipment(
            order,
            ShipmentData(
                external_id=shipment_external_id,
                status=status,
                delivered_at=at if delivered else None,
            ),
            rec,
            scan_at=at,
        )
        _settle_statuses(order, rec, fulfilment_given=False)
        rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def record_delay(shop: Shop, shipment_id: int, reason: str, at: datetime) -> bool:
    """Mark a parcel late, once: on its order's timeline, and published as shipment.delayed.

    `reason`: "window_passed" (its delivery window ended without delivery) or the trouble
    the carrier reported (failed_attempt, exception, returned_to_sender)."""
    with transaction.atomic():
        shipment = Shipment.objects.filter(shop=shop, pk=shipment_id).only("order_id").first()
        if shipment is None:
            return False
        order = Order.objects.select_for_update().get(pk=shipment.order_id)
        shipment = Shipment.objects.get(pk=shipment_id)
        if shipment.late_since is not None or shipment.delivered_at is not None:
            return False  # marked by another run, or delivered meanwhile
        shipment.late_since, shipment.late_reason = at, reason[:24]
        shipment.save(update_fields=["late_since", "late_reason"])
        rec = _Recorder(order, "aftercart")
        rec.touched = True
        rec.note(
            OrderEvent.Type.DELAYED,
            f"shipment:{shipment.external_id}:late",
            at,
            "shipment.delayed",
            {
                "reason": reason,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
            },
            shipment_id=shipment.pk,
        )
        rec.flush()
    return True


def record_refund(shop: Shop, order_external_id: str, data: RefundData, source: str) -> OrderChange:
    with transaction.atomic():
        order = _locked_order(shop, order_external_id, source, None)
        rec = _Recorder(order, source)
        _apply_refund(order, data, rec)
        _settle_statuses(order, rec, fulfilment_given=False)
        rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def lock_order(shop: Shop, order_id: int) -> Order:
    """The order row, locked until the caller's transaction ends (DoesNotExist if not the shop's)."""
    order = Order.objects.select_for_update().get(shop=shop, pk=order_id)
    order.shop = shop
    return order


def record_return_step(
    order: Order, type_: str, key: str, at: datetime, payload: dict, *, source: str
) -> bool:
    """A step in the life of a return, on the order's timeline; the same key twice: no-op.

    Called inside returns.services' transaction, which publishes its own return.* event."""
    rec = _Recorder(order, source)
    written = rec.note(type_, key, at, None, payload)
    rec.touched = written  # the status page shows the return: its kept copy is out of date
    rec.flush()
    return written


def record_cancellation(
    shop: Shop, order_external_id: str, *, cancelled_at: datetime | None, reason: str, source: str
) -> OrderChange:
    with transaction.atomic():
        order = _locked_order(shop, order_external_id, source, None)
        rec = _Recorder(order, source)
        if order.cancelled_at is None:
            order.cancelled_at = cancelled_at or timezone.now()
            order.cancel_reason = reason[:100]
            order.save(update_fields=["cancelled_at", "cancel_reason", "updated_at"])
            rec.note(
                OrderEvent.Type.CANCELLED,
                "cancelled",
                order.cancelled_at,
                "order.cancelled",
                {"reason": order.cancel_reason},
            )
            rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def record_delivery(
    shop: Shop, order_external_id: str, *, delivered_at: datetime | None, source: str
) -> OrderChange:
    """The whole order arrived: every shipment not yet delivered is marked delivered."""
    with transaction.atomic():
        order = _locked_order(shop, order_external_id, source, None)
        rec = _Recorder(order, source)
        shipments = list(order.shipments.all()) or [Shipment(external_id="delivery")]
        for shipment in shipments:
            if shipment.status != Shipment.Status.DELIVERED:
                _apply_shipment(
                    order,
                    ShipmentData(
                        external_id=shipment.external_id,
                        status=Shipment.Status.DELIVERED,
                        delivered_at=delivered_at or timezone.now(),
                    ),
                    rec,
                )
        _settle_statuses(order, rec, fulfilment_given=False)
        rec.flush()
    return OrderChange(order, applied=True, events=rec.written)


def _apply_fields(order: Order, data: OrderData) -> None:
    simple = (
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
        "discount_codes",
        "shipping_name",
        "shipping_address",
        "shipping_postcode",
        "shipping_city",
        "locale",
        "note",
        "tags",
    )
    for attr in simple:
        value = getattr(data, attr)
        if value is not None:
            setattr(order, attr, value)
    if data.email:
        order.email = data.email.strip().lower()
    if data.shipping_country:
        order.shipping_country = data.shipping_country.upper()[:2]
    if data.cancel_reason is not None:
        order.cancel_reason = data.cancel_reason[:100]
    if order.source in ("", "placeholder"):
        order.source = data.source


def _replace_lines(order: Order, lines: list[LineData], *, is_new: bool = False) -> None:
    if not is_new:
        wanted = [
            (ln.external_id, ln.sku[:100], ln.title[:255], ln.quantity, ln.unit_price, ln.discount)
            for ln in lines
        ]
        current = list(
            order.lines.values_list(
                "external_id", "sku", "title", "quantity", "unit_price", "discount"
            )
        )
        if wanted == current:
            return
        order.lines.all().delete()
    LineItem.objects.bulk_create(line_items(order, lines))


def line_items(order: Order, lines: list[LineData]) -> list[LineItem]:
    """Unsaved line rows for an order, linked to the shop's catalogue."""
    catalogue = _catalogue_ids(order.shop_id, lines)
    return [
        LineItem(
            order=order,
            external_id=ln.external_id,
            sku=ln.sku[:100],
            title=ln.title[:255],
            variant_title=ln.variant_title[:255],
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            discount=ln.discount,
            total=ln.unit_price * ln.quantity - ln.discount,
            product_id=catalogue.get(("p", ln.product_external_id)),
            variant_id=catalogue.get(("v", ln.variant_external_id)),
        )
        for ln in lines
    ]


# (shop id, "p"/"v", external id) -> primary key. Catalogue rows are created once and
# never deleted by the services, so a process may remember them; this spares two
# queries per line on the hot intake path.
_catalogue_cache: dict[tuple[int, str, str], int] = {}
CATALOGUE_CACHE_SIZE = 50_000


def _catalogue_ids(shop_id: int, lines: list[LineData]) -> dict[tuple[str, str], int]:
    """Product and variant ids for these lines, creating rows the shop does not have yet."""
    known: dict[tuple[int, str, str], int] = {}
    found: dict[tuple[str, str], int] = {}
    for ln in lines:
        if not ln.product_external_id:
            continue
        pkey = (shop_id, "p", ln.product_external_id)
        product_id = known.get(pkey) or _catalogue_cache.get(pkey)
        if product_id is None:
            product, _ = Product.objects.get_or_create(
                shop_id=shop_id,
                external_id=ln.product_external_id,
                defaults={"title": ln.title[:255], "category": ln.category[:120]},
            )
            product_id = product.pk
            _remember(pkey, product_id, known)
        found[("p", ln.product_external_id)] = product_id
        if not ln.variant_external_id:
            continue
        vkey = (shop_id, "v", ln.variant_external_id)
        variant_id = known.get(vkey) or _catalogue_cache.get(vkey)
        if variant_id is None:
            variant, _ = Variant.objects.get_or_create(
                shop_id=shop_id,
                external_id=ln.variant_external_id,
                defaults={
                    "product_id": product_id,
                    "sku": ln.sku[:100],
                    "title": ln.variant_title[:255],
                    "price": ln.unit_price,
                },
            )
            variant_id = variant.pk
            _remember(vkey, variant_id, known)
        found[("v", ln.variant_external_id)] = variant_id
    return found


def _remember(key: tuple[int, str, str], pk: int, found: dict) -> None:
    """Use the id now; keep it for later only once it is committed (a rollback undoes the row)."""
    found[key] = pk

    def keep() -> None:
        if len(_catalogue_cache) >= CATALOGUE_CACHE_SIZE:
            _catalogue_cache.clear()
        _catalogue_cache[key] = pk

    transaction.on_commit(keep)


def _apply_shipment(
    order: Order, data: ShipmentData, rec: _Recorder, *, scan_at: datetime | None = None
) -> Shipment:
    """Apply what the store (or, with `scan_at`, a carrier scan of that time) says."""
    shipment = Shipment.objects.filter(order=order, external_id=data.external_id).first()
    is_new = shipment is None
    if is_new:
        shipment = Shipment(shop_id=order.shop_id, order=order, external_id=data.external_id)
    elif (
        scan_at is None
        and data.updated_at
        and shipment.source_updated_at
        and data.updated_at < shipment.source_updated_at
    ):
        return shipment  # an older version of this shipment: nothing to learn from it
    previous = shipment.status
    previous_number, previous_carrier = shipment.tracking_number, shipment.carrier
    for attr in ("carrier", "tracking_number", "tracking_url", "items", "shipped_at"):
        value = getattr(data, attr)
        if value not in (None, ""):
            setattr(shipment, attr, value)
    if not shipment.tracking_url.lower().startswith(("https://", "http://")):
        shipment.tracking_url = ""  # a "javascript:" link must never reach a page or an email
    shipment.tracking_number = carriers.clean_number(shipment.tracking_number)[:100]
    if (
        is_new
        or not shipment.carrier_code
        or (shipment.carrier, shipment.tracking_number)
        != (
            previous_carrier,
            previous_number,
        )
    ):  # a scan or a status update names neither: nothing to look up again
        found = carriers.identify(
            shipment.carrier, shipment.tracking_number, order.shipping_country
        )
        shipment.carrier_code = found.code
        shipment.carrier = shipment.carrier or found.name
    status, status_at = data.status, data.updated_at
    if scan_at is not None:
        # A carrier scan: the newest scan wins, whatever the store's clock says.
        if shipment.tracking_status_at is None or scan_at > shipment.tracking_status_at:
            shipment.status = status or shipment.status
            shipment.tracking_status_at = scan_at
        status_at = scan_at
    else:
        if shipment.tracking_number and shipment.tracking_number != previous_number:
            # Scans that came (from a tracking service) before the store told us of the parcel.
            waiting = attach_waiting_scans(
                shipment, shipment.shipped_at or data.updated_at or timezone.now()
            )
            if waiting:
                shipment.status, shipment.tracking_status_at = waiting
                status_at = waiting[1]
        if status and status != shipment.status:
            forward = STATUS_RANK.get(status, 0) > STATUS_RANK.get(shipment.status, 0)
            newer = bool(
                data.updated_at
                and (
                    shipment.source_updated_at is None
                    or data.updated_at > shipment.source_updated_at
                )
            )
            if shipment.tracking_status_at is not None:
                # The carrier's scans lead: the store's word only moves the parcel forward.
                if forward:
                    shipment.status, status_at = status, data.updated_at
            elif is_new or newer or STATUS_RANK.get(status, 0) >= STATUS_RANK.get(previous, 0):
                shipment.status, status_at = status, data.updated_at
    if shipment.status == Shipment.Status.DELIVERED and not shipment.delivered_at:
        shipment.delivered_at = data.delivered_at or status_at or timezone.now()
    if shipment.shipped_at is None:
        shipment.shipped_at = data.updated_at or timezone.now()
    if data.updated_at and scan_at is None:
        shipment.source_updated_at = data.updated_at
    set_expected_window(order.shop, shipment, order)  # when it ships: its delivery window
    shipment.save()
    rec.touched = True

    ids = {"shipment_id": shipment.pk}
    info = {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}
    rec.note(
        OrderEvent.Type.SHIPPED,
        f"shipment:{shipment.external_id}:created",
        shipment.shipped_at,
        "shipment.created",
        info,
        **ids,
    )
    if shipment.status != previous and shipment.status not in ("pending",):
        # A status that came with the shipment itself happened when it shipped.
        status_time = status_at or (shipment.shipped_at if is_new else None) or timezone.now()
        is_delivered = shipment.status == Shipment.Status.DELIVERED
        names = ("shipment.delivered",) if is_delivered else ("shipment.updated",)
        if shipment.status in PUBLISHED:
            names += (f"shipment.{shipment.status}",)  # "shipment.out_for_delivery" for flows
        rec.note(
            OrderEvent.Type.DELIVERED if is_delivered else OrderEvent.Type.SHIPMENT_UPDATED,
            f"shipment:{shipment.external_id}:{shipment.status}",
            shipment.delivered_at if is_delivered else status_time,
            names,
            {"status": shipment.status, **info},
            **ids,
        )
    return shipment


def _apply_refund(order: Order, data: RefundData, rec: _Recorder) -> Refund:
    refund, created = Refund.objects.get_or_create(
        order=order,
        external_id=data.external_id,
        defaults={
            "shop_id": order.shop_id,
            "amount": data.amount,
            "currency": order.currency,
            "reason": data.reason[:255],
            "items": data.items,
            "refunded_at": data.refunded_at,
        },
    )
    if created:
        rec.note(
            OrderEvent.Type.REFUNDED,
            f"refund:{refund.external_id}",
            refund.refunded_at,
            "order.refunded",
            {"amount": str(refund.amount), "reason": refund.reason},
            refund_id=refund.pk,
        )
    return refund


def _settle_statuses(order: Order, rec: _Recorder, *, fulfilment_given: bool) -> None:
    """Derive what follows from shipments and refunds: refunded totals, delivered orders."""
    refunded = sum((r.amount for r in order.refunds.all()), Decimal("0.00"))
    changed = []
    if refunded != order.refunded:
        order.refunded = refunded
        changed.append("refunded")
        if order.total and refunded >= order.total:
            order.financial_status = Order.Financial.REFUNDED
        elif refunded > 0:
            order.financial_status = Order.Financial.PARTIALLY_REFUNDED
        changed.append("financial_status")
    shipments = list(order.shipments.all())
    if shipments:
        live = [s for s in shipments if s.status != Shipment.Status.CANCELLED]
        if live and all(s.status == Shipment.Status.DELIVERED for s in live):
            status = Order.Fulfilment.DELIVERED
        elif fulfilment_given and order.fulfilment_status != Order.Fulfilment.DELIVERED:
            status = order.fulfilment_status
        elif _shipped_everything(order, live):
            status = Order.Fulfilment.FULFILLED
        else:
            status = Order.Fulfilment.PARTIAL if live else order.fulfilment_status
        if status != order.fulfilment_status:
            if status == Order.Fulfilment.DELIVERED:
                publish(
                    "order.delivered",
                    order.shop_id,
                    order_id=order.pk,
                    customer_id=order.customer_id,
                )
            order.fulfilment_status = status
            changed.append("fulfilment_status")
    if changed:
        order.save(update_fields=[*changed, "updated_at"])


def _shipped_everything(order: Order, shipments: list[Shipment]) -> bool:
    if not shipments:
        return False
    if any(not s.items for s in shipments):
        return True  # a shipment that does not list its items is taken to hold them all
    shipped: dict[str, int] = {}
    for s in shipments:
        for item in s.items:
            shipped[str(item.get("line"))] = shipped.get(str(item.get("line")), 0) + int(
                item.get("quantity", 0)
            )
    return all(shipped.get(ln.external_id, 0) >= ln.quantity for ln in order.lines.all())
