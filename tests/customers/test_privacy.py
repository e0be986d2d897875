"""A customer's data: exported as one document, erased everywhere, every erasure recorded."""

import json

from aftercart.customers.models import Customer, DataRequest, ErasureRecord
from aftercart.customers.services import erase_customer, export_customer
from aftercart.integrations.models import Delivery
from aftercart.orders.models import Order
from tests.conftest import load

ORDER = load("shopify/orders_create.json")


def test_export_holds_what_every_app_keeps(shop, shopify, drain):
    shopify(shop, "orders/create", ORDER, event_id="o1")
    drain()
    customer = Customer.objects.get(email="jon@example.com")
    document = export_customer(customer)
    json.dumps(document)  # one JSON document
    assert document["data"]["customer"]["email"] == "jon@example.com"
    assert document["data"]["customer"]["accepts_marketing"] is True
    [order] = document["data"]["orders"]
    assert order["number"] == "#1001" and order["shipping_postcode"] == "1016 GV"
    assert {i["title"] for i in order["items"]} >= {"Hand grinder"}
    assert document["data"]["deliveries"]["deliveries_held"] == 1


def test_erase_removes_personal_data_but_keeps_the_books(shop, shopify, drain):
    shopify(shop, "orders/create", ORDER, event_id="o1")
    drain()
    customer = Customer.objects.get(email="jon@example.com")
    record = erase_customer(customer, requested_by="support@roastery")

    customer.refresh_from_db()
    assert customer.email.startswith("erased-") and customer.email.endswith("@invalid.example")
    assert (customer.first_name, customer.last_name, customer.phone) == ("", "", "")
    assert customer.accepts_marketing is False and customer.erased_at is not None
    order = Order.objects.get()
    assert (order.email, order.shipping_name, order.shipping_postcode, order.shipping_address) == (
        "",
        "",
        "",
        {},
    )
    assert str(order.total) == "133.18" and order.lines.count() == 3  # kept for the books
    assert "jon@example.com" not in Delivery.objects.get().body
    assert all(e.payload == {} for e in order.events.all())
    assert ErasureRecord.objects.get() == record
    assert record.requested_by == "support@roastery"
    assert "jon" not in json.dumps(record.summary).lower()


def test_shopify_privacy_webhooks(shop, shopify, drain):
    shopify(shop, "orders/create", ORDER, event_id="o1")
    request = {
        "shop_id": 954889,
        "shop_domain": "roastery.myshopify.com",
        "orders_requested": [820982911946154508],
        "customer": {"id": 115310627314723954, "email": "jon@example.com", "phone": "+31612345678"},
        "data_request": {"id": 9999},
    }
    assert shopify(shop, "customers/data_request", request, event_id="p1").status_code == 200
    drain()
    answer = DataRequest.objects.get()
    assert answer.document["data"]["customer"]["email"] == "jon@example.com"

    redact = {**request, "orders_to_redact": [820982911946154508]}
    del redact["data_request"]
    assert shopify(shop, "customers/redact", redact, event_id="p2").status_code == 200
    drain()
    assert not Customer.objects.filter(email="jon@example.com").exists()
    assert ErasureRecord.objects.get().requested_by == "shopify customers/redact"

    assert (
        shopify(
            shop,
            "shop/redact",
            {"shop_id": 954889, "shop_domain": "roastery.myshopify.com"},
            event_id="p3",
        ).status_code
        == 200
    )
    drain()
    assert Delivery.objects.filter(status="failed").count() == 0
