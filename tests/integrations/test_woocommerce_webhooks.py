"""WooCommerce webhooks: signature, ping, statuses, deletion."""

import copy
import json
from decimal import Decimal

import pytest

from aftercart.integrations.models import Delivery
from aftercart.orders.models import Order, Shipment
from tests.conftest import WOO_SECRET, load, sign

ORDER = load("woocommerce/order.json")


@pytest.fixture
def woo(client):
    def post(shop, topic, payload, *, delivery_id="1", secret=WOO_SECRET, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        return client.post(
            f"/webhooks/woocommerce/{shop.slug}",
            body,
            content_type="application/json",
            HTTP_X_WC_WEBHOOK_TOPIC=topic,
            HTTP_X_WC_WEBHOOK_RESOURCE=topic.split(".")[0],
            HTTP_X_WC_WEBHOOK_EVENT=topic.split(".")[1],
            HTTP_X_WC_WEBHOOK_SIGNATURE=sign(secret, body),
            HTTP_X_WC_WEBHOOK_ID="12",
            HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery_id,
        )

    return post


def test_ping_on_webhook_creation_is_answered_and_stores_nothing(shop, client):
    response = client.post(
        f"/webhooks/woocommerce/{shop.slug}",
        "webhook_id=12",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Delivery.objects.exists()


def test_processing_order_is_paid_with_lines_coupon_and_customer(shop, woo, drain):
    assert woo(shop, "order.created", ORDER).status_code == 200
    drain()
    order = Order.objects.get(shop=shop)
    assert (order.number, order.total, order.shipping, order.tax) == (
        "727",
        Decimal("46.30"),
        Decimal("6.95"),
        Decimal("7.35"),
    )
    assert order.financial_status == "paid"
    assert order.discount_codes == ["tea5"]
    assert order.customer.email == "anna.devries@example.nl"
    assert order.shipping_postcode == "3511 AR"
    lines = list(order.lines.values_list("sku", "quantity", "unit_price", "discount", "total"))
    assert lines == [
        ("TEA-DARJ-100", 2, Decimal("12.50"), Decimal("5.00"), Decimal("20.00")),
        ("POT-GLS-1L", 1, Decimal("12.00"), Decimal("0.00"), Decimal("12.00")),
    ]
    assert list(order.events.values_list("external_id", flat=True)) == ["placed", "paid"]


@pytest.mark.parametrize(
    ("status", "financial", "fulfilment", "cancelled"),
    [
        ("pending", "pending", "unfulfilled", False),
        ("on-hold", "pending", "unfulfilled", False),
        ("completed", "paid", "fulfilled", False),
        ("cancelled", "pending", "unfulfilled", True),
        ("failed", "failed", "unfulfilled", False),
    ],
)
def test_woocommerce_statuses_are_mapped(
    shop, woo, drain, status, financial, fulfilment, cancelled
):
    payload = copy.deepcopy(ORDER)
    payload["status"] = status
    woo(shop, "order.updated", payload)
    drain()
    order = Order.objects.get()
    assert (order.financial_status, order.fulfilment_status, order.is_cancelled) == (
        financial,
        fulfilment,
        cancelled,
    )


def test_refunded_order_and_later_deletion(shop, woo, drain):
    woo(shop, "order.created", ORDER, delivery_id="a")
    refunded = copy.deepcopy(ORDER)
    refunded["status"] = "refunded"
    refunded["date_modified_gmt"] = "2026-11-07T09:00:00"
    refunded["refunds"] = [{"id": 731, "reason": "Teapot broken", "total": "-46.30"}]
    woo(shop, "order.updated", refunded, delivery_id="b")
    woo(shop, "order.deleted", {"id": 727}, delivery_id="c")
    drain()
    order = Order.objects.get()
    assert order.refunded == Decimal("46.30")
    assert order.financial_status == "refunded"
    assert order.cancel_reason == "deleted in store"
    assert set(order.events.values_list("external_id", flat=True)) == {
        "placed",
        "paid",
        "refund:731",
        "cancelled",
    }


def test_bad_signature_and_unknown_status(shop, woo):
    assert woo(shop, "order.created", ORDER, secret="nope").status_code == 401
    bad = copy.deepcopy(ORDER)
    bad["status"] = "teleported"
    response = woo(shop, "order.created", bad)
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "status", "problem": "'teleported' is not a WooCommerce order status"}
    ]
    assert not Delivery.objects.exists()


def test_same_delivery_twice_is_stored_once(shop, woo, drain):
    assert woo(shop, "order.created", ORDER, delivery_id="d1").json()["status"] == "accepted"
    assert woo(shop, "order.created", ORDER, delivery_id="d1").json()["status"] == "duplicate"
    drain()
    assert Order.objects.count() == 1


def test_a_tracking_plugins_parcels_become_shipments(shop, woo, drain):
    order = copy.deepcopy(ORDER)
    order["status"] = "completed"
    order["meta_data"] = [
        {"id": 1, "key": "_billing_vat", "value": ""},
        {
            "id": 2,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "postnl",
                    "custom_tracking_provider": "",
                    "custom_tracking_link": "",
                    "tracking_number": "3S ABCD 1234567",
                    "date_shipped": "1795392000",
                    "tracking_id": "a1b2c3",
                },
                {
                    "tracking_provider": "",
                    "custom_tracking_provider": "Budbee",
                    "custom_tracking_link": "https://budbee.example/track/XYZ",
                    "tracking_number": "XYZ",
                    "date_shipped": "not a time",
                    "tracking_id": "d4e5f6",
                },
            ],
        },
        {"id": 3, "key": "shipment_status", "value": [{"status": "out_for_delivery"}]},
    ]
    assert woo(shop, "order.updated", order).status_code == 200
    drain()

    first, second = Shipment.objects.filter(shop=shop).order_by("external_id")
    assert (first.carrier_code, first.tracking_number, first.status) == (
        "postnl",
        "3SABCD1234567",
        "out_for_delivery",
    )
    assert first.shipped_at.isoformat() == "2026-11-23T12:00:00+00:00"  # the day, everywhere
    assert (second.carrier, second.carrier_code, second.tracking_url, second.status) == (
        "Budbee",
        "",
        "https://budbee.example/track/XYZ",
        "in_transit",
    )


def test_tracking_items_that_are_not_objects_are_named(shop, woo):
    order = copy.deepcopy(ORDER)
    order["meta_data"] = [{"key": "_wc_shipment_tracking_items", "value": ["3SABCD1234567"]}]
    response = woo(shop, "order.updated", order)
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "meta_data._wc_shipment_tracking_items[0]", "problem": "must be an object"}
    ]
