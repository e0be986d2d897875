"""WooCommerce webhook payloads (REST API v3 order shape) mapped onto the order services."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aftercart.customers.services import CustomerData
from aftercart.integrations.fields import Reader
from aftercart.integrations.intake import Intake, UnknownTopic
from aftercart.orders import services as orders
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.tracking import statuses

SOURCE = "woocommerce"
# WooCommerce order status -> (financial status, fulfilment status or None, cancelled)
STATUS = {
    "pending": ("pending", None, False),
    "processing": ("paid", None, False),
    "on-hold": ("pending", None, False),
    "completed": ("paid", "fulfilled", False),
    "cancelled": (None, None, True),
    "refunded": ("refunded", None, False),
    "failed": ("failed", None, False),
    "checkout-draft": ("pending", None, False),
}


def parse(topic: str, payload: Any) -> Intake:
    r = Reader()
    data = r.obj(payload, "body")
    r.check()
    if topic in ("order.created", "order.updated", "order.restored"):
        order = map_order(data, r)
        r.check()
        return Intake(
            f"order:{order.external_id}",
            order.updated_at,
            lambda shop: orders.record_order(shop, order),
            order=order,
        )
    if topic == "order.deleted":
        order_id = r.ident(data, "id")
        r.check()
        return Intake(
            f"order:{order_id}",
            None,
            lambda shop: orders.record_cancellation(
                shop, order_id, cancelled_at=None, reason="deleted in store", source=SOURCE
            ),
        )
    raise UnknownTopic(topic)


def map_order(data: dict, r: Reader) -> OrderData:
    external_id = r.ident(data, "id")
    status = r.text(data, "status", required=True)
    if status is not None and status not in STATUS:
        r.fail("status", f"{status!r} is not a WooCommerce order status")
    financial, fulfilment, cancelled = STATUS.get(status or "", (None, None, False))
    # *_gmt fields are UTC without an offset; the plain ones are in the store's zone.
    updated_at = r.moment(data, "date_modified_gmt", naive_tz=UTC) or r.moment(
        data, "date_modified"
    )
    placed_at = r.moment(data, "date_created_gmt", naive_tz=UTC) or r.moment(
        data, "date_created", required=True
    )
    billing = r.obj(data.get("billing"), "billing", required=False)
    shipping = r.obj(data.get("shipping"), "shipping", required=False)
    email = r.text(billing, "email", "billing.")
    lines = [
        map_line(item, r, f"line_items[{i}].")
        for i, item in enumerate(r.items(data, "line_items", ""))
    ]
    subtotal = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
    customer = None
    if email:
        customer = CustomerData(
            email=email,
            external_id=str(data.get("customer_id") or "") if data.get("customer_id") else "",
            first_name=r.text(billing, "first_name", "billing."),
            last_name=r.text(billing, "last_name", "billing."),
            phone=r.text(billing, "phone", "billing."),
            country=(billing.get("country") or None),
        )
    address = shipping if shipping.get("address_1") or shipping.get("country") else billing
    refunds = []
    for i, refund in enumerate(r.items(data, "refunds", "")):
        amount = r.amount(refund, "total", f"refunds[{i}].")
        refunds.append(
            RefundData(
                external_id=r.ident(refund, "id", f"refunds[{i}]."),
                amount=abs(amount or Decimal("0.00")),
                refunded_at=updated_at or placed_at,
                reason=r.text(refund, "reason", f"refunds[{i}].") or "",
            )
        )
    return OrderData(
        external_id=external_id,
        source=SOURCE,
        number=r.text(data, "number"),
        email=email,
        customer=customer,
        currency=(r.text(data, "currency") or "").upper() or None,
        subtotal=subtotal,
        discounts=r.amount(data, "discount_total"),
        shipping=r.amount(data, "shipping_total"),
        tax=r.amount(data, "total_tax"),
        total=r.amount(data, "total", required=True),
        placed_at=placed_at,
        updated_at=updated_at,
        financial_status=financial,
        fulfilment_status=fulfilment,
        cancelled_at=(updated_at or placed_at) if cancelled else None,
        cancel_reason="cancelled in store" if cancelled else None,
        discount_codes=[
            str(c.get("code")) for c in r.items(data, "coupon_lines", "") if c.get("code")
        ],
        shipping_name=f"{address.get('first_name') or ''} {address.get('last_name') or ''}".strip()
        or None,
        shipping_address={
            k: address.get(k)
            for k in ("address_1", "address_2", "state", "company")
            if address.get(k)
        },
        shipping_country=(address.get("country") or "")[:2] or None,
        shipping_postcode=str(address.get("postcode") or "")[:20] or None,
        shipping_city=str(address.get("city") or "")[:100] or None,
        note=r.text(data, "customer_note"),
        lines=lines,
        refunds=refunds,
        shipments=map_tracking_items(data, r) or None,
    )


# Shipment tracking plugins (WooCommerce Shipment Tracking, Advanced Shipment Tracking)
# keep an order's parcels in this meta field; TrackShip adds their statuses alongside.
TRACKING_ITEMS = "_wc_shipment_tracking_items"
TRACKSHIP_STATUS = "shipment_status"


def _meta(data: dict, key: str) -> Any:
    for entry in data.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def map_tracking_items(data: dict, r: Reader) -> list[ShipmentData]:
    """The parcels a tracking plugin recorded on the order; [] when none is installed."""
    items = _meta(data, TRACKING_ITEMS)
    if not isinstance(items, list):
        return []
    tracked = _meta(data, TRACKSHIP_STATUS)
    tracked = tracked if isinstance(tracked, list) else []
    shipments = []
    for i, item in enumerate(items):
        path = f"meta_data.{TRACKING_ITEMS}[{i}]."
        if not isinstance(item, dict):
            r.fail(path.rstrip("."), "must be an object")
            continue
        number = str(item.get("tracking_number") or "").strip()
        if not number:
            continue
        shipped = _shipped_at(item.get("date_shipped"))
        raw = (
            tracked[i].get("status") if i < len(tracked) and isinstance(tracked[i], dict) else None
        )
        status = statuses.normalise("woocommerce", raw) or statuses.IN_TRANSIT
        shipments.append(
            ShipmentData(
                external_id=str(item.get("tracking_id") or number)[:100],
                status=status,
                carrier=str(
                    item.get("custom_tracking_provider") or item.get("tracking_provider") or ""
                )[:100]
                or None,
                tracking_number=number[:100],
                tracking_url=str(item.get("custom_tracking_link") or "")[:500] or None,
                shipped_at=shipped,
            )
        )
    return shipments


def _shipped_at(value: Any) -> datetime | None:
    """The plugins store the day shipped as a Unix time of its midnight UTC (a number or a
    string of one). Noon of that day keeps it the same day in every shop's time zone."""
    try:
        return datetime.fromtimestamp(int(value), tz=UTC) + timedelta(hours=12)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def map_line(item: dict, r: Reader, path: str) -> LineData:
    quantity = r.integer(item, "quantity", path, required=True) or 0
    subtotal = r.amount(item, "subtotal", path) or Decimal("0.00")  # before coupons
    total = r.amount(item, "total", path, required=True) or Decimal("0.00")  # after coupons
    price = (subtotal / quantity).quantize(Decimal("0.01")) if quantity else Decimal("0.00")
    return LineData(
        external_id=r.ident(item, "id", path, required=False),
        title=r.text(item, "name", path, required=True) or "",
        quantity=quantity,
        unit_price=price,
        discount=max(subtotal - total, Decimal("0.00")),
        sku=r.text(item, "sku", path) or "",
        product_external_id=r.ident(item, "product_id", path, required=False),
        variant_external_id=(
            r.ident(item, "variation_id", path, required=False)
            if item.get("variation_id") not in (0, "0", None)
            else ""
        ),
    )
