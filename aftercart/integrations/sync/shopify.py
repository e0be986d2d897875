"""Shopify orders changed since a time, from the GraphQL Admin API (REST is legacy).

Pages follow the orders connection's cursor, sorted by UPDATED_AT; each order node is
mapped by shopify_nodes through the webhook mapping, so synced and pushed orders match.

Access scopes: read_orders (orders, lines, fulfillments, refunds), read_customers (the
customer and their marketing consent); read_all_orders for orders older than 60 days.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from aftercart.integrations.sync.client import MAX_ATTEMPTS, StoreClient, SyncError
from aftercart.integrations.sync.fetched import Fetched
from aftercart.integrations.sync.shopify_nodes import obj, objs, to_fetched

API_VERSION = "2025-01"
PATH = f"/admin/api/{API_VERSION}/graphql.json"
# Orders per page. The nested connections below make each order cost a few hundred
# points of the 1,000 a single query may request; a MAX_COST_EXCEEDED answer shrinks
# the page to what fits (see fetch_orders).
PAGE_SIZE = 5
LINES_PER_ORDER = 25  # more lines are fetched per order with LINES_QUERY
LINES_PER_PAGE = 100

MONEY = "shopMoney { amount }"
LINE_FIELDS = f"""
fragment LineFields on LineItem {{
  id title name sku quantity variantTitle
  originalUnitPriceSet {{ {MONEY} }}
  discountAllocations {{ allocatedAmountSet {{ {MONEY} }} }}
  variant {{ id }}
  product {{ id productType }}
}}
"""
ORDERS_QUERY = (
    """
query AftercartSyncOrders($first: Int!, $after: String, $search: String!) {
  orders(first: $first, after: $after, query: $search, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt processedAt updatedAt cancelledAt cancelReason
      displayFinancialStatus displayFulfillmentStatus currencyCode customerLocale
      note tags discountCodes customerAcceptsMarketing
      subtotalPriceSet { MONEY }
      totalPriceSet { MONEY }
      totalTaxSet { MONEY }
      totalDiscountsSet { MONEY }
      totalShippingPriceSet { MONEY }
      shippingAddress { name firstName lastName address1 address2 city province zip countryCodeV2 }
      customer {
        id email firstName lastName phone locale updatedAt
        emailMarketingConsent { marketingState consentUpdatedAt }
        defaultAddress { countryCodeV2 }
      }
      lineItems(first: LINES_PER_ORDER) {
        pageInfo { hasNextPage endCursor }
        nodes { ...LineFields }
      }
      fulfillments(first: 5) {
        id status displayStatus createdAt updatedAt
        trackingInfo(first: 1) { company number url }
        fulfillmentLineItems(first: 20) {
          pageInfo { hasNextPage }
          nodes { quantity lineItem { id } }
        }
      }
      refunds(first: 5) {
        id createdAt note
        totalRefundedSet { MONEY }
        refundLineItems(first: 20) {
          pageInfo { hasNextPage }
          nodes { quantity lineItem { id } }
        }
      }
    }
  }
}
""".replace("LINES_PER_ORDER", str(LINES_PER_ORDER)).replace("MONEY", MONEY)
    + LINE_FIELDS
)
LINES_QUERY = (
    """
query AftercartSyncOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: LINES_PER_PAGE, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineFields }
    }
  }
}
""".replace("LINES_PER_PAGE", str(LINES_PER_PAGE))
    + LINE_FIELDS
)


class CostTooHigh(SyncError):
    def __init__(self, cost: float, limit: float):
        self.cost, self.limit = cost, limit
        super().__init__(f"Shopify refused a query costing {cost:g} points (limit {limit:g})")


class GraphQL:
    """Runs queries, waiting out Shopify's cost throttle; any other GraphQL error stops the sync."""

    def __init__(self, client: StoreClient):
        self.client = client

    def run(self, query: str, variables: dict[str, Any]) -> dict:
        for _ in range(MAX_ATTEMPTS):
            response = self.client.request(
                "POST", PATH, json={"query": query, "variables": variables}
            )
            body = self.client.json(response)
            if not isinstance(body, dict):
                raise SyncError(
                    "Shopify answered the GraphQL query with something other than an object"
                )
            cost = obj(obj(body.get("extensions")).get("cost"))
            errors = body.get("errors")
            if errors:
                errors = (
                    [obj(e) for e in errors] if isinstance(errors, list) else [{"message": errors}]
                )
                by_code = {obj(e.get("extensions")).get("code"): e for e in errors}
                if "THROTTLED" in by_code:
                    self.client.wait(
                        _refill_seconds(cost, minimum=1.0), "Shopify throttled the query"
                    )
                    continue
                if "MAX_COST_EXCEEDED" in by_code:
                    ext = obj(by_code["MAX_COST_EXCEEDED"].get("extensions"))
                    raise CostTooHigh(
                        float(ext.get("cost") or 0), float(ext.get("maxCost") or 1000)
                    )
                # ACCESS_DENIED (a missing scope) and the like: the data would be incomplete,
                # so stop and say what Shopify said.
                messages = "; ".join(str(e.get("message") or e) for e in errors)
                raise SyncError(f"Shopify answered with errors: {' '.join(messages.split())[:400]}")
            data = body.get("data")
            if not isinstance(data, dict):
                raise SyncError("Shopify answered the GraphQL query without data")
            # Stay ahead of the throttle: let the bucket refill before the next query.
            if _refill_seconds(cost) > 0:
                self.client.wait(_refill_seconds(cost), "letting Shopify's query budget refill")
            return data
        raise SyncError(f"Shopify still throttled the query after {MAX_ATTEMPTS} attempts")


def fetch_orders(
    store_url: str, credentials: dict[str, str], since: datetime
) -> Iterator[list[Fetched]]:
    """Pages of the orders updated at or after `since`, oldest change first."""
    headers = {"X-Shopify-Access-Token": credentials["access_token"]}
    with StoreClient(store_url, name="Shopify", headers=headers) as client:
        api = GraphQL(client)
        search = f"updated_at:>='{since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}'"
        first, cursor = PAGE_SIZE, None
        while True:
            try:
                data = api.run(ORDERS_QUERY, {"first": first, "after": cursor, "search": search})
            except CostTooHigh as exc:
                if first == 1:
                    raise
                first = max(1, min(first - 1, int(first * exc.limit // max(exc.cost, 1))))
                continue
            orders = obj(data.get("orders"))
            nodes = [n for n in orders.get("nodes") or [] if isinstance(n, dict)]
            for node in nodes:
                _complete_lines(api, node)
            yield [to_fetched(node) for node in nodes]
            info = obj(orders.get("pageInfo"))
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            cursor = info["endCursor"]


def _complete_lines(api: GraphQL, node: dict) -> None:
    """An order with more lines than the page query asks for gets the rest, page by page.

    A partial list would be applied as the order's whole contents.
    """
    lines = obj(node.get("lineItems"))
    nodes, info = objs(lines.get("nodes")), obj(lines.get("pageInfo"))
    while info.get("hasNextPage") and info.get("endCursor"):
        data = api.run(LINES_QUERY, {"id": node.get("id"), "after": info["endCursor"]})
        more = obj(obj(data.get("order")).get("lineItems"))
        nodes.extend(objs(more.get("nodes")))
        info = obj(more.get("pageInfo"))
    node["lineItems"] = {"nodes": nodes}


def _refill_seconds(cost: dict, minimum: float = 0.0) -> float:
    """How long until the bucket holds what the last query asked for (Shopify's extensions.cost)."""
    status = obj(cost.get("throttleStatus"))
    try:
        wanted = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable", wanted))
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return minimum
    if rate <= 0 or available >= wanted:
        return minimum
    return max((wanted - available) / rate, minimum)
