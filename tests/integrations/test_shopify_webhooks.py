"""Shopify webhooks, with payloads shaped as Shopify documents them."""

import copy
from decimal import Decimal

import pytest

from aftercart.integrations.models import Delivery
from aftercart.orders.models import Order, OrderEvent
from tests.conftest import load

ORDER = load("shopify/orders_create.json")
FULFILMENT = load("shopify/fulfillments_create.json")
REFUND = load("shopify/refunds_create.json")


def timeline(order: Order) -> list[str]:
    return list(order.events.order_by("occurred_at", "id").values_list("external_id", flat=True))


def test_order_with_lines_and_discount_code_becomes_one_order(shop, shopify, drain):
    response = shopify(shop, "orders/create", ORDER, event_id="evt-1")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "accepted"}
    # Answered before applying: the delivery waits for the worker.
    assert Delivery.objects.get().status == "pending"
    assert not Order.objects.exists()

    drain()
    order = Order.objects.get(shop=shop)
    assert order.number == "#1001"
    assert order.total == Decimal("133.18")
    assert order.discounts == Decimal("13.20")
    assert order.shipping == Decimal("4.95")
    assert order.tax == Decimal("23.11")
    assert order.discount_codes == ["WELCOME10"]
    assert order.financial_status == "paid"
    assert (order.shipping_country, order.shipping_postcode, order.shipping_city) == (
        "NL",
        "1016 GV",
        "Amsterdam",
    )
    assert order.locale == "nl"
    lines = list(order.lines.values_list("sku", "quantity", "unit_price", "discount", "total"))
    assert lines == [
        ("COF-ETH-500", 2, Decimal("18.50"), Decimal("3.70"), Decimal("33.30")),
        ("GRD-HAND-STL", 1, Decimal("89.00"), Decimal("8.90"), Decimal("80.10")),
        ("FLT-V60-100", 1, Decimal("6.00"), Decimal("0.60"), Decimal("5.40")),
    ]
    customer = order.customer
    assert customer.email == "jon@example.com"
    assert customer.accepts_marketing is True
    assert customer.marketing_consent_source == "shopify"
    assert customer.country == "NL"
    assert timeline(order) == ["placed", "paid"]


def test_full_sequence_delivered_twice_and_reversed_ends_in_one_correct_order(shop, shopify, drain):
    deliveries = [
        ("orders/create", ORDER, "evt-order"),
        ("fulfillments/create", FULFILMENT, "evt-fulfil"),
        ("refunds/create", REFUND, "evt-refund"),
    ]
    for topic, payload, event_id in [*reversed(deliveries), *deliveries]:
        assert shopify(shop, topic, payload, event_id=event_id).status_code == 200
    assert Delivery.objects.count() == 3  # the second copy of each was dropped
    drain()

    order = Order.objects.get(shop=shop)
    assert not order.is_placeholder
    assert order.number == "#1001"
    assert order.refunded == Decimal("80.10")
    assert order.financial_status == "partially_refunded"
    assert order.fulfilment_status == "fulfilled"
    shipment = order.shipments.get()
    assert (shipment.carrier, shipment.tracking_number, shipment.status) == (
        "PostNL",
        "3SABCD1234567",
        "in_transit",
    )
    assert shipment.tracking_url.startswith("https://jouw.postnl.nl/")
    refund = order.refunds.get()
    assert refund.reason == "Grinder arrived scratched"
    assert refund.items == [{"line": "141249953214522974", "quantity": 1}]
    assert sorted(timeline(order)) == sorted(
        [
            "placed",
            "paid",
            "shipment:255858046:created",
            "shipment:255858046:in_transit",
            "refund:509562969",
        ]
    )


def test_fulfilment_before_its_order_waits_on_a_placeholder(shop, shopify, drain):
    shopify(shop, "fulfillments/create", FULFILMENT, event_id="f1")
    drain()
    order = Order.objects.get(shop=shop)
    assert order.is_placeholder and order.shipments.count() == 1
    shopify(shop, "orders/create", ORDER, event_id="o1")
    drain()
    order.refresh_from_db()
    assert not order.is_placeholder
    assert order.total == Decimal("133.18")
    assert order.shipments.count() == 1
    assert (
        OrderEvent.objects.filter(order=order, external_id="shipment:255858046:created").count()
        == 1
    )


def test_stale_update_changes_nothing(shop, shopify, drain):
    newer = copy.deepcopy(ORDER)
    newer["updated_at"] = "2026-11-04T10:00:00+01:00"
    newer["note"] = "Leave at the door"
    newer["tags"] = "vip"
    shopify(shop, "orders/updated", newer, event_id="upd-2")
    drain()
    older = copy.deepcopy(ORDER)
    older["updated_at"] = "2026-11-03T10:00:00+01:00"
    older["note"] = "an old note"
    shopify(shop, "orders/updated", older, event_id="upd-1")
    drain()
    order = Order.objects.get(shop=shop)
    assert order.note == "Leave at the door"
    assert order.tags == ["vip"]


def test_update_before_create_ends_in_the_latest_version(shop, shopify, drain):
    update = copy.deepcopy(ORDER)
    update["updated_at"] = "2026-11-05T08:00:00+01:00"
    update["financial_status"] = "paid"
    update["cancelled_at"] = "2026-11-05T08:00:00+01:00"
    update["cancel_reason"] = "customer"
    shopify(shop, "orders/cancelled", update, event_id="c")
    shopify(shop, "orders/create", ORDER, event_id="o")
    drain()
    order = Order.objects.get(shop=shop)
    assert order.cancel_reason == "customer" and order.is_cancelled
    assert timeline(order).count("cancelled") == 1


def test_tampered_body_is_refused_and_nothing_stored(shop, shopify):
    import json

    body = json.dumps(ORDER).encode()
    from tests.conftest import SHOPIFY_SECRET, sign

    good = sign(SHOPIFY_SECRET, body)
    tampered = body.replace(b'"133.18"', b'"1.00"')
    response = shopify(shop, "orders/create", None, raw=tampered, signature=good)
    assert response.status_code == 401
    assert "X-Shopify-Hmac-Sha256" in response.json()["error"]
    assert shopify(shop, "orders/create", None, raw=body, signature="").status_code == 401
    assert shopify(shop, "orders/create", ORDER, secret="wrong").status_code == 401
    assert not Delivery.objects.exists() and not Order.objects.exists()


def test_shop_b_secret_does_not_open_shop_a(shop, other_shop, shopify):
    response = shopify(shop, "orders/create", ORDER, secret="another-secret")
    assert response.status_code == 401
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("raw", "status", "needle"),
    [
        (b'{"id": 1, "total_price": ', 400, "malformed JSON"),
        (b"\xff\xfe{}", 400, "UTF-8"),
    ],
)
def test_malformed_body_gets_400_with_the_parser_message(shop, shopify, raw, status, needle):
    response = shopify(shop, "orders/create", None, raw=raw)
    assert response.status_code == status
    assert needle in response.json()["error"]
    assert not Delivery.objects.exists()


def test_wrong_fields_get_422_naming_each(shop, shopify):
    bad = copy.deepcopy(ORDER)
    del bad["id"]
    bad["total_price"] = "lots"
    bad["line_items"][1]["quantity"] = "two"
    bad["created_at"] = "yesterday"
    response = shopify(shop, "orders/create", bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {"id", "total_price", "line_items[1].quantity", "created_at"}
    assert not Delivery.objects.exists()


def test_unknown_topic_is_recorded_as_ignored(shop, shopify):
    response = shopify(shop, "products/update", {"id": 5, "title": "Beans"})
    assert response.status_code == 202
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.topic) == ("ignored", "products/update")


def test_unknown_shop_is_404_and_huge_body_is_413(shop, shopify, client, settings):
    assert (
        client.post("/webhooks/shopify/nope", b"{}", content_type="application/json").status_code
        == 404
    )
    settings.MAX_BODY_BYTES = 1000
    response = shopify(shop, "orders/create", ORDER)
    assert response.status_code == 413
    assert not Delivery.objects.exists()


def test_customer_consent_from_customers_update_and_old_accepts_marketing(shop, shopify, drain):
    customer = copy.deepcopy(ORDER["customer"])
    customer["email_marketing_consent"] = {
        "state": "unsubscribed",
        "opt_in_level": None,
        "consent_updated_at": "2026-11-06T10:00:00+01:00",
    }
    customer["updated_at"] = "2026-11-06T10:00:00+01:00"
    shopify(shop, "customers/update", customer, event_id="cu1")
    legacy = {
        "id": 7,
        "email": "Old@Example.com ",
        "accepts_marketing": True,
        "updated_at": "2026-11-06T10:00:00Z",
        "first_name": "Oud",
    }
    shopify(shop, "customers/create", legacy, event_id="cu2")
    drain()
    from aftercart.customers.models import Customer

    jon = Customer.objects.get(email="jon@example.com")
    assert jon.accepts_marketing is False
    old = Customer.objects.get(email="old@example.com")
    assert old.accepts_marketing is True and old.first_name == "Oud"
