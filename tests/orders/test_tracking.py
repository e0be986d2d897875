"""Tracking updates move the parcel, keep each scan once, and tell the customer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aftercart.core.events import subscribe, unsubscribe
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.flows.services import run_due
from aftercart.messaging.services import send_due
from aftercart.orders.models import OrderEvent, Shipment, TrackingEvent
from aftercart.orders.records import (
    Checkpoint,
    LineData,
    OrderData,
    ShipmentData,
    TrackingUpdate,
)
from aftercart.orders.services import record_order, record_shipment
from aftercart.orders.tracking import record_tracking

NUMBER = "3SABCD1234567"
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def place(shop, external_id="1001", email="anne@example.com"):
    return record_order(
        shop,
        OrderData(
            external_id=external_id,
            source="shopify",
            number=f"#{external_id}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne"),
            currency="EUR",
            total=Decimal("25.00"),
            placed_at=T0 - timedelta(days=1),
            financial_status="paid",
            shipping_country="NL",
            shipping_postcode="1234 AB",
            lines=[LineData(title="Espresso beans 1 kg", quantity=1, unit_price=Decimal("25.00"))],
        ),
    ).order


def ship(shop, order, number=NUMBER, carrier=None, status="in_transit"):
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(
            external_id="f1",
            status=status,
            carrier=carrier,
            tracking_number=number,
            updated_at=T0 - timedelta(hours=12),
        ),
        source="shopify",
    )
    return Shipment.objects.get(order=order, external_id="f1")


def scans(*pairs, number=NUMBER):
    return TrackingUpdate(
        tracking_number=number,
        source="aftership",
        checkpoints=[
            Checkpoint(
                occurred_at=T0 + timedelta(hours=h),
                status=status,
                raw_status=status,
                description=f"{status} scan",
                location="Utrecht",
            )
            for h, status in pairs
        ],
    )


@pytest.fixture
def shop(db):
    return create_shop("roastery", name="De Roasterij", locale="en")[0]


@pytest.fixture
def heard():
    names = []

    def listen(event):
        names.append(event.name)

    for name in ("shipment.out_for_delivery", "shipment.updated", "shipment.delivered"):
        subscribe(name, listen)
    yield names
    for name in ("shipment.out_for_delivery", "shipment.updated", "shipment.delivered"):
        unsubscribe(name, listen)


def test_scans_move_the_parcel_once_each(shop):
    order = place(shop)
    shipment = ship(shop, order, carrier="PostNL")
    update = scans((0, "in_transit"), (2, "out_for_delivery"))

    first = record_tracking(shop, update)
    again = record_tracking(shop, update)  # the same webhook, delivered twice

    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert (first.scans_new, again.scans_new) == (2, 0)
    assert list(shipment.tracking_events.values_list("description", flat=True)) == [
        "in_transit scan",
        "out_for_delivery scan",
    ]
    timeline = list(OrderEvent.objects.filter(order=order).values_list("external_id", flat=True))
    assert timeline.count("shipment:f1:out_for_delivery") == 1


@pytest.mark.django_db(transaction=True)
def test_out_for_delivery_is_published_and_the_customer_told(inbox, heard):
    shop = create_shop("roastery", name="De Roasterij", locale="en")[0]
    order = place(shop)
    ship(shop, order, carrier="PostNL")
    run_due()
    send_due()
    heard.clear()

    record_tracking(shop, scans((0, "in_transit"), (2, "out_for_delivery")))
    run_due()
    send_due()

    assert "shipment.out_for_delivery" in heard
    today = [m for m in inbox.to("anne@example.com") if "arrives today" in m["Subject"]]
    assert [m["Subject"] for m in today] == ["Your order #1001 arrives today"]
    # The store gave no tracking link: the carrier's own page, for her address and language.
    link = "https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1234AB?language=en"
    assert link in inbox.html(today[0])


def test_scans_that_come_before_their_parcel_wait_for_it(shop):
    early = record_tracking(shop, scans((0, "in_transit"), (5, "delivered")))
    assert early.waiting
    assert TrackingEvent.objects.filter(shipment=None).count() == 2

    order = place(shop)
    shipment = ship(shop, order, status="in_transit")

    assert shipment.status == "delivered"
    assert shipment.delivered_at == T0 + timedelta(hours=5)
    assert shipment.tracking_events.count() == 2
    order.refresh_from_db()
    assert order.fulfilment_status == "delivered"


def test_an_older_scan_arriving_late_does_not_undo_a_newer_one(shop):
    shipment = ship(shop, place(shop))
    record_tracking(shop, scans((5, "delivered")))
    record_tracking(shop, scans((1, "in_transit")))  # sent before, arrived after

    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert shipment.tracking_events.count() == 2


def test_another_shops_parcel_with_the_same_number_is_not_touched(shop):
    other = create_shop("teahouse", name="Tea House")[0]
    theirs = ship(other, place(other))
    ship(shop, place(shop))

    record_tracking(shop, scans((2, "delivered")))

    theirs.refresh_from_db()
    assert theirs.status == "in_transit"
    assert not TrackingEvent.objects.filter(shop=other).exists()


def test_the_carrier_is_read_from_the_number_when_the_store_names_none(shop):
    shipment = ship(shop, place(shop), number="1Z5R 8939 0357 5671 27", carrier=None)
    assert (shipment.carrier, shipment.carrier_code) == ("UPS", "ups")
    assert shipment.tracking_number == "1Z5R89390357567127"
    named = ship(shop, place(shop, "1002"), number="1Z5R89390357567127", carrier="Budbee")
    assert (named.carrier, named.carrier_code) == ("Budbee", "")


def test_an_update_without_a_number_is_refused(shop):
    with pytest.raises(ValueError, match="tracking_number"):
        record_tracking(shop, TrackingUpdate(tracking_number="  ", source="api"))
