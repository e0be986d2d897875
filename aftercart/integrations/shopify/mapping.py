"""Shopify webhook payloads (REST Admin API shapes) mapped onto the order services.

Field names follow Shopify's documented order, fulfillment, refund and customer
resources. Amounts arrive as strings ("199.00"); ids as large integers.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from aftercart.customers import services as customers
from aftercart.customers.services import CustomerData
from aftercart.integrations.fields import Reader
from aftercart.integrations.intake import Intake, UnknownTopic
from aftercart.orders import services as orders
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.tracking import statuses

SOURCE = "shopify"
ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited_full",
}
FINANCIAL = {
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "voided",
    "expired": "failed",
}
FULFILMENT = {
    None: "unfulfilled",
    "partial": "partial",
    "fulfilled": "fulfilled",
    "restocked": "unfulfilled",
}


def parse(topic: str, payload: Any) -> Intake:
    """Validate a Shopify webhook body for its topic; the Intake applies it later."""
    r = Reader()
    data = r.obj(payload, "body")
    r.check()
    if topic in ORDER_TOPICS:
        order = map_order(data, r)
        r.check()
        return Intake(
            f"order:{order.external_id}",
            order.updated_at,
            lambda shop: orders.record_order(shop, order),
            order=order,
        )
    if topic in ("fulfillments/create", "fulfillments/update"):
        order_id = r.ident(data, "order_id")
        shipment = map_fulfillment(data, r, "")
        r.check()
        return Intake(
            f"order:{order_id}",
            shipment.updated_at,
            lambda shop: orders.record_shipment(shop, order_id, shipment, SOURCE),
        )
    if topic == "refunds/create":
        order_id = r.ident(data, "order_id")
        refund = map_refund(data, r, "")
        r.check()
        return Intake(
            f"order:{order_id}",
            refund.refunded_at,
            lambda shop: orders.record_refund(shop, order_id, refund, SOURCE),
        )
    if topic in ("customers/create", "customers/update"):
        customer = map_customer(data, r, "")
        if customer is None:
            return Intake(f"customer:{data.get('id')}", None, None)  # no email: nothing to keep
        r.check()
        return Intake(
            f"customer:{customer.external_id}",
            customer.updated_at,
            lambda shop: customers.upsert_customer(shop, customer),
        )
    if topic in ("customers/data_request", "customers/redact"):
        person = r.obj(data.get("customer"), "customer")
        email = r.text(person, "email", "customer.") or ""
        r.check()
        act = (
            customers.answer_data_request
            if topic.endswith("data_request")
            else customers.redact_by_email
        )
        return Intake(
            f"customer:{person.get('id')}",
            None,
            lambda shop: act(shop, email, requested_by=f"shopify {topic}"),
        )
    if topic == "shop/redact":
        return Intake(
            "shop",
            None,
            lambda shop: customers.redact_shop(shop, requested_by="shopify shop/redact"),
        )
    raise UnknownTopic(topic)


def map_order(data: dict, r: Reader) -> OrderData:
    external_id = r.ident(data, "id")
    updated_at = r.moment(data, "updated_at")
    placed_at = r.moment(data, "created_at") or r.moment(data, "processed_at")
    lines = [
        map_line(item, r, f"line_items[{i}].")
        for i, item in enumerate(r.items(data, "line_items", ""))
    ]
    address = r.obj(data.get("shipping_address"), "shipping_address", required=False)
    shipping = _shipping_total(data, r)
    email = r.text(data, "email") or r.text(data, "contact_email")
    customer = map_customer(r.obj(data.get("customer"), "customer", required=False), r, "customer.")
    if customer is None and email:
        customer = CustomerData(email=email)
    if customer is not None:
        if not customer.email and email:
            customer.email = email
        if customer.accepts_marketing is None and isinstance(
            data.get("buyer_accepts_marketing"), bool
        ):
            customer.accepts_marketing = data["buyer_accepts_marketing"]
            customer.consent_source = "shopify checkout"
        customer.locale = customer.locale or _locale(r.text(data, "customer_locale"))
        customer.country = customer.country or address.get("country_code")
    financial = r.text(data, "financial_status")
    fulfilment = data.get("fulfillment_status")
    tags = r.text(data, "tags")
    return OrderData(
        external_id=external_id,
        source=SOURCE,
        number=r.text(data, "name") or r.text(data, "order_number"),
        email=email,
        customer=customer if customer and customer.email else None,
        currency=(r.text(data, "currency") or "").upper() or None,
        subtotal=r.amount(data, "subtotal_price"),
        discounts=r.amount(data, "total_discounts"),
        shipping=shipping,
        tax=r.amount(data, "total_tax"),
        total=r.amount(data, "total_price", required=True),
        placed_at=placed_at,
        updated_at=updated_at,
        financial_status=FINANCIAL.get(financial or "") if financial else None,
        fulfilment_status=FULFILMENT.get(fulfilment, "unfulfilled"),
        cancelled_at=r.moment(data, "cancelled_at"),
        cancel_reason=r.text(data, "cancel_reason"),
        discount_codes=[
            str(d.get("code", "")) for d in r.items(data, "discount_codes", "") if d.get("code")
        ],
        shipping_name=_name(address),
        shipping_address={
            k: address.get(k) for k in ("address1", "address2", "province") if address.get(k)
        },
        shipping_country=(address.get("country_code") or "")[:2] or None,
        shipping_postcode=str(address.get("zip") or "")[:20] or None,
        shipping_city=str(address.get("city") or "")[:100] or None,
        locale=_locale(r.text(data, "customer_locale")),
        note=r.text(data, "note"),
        tags=[t.strip() for t in tags.split(",") if t.strip()] if tags else [],
        lines=lines,
        shipments=[
            map_fulfillment(f, r, f"fulfillments[{i}].")
            for i, f in enumerate(r.items(data, "fulfillments", ""))
        ],
        refunds=[
            map_refund(f, r, f"refunds[{i}].") for i, f in enumerate(r.items(data, "refunds", ""))
        ],
    )


def map_line(item: dict, r: Reader, path: str) -> LineData:
    discount = r.amount(item, "total_discount", path) or Decimal("0.00")
    allocations = [a for a in item.get("discount_allocations") or [] if isinstance(a, dict)]
    if allocations and not discount:
        discount = sum(
            (
                r.amount(a, "amount", path + "discount_allocations[].") or Decimal(0)
                for a in allocations
            ),
            Decimal("0.00"),
        )
    return LineData(
        external_id=r.ident(item, "id", path, required=False),
        title=r.text(item, "title", path, required=True) or r.text(item, "name", path) or "",
        quantity=r.integer(item, "quantity", path, required=True, minimum=0) or 0,
        unit_price=r.amount(item, "price", path, required=True) or Decimal("0.00"),
        discount=discount,
        sku=r.text(item, "sku", path) or "",
        variant_title=r.text(item, "variant_title", path) or "",
        product_external_id=r.ident(item, "product_id", path, required=False),
        variant_external_id=r.ident(item, "variant_id", path, required=False),
        category=r.text(item, "product_type", path) or "",
    )


def map_fulfillment(data: dict, r: Reader, path: str) -> ShipmentData:
    numbers = data.get("tracking_numbers") or (
        [data["tracking_number"]] if data.get("tracking_number") else []
    )
    urls = data.get("tracking_urls") or ([data["tracking_url"]] if data.get("tracking_url") else [])
    shipment_status = r.text(data, "shipment_status", path)
    status = statuses.SHOPIFY.get(shipment_status or "") or statuses.SHOPIFY_FULFILMENT.get(
        r.text(data, "status", path) or ""
    )
    updated_at = r.moment(data, "updated_at", path)
    return ShipmentData(
        external_id=r.ident(data, "id", path),
        status=status,
        carrier=r.text(data, "tracking_company", path),
        tracking_number=str(numbers[0])[:100] if numbers else None,
        tracking_url=str(urls[0])[:500] if urls else None,
        items=[
            {"line": str(item.get("id")), "quantity": int(item.get("quantity") or 0)}
            for item in r.items(data, "line_items", path)
        ],
        shipped_at=r.moment(data, "created_at", path),
        delivered_at=updated_at if status == "delivered" else None,
        updated_at=updated_at,
    )


def map_refund(data: dict, r: Reader, path: str) -> RefundData:
    """The amount is what was paid back: the successful refund transactions, else the lines."""
    transactions = [
        t
        for t in r.items(data, "transactions", path)
        if t.get("kind") == "refund" and t.get("status", "success") == "success"
    ]
    if transactions:
        amount = sum(
            (r.amount(t, "amount", path + "transactions[].") or Decimal(0) for t in transactions),
            Decimal("0.00"),
        )
    else:
        amount = sum(
            (
                (r.amount(li, "subtotal", path + "refund_line_items[].") or Decimal(0))
                + (r.amount(li, "total_tax", path + "refund_line_items[].") or Decimal(0))
                for li in r.items(data, "refund_line_items", path)
            ),
            Decimal("0.00"),
        )
    return RefundData(
        external_id=r.ident(data, "id", path),
        amount=amount,
        refunded_at=r.moment(data, "processed_at", path)
        or r.moment(data, "created_at", path, required=True)
        or datetime.min,
        reason=r.text(data, "note", path) or "",
        items=[
            {"line": str(li.get("line_item_id")), "quantity": int(li.get("quantity") or 0)}
            for li in r.items(data, "refund_line_items", path)
        ],
    )


def map_customer(data: dict, r: Reader, path: str) -> CustomerData | None:
    if not data or not data.get("email"):
        return None
    consent = data.get("email_marketing_consent")
    accepts, consent_at = None, None
    if isinstance(consent, dict) and consent.get("state"):
        accepts = consent["state"] == "subscribed"
        consent_at = r.moment(consent, "consent_updated_at", path + "email_marketing_consent.")
    elif isinstance(data.get("accepts_marketing"), bool):  # before API 2022-04
        accepts = data["accepts_marketing"]
        consent_at = r.moment(data, "accepts_marketing_updated_at", path)
    address = data.get("default_address") if isinstance(data.get("default_address"), dict) else {}
    return CustomerData(
        email=r.text(data, "email", path) or "",
        external_id=r.ident(data, "id", path, required=False),
        first_name=r.text(data, "first_name", path),
        last_name=r.text(data, "last_name", path),
        phone=r.text(data, "phone", path),
        locale=_locale(r.text(data, "locale", path)),
        country=address.get("country_code"),
        accepts_marketing=accepts,
        consent_at=consent_at,
        consent_source="shopify",
        updated_at=r.moment(data, "updated_at", path),
    )


def _shipping_total(data: dict, r: Reader) -> Decimal | None:
    money = (
        (data.get("total_shipping_price_set") or {}).get("shop_money")
        if isinstance(data.get("total_shipping_price_set"), dict)
        else None
    )
    if isinstance(money, dict):
        return r.amount(money, "amount", "total_shipping_price_set.shop_money.")
    lines = r.items(data, "shipping_lines", "")
    if lines:
        return sum(
            (r.amount(s, "price", "shipping_lines[].") or Decimal(0) for s in lines),
            Decimal("0.00"),
        )
    return None


def _name(address: dict) -> str | None:
    if not address:
        return None
    return (
        address.get("name") or f"{address.get('first_name') or ''} {address.get('last_name') or ''}"
    ).strip()[:200]


def _locale(value: str | None) -> str | None:
    return value.split("-")[0].lower()[:10] if value else None
