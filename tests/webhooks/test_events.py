"""Domain events become one delivery per endpoint that wants them, after their commit."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from aftercart.customers.services import CustomerData, erase_customer, export_customer
from aftercart.orders.records import LineData, OrderData, ShipmentData
from aftercart.orders.services import record_order, record_shipment
from aftercart.webhooks.event_types import EventTypeProblem, matches, parse_choice
from aftercart.webhooks.models import Delivery
from aftercart.webhooks.services import create_endpoint, send_due, send_event, set_active

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit


def place(shop, external_id="1001", email="anne@example.com"):
    return record_order(
        shop,
        OrderData(
            external_id=external_id,
            source="shopify",
            number=f"#{external_id}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne", last_name="de Vries"),
            currency="EUR",
            subtotal=Decimal("25.00"),
            total=Decimal("25.00"),
            placed_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            financial_status="paid",
            lines=[LineData(title="Espresso beans 1 kg", quantity=2, unit_price=Decimal("12.50"))],
        ),
    ).order


def test_an_order_placed_reaches_each_endpoint_that_wants_it_once(shop, receiver):
    orders = create_endpoint(shop, receiver.url + "/orders", "order.*")
    placed_only = create_endpoint(shop, receiver.url + "/placed", ["order.placed"])
    everything = create_endpoint(shop, receiver.url + "/all", "*")
    parcels = create_endpoint(shop, receiver.url + "/parcels", "shipment.*")
    switched_off = create_endpoint(shop, receiver.url + "/off", "*")
    set_active(switched_off, False)

    order = place(shop)

    def types(endpoint):
        return sorted(
            Delivery.objects.filter(endpoint=endpoint).values_list("event_type", flat=True)
        )

    assert types(orders) == ["order.paid", "order.placed"]
    assert types(placed_only) == ["order.placed"]
    assert "order.placed" in types(everything) and "customer.created" in types(everything)
    assert types(parcels) == [] and types(switched_off) == []
    # One event, one webhook-id, whichever endpoints it goes to.
    ids = set(
        Delivery.objects.filter(event_type="order.placed").values_list("message_id", flat=True)
    )
    assert len(ids) == 1

    send_due()
    [request] = [r for r in receiver.requests if r.path == "/hooks/placed"]
    data = request.json()["data"]
    assert data["order_id"] == order.pk
    assert data["order"]["number"] == "#1001"
    assert data["order"]["total"] == "25.00" and data["order"]["currency"] == "EUR"
    assert data["order"]["financial_status"] == "paid" and data["order"]["items"] == 2
    assert data["customer"]["email"] == "anne@example.com"
    assert len(request.body) < 2000  # a summary, not the whole order


def test_a_shipment_event_carries_the_tracking(shop, receiver):
    endpoint = create_endpoint(shop, receiver.url, "shipment.created")
    place(shop)
    record_shipment(
        shop,
        "1001",
        ShipmentData(
            external_id="s1", carrier="PostNL", tracking_number="3SABC123", status="in_transit"
        ),
        "shopify",
    )
    [delivery] = Delivery.objects.filter(endpoint=endpoint)
    assert delivery.payload["data"]["shipment"]["tracking_number"] == "3SABC123"
    assert delivery.payload["data"]["order"]["number"] == "#1001"


def test_nothing_is_sent_for_a_change_that_was_rolled_back(shop, receiver):
    create_endpoint(shop, receiver.url, "*")
    with pytest.raises(RuntimeError), transaction.atomic():
        place(shop)
        raise RuntimeError("the import failed half-way")
    assert not Delivery.objects.exists()


def test_erasure_scrubs_the_customer_from_stored_payloads(shop, receiver):
    endpoint = create_endpoint(shop, receiver.url, "order.placed")
    order = place(shop)
    place(shop, "1002", email="bob@example.com")
    exported = export_customer(order.customer)["data"]["webhooks"]
    assert exported[0]["payload"]["data"]["customer"]["email"] == "anne@example.com"

    erase_customer(order.customer, requested_by="test")

    hers = Delivery.objects.get(endpoint=endpoint, customer_id=order.customer_id)
    text = str(hers.payload)
    assert "anne@example.com" not in text and "de Vries" not in text
    assert hers.payload["data"]["order"]["total"] == "25.00"  # the books keep the numbers
    his = Delivery.objects.exclude(pk=hers.pk).get(endpoint=endpoint)
    assert his.payload["data"]["customer"]["email"] == "bob@example.com"
    # Not sent yet: it goes without her data.
    send_due()
    sent = [r.body for r in receiver.requests]
    assert len(sent) == 2 and not any(b"anne@example.com" in body for body in sent)


@pytest.mark.parametrize(
    ("chosen", "event", "wanted"),
    [
        (["*"], "order.placed", True),
        (["order.*"], "order.placed", True),
        (["order.*"], "orders.placed", False),
        (["order.*"], "shipment.delivered", False),
        (["order.placed"], "order.placed", True),
        (["order.placed"], "order.paid", False),
        (["shipment.delivered", "customer.*"], "customer.erased", True),
    ],
)
def test_wildcards(chosen, event, wanted):
    assert matches(chosen, event) is wanted


def test_an_event_type_that_could_never_match_is_refused_by_name():
    assert parse_choice("order.*, shipment.delivered\n*") == ["order.*", "shipment.delivered", "*"]
    with pytest.raises(EventTypeProblem, match="ord\\*er"):
        parse_choice("order.placed, ord*er")
    with pytest.raises(EventTypeProblem, match="at least one"):
        parse_choice(" , ")


def test_send_event_reads_the_order_like_domain_events_do(shop, receiver):
    create_endpoint(shop, receiver.url, "flow.*")
    order = place(shop)
    [delivery] = send_event(shop, "flow.review_requested", {"order_id": order.pk})
    assert delivery.payload["data"]["order"]["number"] == "#1001"
    assert delivery.customer_id == order.customer_id
