"""Refunds sent to the store: Shopify's refund API and WooCommerce's order refunds.

Each refund carries a marker in its note ("Aftercart return R1001-1, settlement 7"). A
refund is money: when a call to create one fails in a way that leaves us not knowing
whether the store made it (a 5xx, a timeout), the store's refunds of the order are read
for the marker before asking again, so a retry never refunds twice. A 429 (asked to
slow down) was not acted on, and is simply waited out and sent again.

Shopify (REST Admin API, orders/{id}/refunds): `calculate` first, which says which of the
order's payments the money goes back to (the transactions, with their parent_id and
gateway); then `refunds.json` with those transactions set to our amount and kind
"refund". Shopify sends no email of its own (notify: false): the customer hears from us.

WooCommerce (REST API v3, orders/{id}/refunds): the amount, the reason and the lines, with
api_refund so the payment gateway pays it back.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from aftercart.integrations.sync.client import (
    MAX_ATTEMPTS,
    StoreClient,
    SyncError,
    check_status,
    retry_after,
)

SHOPIFY_API = "/admin/api/2025-01"
WOO_API = "/wp-json/wc/v3"


class RefundRefused(SyncError):
    """The store said no (4xx other than 429): sending it again would not help."""


@dataclass(frozen=True)
class RefundOrder:
    """What a store needs to refund part of an order."""

    order_id: str  # the store's
    amount: Decimal
    currency: str
    items: list[dict]  # [{"line": the store's line id, "quantity": n}]
    marker: str  # in the note: how a refund we made is known again
    note: str


def _post_once(client: StoreClient, path: str, body: dict) -> httpx.Response | None:
    """POST that is never repeated blindly: a 429 is waited out and sent again (the store
    did nothing); a 5xx or no answer gives None (the caller looks before trying again)."""
    for _attempt in range(MAX_ATTEMPTS):
        response = client.send_once("POST", path, json=body)
        if response is None or response.status_code >= 500:
            return None
        if response.status_code == 429:
            client.wait(retry_after(response.headers.get("Retry-After")) or 2.0, "HTTP 429")
            continue
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403):
            raise RefundRefused(
                f"{client.name} refused the refund (HTTP {response.status_code}): "
                + _detail(response)
            )
        check_status(client, response)
        return response
    raise SyncError(f"{client.name} kept answering 429 after {MAX_ATTEMPTS} attempts")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    errors = body.get("errors") or body.get("message") or body if isinstance(body, dict) else body
    return " ".join(str(errors).split())[:300]


def _create_looking_first(client, create, find) -> str:
    """Create the refund; when we cannot tell whether it was made, look, then try again."""
    for attempt in range(MAX_ATTEMPTS):
        found = find()
        if found:
            return found
        made = create()
        if made:
            return made
        client.wait(2.0**attempt, "no clear answer to the refund; looking before trying again")
    found = find()
    if found:
        return found
    raise SyncError(f"{client.name} gave no clear answer to the refund; it will be tried later")


# Shopify ------------------------------------------------------------------------------


def shopify_refund(client: StoreClient, refund: RefundOrder) -> str:
    """The Shopify refund's id."""
    base = f"{SHOPIFY_API}/orders/{refund.order_id}/refunds"
    lines = [
        {"line_item_id": int(item["line"]), "quantity": item["quantity"], "restock_type": "return"}
        for item in refund.items
        if str(item["line"]).isdigit()
    ]

    def find() -> str:
        listed = client.json(client.request("GET", f"{base}.json"))
        for made in listed.get("refunds", []):
            if refund.marker in (made.get("note") or ""):
                return str(made["id"])
        return ""

    def create() -> str:
        calculated = client.json(
            client.request(
                "POST",
                f"{base}/calculate.json",
                json={"refund": {"currency": refund.currency, "refund_line_items": lines}},
            )
        )["refund"]
        transactions = _share(refund.amount, calculated.get("transactions", []), client)
        response = _post_once(
            client,
            f"{base}.json",
            {
                "refund": {
                    "currency": refund.currency,
                    "notify": False,
                    "note": refund.note,
                    "refund_line_items": calculated.get("refund_line_items", lines),
                    "transactions": transactions,
                }
            },
        )
        return "" if response is None else str(client.json(response)["refund"]["id"])

    return _create_looking_first(client, create, find)


def _share(amount: Decimal, suggested: list[dict[str, Any]], client) -> list[dict]:
    """Our amount spread over the payments Shopify suggests, each up to what it can take."""
    left, transactions = amount, []
    for transaction in suggested:
        if left <= 0:
            break
        most = Decimal(str(transaction.get("maximum_refundable") or transaction.get("amount")))
        part = min(left, most)
        transactions.append(
            {
                "parent_id": transaction["parent_id"],
                "amount": f"{part:.2f}",
                "kind": "refund",
                "gateway": transaction["gateway"],
            }
        )
        left -= part
    if left > 0:
        raise RefundRefused(
            f"{client.name} can refund {amount - left:.2f} of this order's payments, "
            f"not {amount:.2f}"
        )
    return transactions


# WooCommerce ---------------------------------------------------------------------------


def woocommerce_refund(client: StoreClient, refund: RefundOrder) -> str:
    """The WooCommerce refund's id."""
    base = f"{WOO_API}/orders/{refund.order_id}/refunds"

    def find() -> str:
        for made in client.json(client.request("GET", base, params={"per_page": 100})):
            if refund.marker in (made.get("reason") or ""):
                return str(made["id"])
        return ""

    def create() -> str:
        body = {
            "amount": f"{refund.amount:.2f}",
            "reason": refund.note,
            "api_refund": True,
            "api_restock": True,
            "line_items": [
                {"id": int(item["line"]), "quantity": item["quantity"]}
                for item in refund.items
                if str(item["line"]).isdigit()
            ],
        }
        response = _post_once(client, base, body)
        return "" if response is None else str(client.json(response)["id"])

    return _create_looking_first(client, create, find)


# Exchanges: an order for what she wants instead, at no charge (Shopify draft orders) -----


@dataclass(frozen=True)
class ExchangeOrder:
    order_id: str  # the store's id of the order she returned from
    items: list[dict]  # [{"variant": the store's variant id, "quantity": n}]
    email: str
    customer_id: str  # the store's customer id, if known
    shipping_address: dict
    marker: str
    note: str
    draft_id: str = ""  # made by an earlier try
    remember: Callable[[str], None] = lambda draft_id: None  # keeps a draft's id at once


DRAFT_PAGES = 40  # 10,000 draft orders looked through for ours, at the most


def shopify_exchange(client: StoreClient, exchange: ExchangeOrder) -> str:
    """The new order's id: a draft order of the variants she chose, discounted in full,
    completed without payment (it is paid by what she sent back)."""
    base = f"{SHOPIFY_API}/draft_orders"

    def find() -> str:
        if exchange.draft_id:  # made by an earlier try: finish that one
            draft = client.json(client.request("GET", f"{base}/{exchange.draft_id}.json"))
            return _completed(client, base, draft["draft_order"])
        since = 0  # oldest first: every page, not only the first 250
        for _page in range(DRAFT_PAGES):
            listed = client.json(
                client.request("GET", f"{base}.json", params={"limit": 250, "since_id": since})
            ).get("draft_orders", [])
            for draft in listed:
                if exchange.marker in (draft.get("note") or ""):
                    exchange.remember(str(draft["id"]))
                    return _completed(client, base, draft)
            if len(listed) < 250:
                return ""
            since = listed[-1]["id"]
        return ""

    def create() -> str:
        body = {
            "draft_order": {
                "line_items": [
                    {"variant_id": int(item["variant"]), "quantity": item["quantity"]}
                    for item in exchange.items
                ],
                "email": exchange.email,
                "shipping_address": exchange.shipping_address,
                "applied_discount": {
                    "title": exchange.note[:255],
                    "value_type": "percentage",
                    "value": "100.0",
                },
                "note": exchange.note,
                "tags": "aftercart-exchange",
                "use_customer_default_address": not exchange.shipping_address,
            }
        }
        if exchange.customer_id.isdigit():
            body["draft_order"]["customer"] = {"id": int(exchange.customer_id)}
        response = _post_once(client, f"{base}.json", body)
        if response is None:
            return ""
        draft = client.json(response)["draft_order"]
        exchange.remember(str(draft["id"]))
        return _completed(client, base, draft)

    return _create_looking_first(client, create, find)


def _completed(client: StoreClient, base: str, draft: dict) -> str:
    """Complete a draft (once; one completed already has its order) and give the order id."""
    if draft.get("order_id"):
        return str(draft["order_id"])
    response = client.request(
        "PUT", f"{base}/{draft['id']}/complete.json", params={"payment_pending": "false"}
    )
    order_id = client.json(response)["draft_order"].get("order_id")
    if not order_id:
        raise SyncError(f"{client.name} completed draft order {draft['id']} without an order")
    return str(order_id)
