import json

import pytest

from aftercart.orders.services import record_order
from tests.returns.conftest import order_data


@pytest.fixture
def api(client, shop):
    """Call the API with the shop's key (or another's), for a shop with order 1001."""
    record_order(shop, order_data())

    def call(method, path, body=None, key=None):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key or shop.api_key}"}
        if method == "get":
            return client.get(f"/api/v1{path}", **auth)
        return client.post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **auth
        )

    return call
