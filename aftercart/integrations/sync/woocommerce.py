"""WooCommerce orders changed since a time, from the REST API v3 (WooCommerce 5.8 or newer).

The list endpoint returns orders in the same shape as the order webhooks, so the webhook
mapping (woocommerce/mapping.py) maps them: same ids, same status rules.

Needs a REST API key with Read permission, over HTTPS (WooCommerce accepts HTTP basic
auth only over HTTPS).
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from aftercart.integrations.fields import Reader
from aftercart.integrations.intake import PayloadError
from aftercart.integrations.sync.client import StoreClient, SyncError
from aftercart.integrations.sync.fetched import Fetched
from aftercart.integrations.woocommerce import mapping

PATH = "/wp-json/wc/v3/orders"
PER_PAGE = 100  # the most WordPress allows


def fetch_orders(
    store_url: str, credentials: dict[str, str], since: datetime
) -> Iterator[list[Fetched]]:
    """Pages of the orders modified after `since`, oldest change first."""
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    with StoreClient(store_url, name="WooCommerce", auth=auth) as client:
        page, pages = 1, 1
        while page <= pages:
            response = client.request(
                "GET",
                PATH,
                params={
                    # With dates_are_gmt the bound is compared with the orders' UTC
                    # modification time, not the store's local one.
                    "modified_after": f"{since.astimezone(UTC):%Y-%m-%dT%H:%M:%S}",
                    "dates_are_gmt": "true",
                    "orderby": "modified",
                    "order": "asc",
                    "status": "any",
                    "per_page": PER_PAGE,
                    "page": page,
                },
            )
            body = client.json(response)
            if not isinstance(body, list):
                raise SyncError(
                    f"WooCommerce at {client.base_url} answered {PATH} with something other than "
                    "a list of orders"
                )
            try:
                pages = int(response.headers.get("X-WP-TotalPages") or page)
            except ValueError:
                pages = page
            yield [to_fetched(order) for order in body]
            if not body:
                return
            page += 1


def to_fetched(payload: object) -> Fetched:
    data = payload if isinstance(payload, dict) else {}
    ref = f"#{data.get('number') or data.get('id') or '?'}"
    r = Reader()
    try:
        order = mapping.map_order(r.obj(payload, "order"), r)
        r.check()
    except (PayloadError, ValueError, TypeError) as exc:
        return Fetched(ref, error=str(exc))
    return Fetched(ref, order=order)
