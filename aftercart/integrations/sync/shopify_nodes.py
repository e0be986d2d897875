"""Shopify GraphQL order nodes rewritten in the REST order resource's names.

The webhook mapping (shopify/mapping.py) reads the REST shape; giving it the same shape
makes a synced order and a webhook for the same version produce the same OrderData:
the same numeric ids (gid://shopify/Order/123 -> "123"), statuses, consent and totals.
One set of rules, two transports.
"""

import re
from typing import Any

from aftercart.integrations.fields import Reader
from aftercart.integrations.intake import PayloadError
from aftercart.integrations.shopify import mapping
from aftercart.integrations.sync.fetched import Fetched


def to_fetched(node: dict) -> Fetched:
    ref = str(node.get("name") or numeric_id(node.get("id")) or "?")
    try:
        rest, unknown_items = to_rest(node)
        r = Reader()
        order = mapping.map_order(rest, r)
        r.check()
    except (PayloadError, ValueError, TypeError) as exc:
        return Fetched(ref, error=str(exc))
    for shipment in order.shipments or []:
        if shipment.external_id in unknown_items:
            shipment.items = None  # not all fetched: keep what a webhook may have stored
    return Fetched(ref, order=order)


def to_rest(node: dict) -> tuple[dict, set[str]]:
    """The order node in the REST resource's names (the webhook body), and the fulfillments
    whose items were not all fetched."""
    address = obj(node.get("shippingAddress"))
    customer = obj(node.get("customer"))
    unknown_items: set[str] = set()
    fulfillments = []
    for f in objs(node.get("fulfillments")):
        tracking = objs(f.get("trackingInfo"))
        rest = {
            "id": numeric_id(f.get("id")),
            "status": _lower(f.get("status")),
            # The REST shipment_status values are the display statuses, lower-cased.
            "shipment_status": _lower(f.get("displayStatus")),
            "created_at": f.get("createdAt"),
            "updated_at": f.get("updatedAt"),
            "tracking_company": next((t["company"] for t in tracking if t.get("company")), None),
            "tracking_numbers": [t["number"] for t in tracking if t.get("number")],
            "tracking_urls": [t["url"] for t in tracking if t.get("url")],
            "line_items": _items(f.get("fulfillmentLineItems"), "id"),
        }
        if obj(obj(f.get("fulfillmentLineItems")).get("pageInfo")).get("hasNextPage"):
            unknown_items.add(str(rest["id"]))
        fulfillments.append(rest)
    refunds = []
    for refund in objs(node.get("refunds")):
        items = refund.get("refundLineItems")
        truncated = obj(obj(items).get("pageInfo")).get("hasNextPage")
        refunds.append(
            {
                "id": numeric_id(refund.get("id")),
                "created_at": refund.get("createdAt"),
                "note": refund.get("note"),
                # What was paid back, as the webhook's refund transactions sum it.
                "transactions": [
                    {
                        "kind": "refund",
                        "status": "success",
                        "amount": _money(refund, "totalRefundedSet"),
                    }
                ],
                "refund_line_items": [] if truncated else _items(items, "line_item_id"),
            }
        )
    consent = obj(customer.get("emailMarketingConsent"))
    shipping = _money(node, "totalShippingPriceSet")
    rest_order = {
        "id": numeric_id(node.get("id")),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus")),
        "currency": node.get("currencyCode"),
        "customer_locale": node.get("customerLocale"),
        "note": node.get("note"),
        "tags": ", ".join(_strings(node.get("tags"))),
        "buyer_accepts_marketing": node.get("customerAcceptsMarketing"),
        "discount_codes": [{"code": c} for c in _strings(node.get("discountCodes"))],
        "subtotal_price": _money(node, "subtotalPriceSet"),
        "total_price": _money(node, "totalPriceSet"),
        "total_tax": _money(node, "totalTaxSet"),
        "total_discounts": _money(node, "totalDiscountsSet"),
        "total_shipping_price_set": {"shop_money": {"amount": shipping}} if shipping else None,
        "shipping_address": {
            "name": address.get("name"),
            "first_name": address.get("firstName"),
            "last_name": address.get("lastName"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "province": address.get("province"),
            "city": address.get("city"),
            "zip": address.get("zip"),
            "country_code": address.get("countryCodeV2"),
        }
        if address
        else None,
        "customer": {
            "id": numeric_id(customer.get("id")),
            "email": customer.get("email"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
            "phone": customer.get("phone"),
            "locale": customer.get("locale"),
            "updated_at": customer.get("updatedAt"),
            "email_marketing_consent": {
                "state": _lower(consent.get("marketingState")),
                "consent_updated_at": consent.get("consentUpdatedAt"),
            }
            if consent
            else None,
            "default_address": {
                "country_code": obj(customer.get("defaultAddress")).get("countryCodeV2")
            },
        }
        if customer
        else None,
        "line_items": [_line(item) for item in objs(obj(node.get("lineItems")).get("nodes"))],
        "fulfillments": fulfillments,
        "refunds": refunds,
    }
    return rest_order, unknown_items


# displayFulfillmentStatus -> the REST fulfillment_status the webhook mapping reads.
FULFILLMENT_STATUS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


def _line(item: dict) -> dict:
    product = obj(item.get("product"))
    return {
        "id": numeric_id(item.get("id")),
        "title": item.get("title"),
        "name": item.get("name"),
        "sku": item.get("sku"),
        "quantity": item.get("quantity"),
        "variant_title": item.get("variantTitle"),
        "price": _money(item, "originalUnitPriceSet"),
        "discount_allocations": [
            {"amount": _money(a, "allocatedAmountSet")}
            for a in objs(item.get("discountAllocations"))
        ],
        "product_id": numeric_id(product.get("id")),
        "variant_id": numeric_id(obj(item.get("variant")).get("id")),
        "product_type": product.get("productType"),
    }


def _items(connection: Any, key: str) -> list[dict]:
    return [
        {key: numeric_id(obj(n.get("lineItem")).get("id")), "quantity": n.get("quantity")}
        for n in objs(obj(connection).get("nodes"))
    ]


GID = re.compile(r"^gid://shopify/[A-Za-z]+/(\d+)")


def numeric_id(gid: Any) -> str | None:
    """gid://shopify/Order/820982911946154508 -> "820982911946154508", the id webhooks carry."""
    if gid is None:
        return None
    match = GID.match(str(gid))
    return match.group(1) if match else str(gid)


def _money(node: dict, key: str) -> str | None:
    return obj(obj(node.get(key)).get("shopMoney")).get("amount")


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def obj(value: Any) -> dict:
    """The value if it is a JSON object, else {} (a node may lack what we asked for)."""
    return value if isinstance(value, dict) else {}


def objs(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
