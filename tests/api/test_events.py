"""The generic event API and the read endpoints."""

import json

import pytest

from aftercart.integrations.models import Delivery
from aftercart.orders.models import Order

ORDER = {
    "id": "A-1001",
    "number": "1001",
    "customer": {
        "email": "Mia@Example.org",
        "first_name": "Mia",
        "accepts_marketing": True,
        "locale": "nl",
    },
    "currency": "EUR",
    "total": "54.90",
    "shipping": "4.95",
    "placed_at": "2026-11-01T10:00:00+01:00",
    "shipping_address": {
        "name": "Mia Bakker",
        "postcode": "2511 CV",
        "city": "Den Haag",
        "country": "NL",
    },
    "lines": [
        {
            "id": "l1",
            "title": "Espresso blend 1 kg",
            "sku": "ESP-1KG",
            "quantity": 1,
            "unit_price": "29.95",
        },
        {"id": "l2", "title": "Milk jug", "quantity": 1, "unit_price": "20.00", "category": "gear"},
    ],
}


@pytest.fixture
def send(client):
    def post(shop, body, *, key=None, idempotency_key=None, raw=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key or shop.api_key}"}
        if idempotency_key:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        data = raw if raw is not None else json.dumps(body)
        return client.post("/api/v1/events", data, content_type="application/json", **headers)

    return post


def test_order_lifecycle_through_the_api(shop, send, drain, client):
    events = [
        {"type": "order.placed", "data": ORDER},
        {
            "type": "shipment.created",
            "data": {
                "order_id": "A-1001",
                "id": "s1",
                "carrier": "DHL",
                "tracking_number": "JVGL0123",
                "status": "in_transit",
                "shipped_at": "2026-11-02T09:00:00+01:00",
            },
        },
        {
            "type": "order.delivered",
            "data": {"order_id": "A-1001", "delivered_at": "2026-11-03T12:00:00+01:00"},
        },
        {
            "type": "order.refunded",
            "data": {
                "order_id": "A-1001",
                "id": "r1",
                "amount": "20.00",
                "refunded_at": "2026-11-05T09:00:00+01:00",
                "reason": "Jug dented",
            },
        },
    ]
    for i, event in enumerate(events):
        response = send(shop, event, idempotency_key=f"k{i}")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "accepted"
    drain()
    response = client.get("/api/v1/orders/A-1001", HTTP_AUTHORIZATION=f"Bearer {shop.api_key}")
    assert response.status_code == 200
    order = response.json()
    assert order["number"] == "1001" and order["total"] == "54.90"
    assert order["fulfilment_status"] == "delivered"
    assert order["refunded"] == "20.00" and order["financial_status"] == "partially_refunded"
    assert [s["status"] for s in order["shipments"]] == ["delivered"]
    assert [e["type"] for e in order["events"]] == [
        "placed",
        "shipped",
        "shipment_updated",
        "delivered",
        "refunded",
    ]


def test_idempotency_key_drops_the_second_delivery(shop, send, drain):
    first = send(shop, {"type": "order.placed", "data": ORDER}, idempotency_key="same")
    second = send(shop, {"type": "order.placed", "data": ORDER}, idempotency_key="same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert Delivery.objects.count() == 1


def test_missing_or_wrong_key_is_401(shop, send, client):
    assert (
        send(shop, {"type": "order.placed", "data": ORDER}, key="ac_nope_nope").status_code == 401
    )
    assert client.post("/api/v1/events", "{}", content_type="application/json").status_code == 401
    assert not Delivery.objects.exists()


def test_malformed_json_is_400_with_the_parser_message(shop, send):
    response = send(shop, None, raw='{"type": "order.placed", "data": {')
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["error"]


def test_wrong_fields_are_422_naming_each(shop, send):
    bad = {**ORDER, "total": "many", "lines": [{"title": "x", "quantity": -1, "unit_price": "1"}]}
    del bad["placed_at"]
    response = send(shop, {"type": "order.placed", "data": bad})
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {"data.total", "data.placed_at", "data.lines.0.quantity"}
    response = send(shop, {"type": "order.teleported", "data": {}})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "type"
    assert not Delivery.objects.exists()


def test_shop_a_key_gets_nothing_of_shop_b(shop, other_shop, send, drain, client):
    send(other_shop, {"type": "order.placed", "data": ORDER})
    drain()
    assert Order.objects.get().shop == other_shop
    auth = {"HTTP_AUTHORIZATION": f"Bearer {shop.api_key}"}
    assert client.get("/api/v1/orders/A-1001", **auth).status_code == 404
    assert client.get("/api/v1/orders", **auth).json()["items"] == []
    assert client.get("/api/v1/customers", **auth).json()["items"] == []
    customer_id = Order.objects.get().customer_id
    assert client.get(f"/api/v1/customers/{customer_id}", **auth).status_code == 404
    # shop A's key posting an event cannot land in shop B: the key decides the shop.
    send(shop, {"type": "order.placed", "data": {**ORDER, "id": "A-2"}})
    drain()
    assert Order.objects.get(external_id="A-2").shop == shop


def test_lists_are_paginated_and_filterable(shop, send, drain, client):
    for n in range(60):
        order = {
            **ORDER,
            "id": f"B-{n}",
            "number": str(2000 + n),
            "customer": {**ORDER["customer"], "email": f"c{n}@example.org"},
        }
        send(shop, {"type": "order.placed" if n % 2 else "order.paid", "data": order})
    drain()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {shop.api_key}"}
    page1 = client.get("/api/v1/orders", **auth).json()
    assert page1["count"] == 60 and len(page1["items"]) == 50
    page2 = client.get("/api/v1/orders?page=2", **auth).json()
    assert len(page2["items"]) == 10
    paid = client.get("/api/v1/orders?financial_status=paid", **auth).json()
    assert paid["count"] == 30
    found = client.get("/api/v1/customers?q=c17@", **auth).json()
    assert [c["email"] for c in found["items"]] == ["c17@example.org"]


def test_openapi_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/events" in schema["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    # Served from our own static files: the docs work without internet access.
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content
    assert b"cdn." not in docs.content


def test_scans_for_a_tracking_number_through_the_api(shop, send, drain):
    send(shop, {"type": "order.placed", "data": ORDER})
    send(
        shop,
        {
            "type": "shipment.created",
            "data": {
                "order_id": "A-1001",
                "id": "s1",
                "tracking_number": "3SABCD1234567",
                "shipped_at": "2026-11-02T16:00:00+01:00",
            },
        },
    )
    scans = {
        "tracking_number": "3SABCD1234567",
        "checkpoints": [
            {"occurred_at": "2026-11-03T07:00:00+01:00", "status": "in_transit"},
            {
                "occurred_at": "2026-11-03T09:30:00+01:00",
                "status": "failed_attempt",
                "description": "Niemand thuis",
            },
        ],
    }
    assert send(shop, {"type": "tracking.updated", "data": scans}).status_code == 202
    drain()

    order = Order.objects.get(shop=shop, external_id="A-1001")
    shipment = order.shipments.get()
    assert (shipment.status, shipment.carrier) == ("failed_attempt", "PostNL")
    assert shipment.tracking_events.last().description == "Niemand thuis"

    wrong = {**scans, "checkpoints": [{"occurred_at": "soon", "status": "lost"}]}
    response = send(shop, {"type": "tracking.updated", "data": wrong})
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["problems"]} == {
        "data.checkpoints.0.occurred_at",
        "data.checkpoints.0.status",
    }


def test_a_developers_usual_words_for_a_status_are_understood(shop, send, drain):
    send(shop, {"type": "order.placed", "data": ORDER})
    send(
        shop,
        {
            "type": "shipment.created",
            "data": {"order_id": "A-1001", "id": "s1", "tracking_number": "3SABCD1234567"},
        },
    )
    body = {"tracking_number": "3SABCD1234567", "status": "attempted_delivery"}
    assert send(shop, {"type": "tracking.updated", "data": body}).status_code == 202
    drain()
    shipment = Order.objects.get(shop=shop, external_id="A-1001").shipments.get()
    assert shipment.status == "failed_attempt"
