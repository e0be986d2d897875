"""Tracking updates move the parcel, keep each scan once, and tell the customer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

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


def test_the_carriers_clock_and_the_stores_are_never_compared(shop):
    order = place(shop)
    # The store's fulfilment was last touched at 14:55, still saying "in transit".
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(
            external_id="f1",
            status="in_transit",
            carrier="PostNL",
            tracking_number=NUMBER,
            updated_at=T0 + timedelta(hours=8, minutes=55),
        ),
        source="shopify",
    )
    # The carrier delivered it at 14:50; the scan arrives afterwards.
    record_tracking(shop, scans((8 + 50 / 60, "delivered")))
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == "delivered"

    # A later store update that still says "in transit" does not move it back.
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(external_id="f1", status="in_transit", updated_at=T0 + timedelta(hours=10)),
        source="shopify",
    )
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    order.refresh_from_db()
    assert order.fulfilment_status == "delivered"


def test_a_reused_number_leaves_last_years_parcel_alone(shop):
    old = record_order(
        shop,
        OrderData(
            external_id="0900",
            source="shopify",
            number="#900",
            email="bob@example.com",
            customer=CustomerData(email="bob@example.com"),
            currency="EUR",
            total=Decimal("9.00"),
            placed_at=T0 - timedelta(days=400),
            shipments=[
                ShipmentData(
                    external_id="old",
                    status="delivered",
                    tracking_number=NUMBER,
                    shipped_at=T0 - timedelta(days=399),
                    delivered_at=T0 - timedelta(days=398),
                )
            ],
        ),
    ).order
    record_tracking(shop, scans((0, "in_transit")))  # this year's parcel, not known yet
    parcel = Shipment.objects.get(order=old)
    assert parcel.status == "delivered"
    assert not parcel.tracking_events.exists()

    # The new parcel collects this year's scan, not older ones.
    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number=NUMBER,
            source="aftership",
            checkpoints=[Checkpoint(T0 - timedelta(days=398), "delivered", "Delivered")],
        ),
    )
    new = ship(shop, place(shop))
    assert new.status == "in_transit"
    assert list(new.tracking_events.values_list("status", flat=True)) == ["in_transit"]


def test_a_status_without_scans_or_time_is_kept_once_however_often_it_is_sent(shop):
    ship(shop, place(shop))
    update = TrackingUpdate(tracking_number=NUMBER, source="api", status="out_for_delivery")
    assert record_tracking(shop, update).scans_new == 1
    assert record_tracking(shop, update).scans_new == 0


def test_scans_that_missed_their_parcel_are_handed_over_or_forgotten(shop):
    from aftercart.orders.tracking import settle_waiting_scans

    record_tracking(shop, scans((0, "in_transit"), (3, "out_for_delivery")))
    order = place(shop)
    # Written while the scans were on their way in: it did not see them.
    Shipment.objects.create(
        shop=shop,
        order=order,
        external_id="f1",
        tracking_number=NUMBER,
        status="in_transit",
        shipped_at=T0 - timedelta(hours=12),
    )
    record_tracking(shop, scans((1, "in_transit"), number="3SZZZZ7654321"))  # nobody's

    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        assert settle_waiting_scans() == {"settled": 1, "forgotten": 0}
    shipment = Shipment.objects.get(order=order)
    assert (shipment.status, shipment.tracking_events.count()) == ("out_for_delivery", 2)

    with time_machine.travel(T0 + timedelta(days=61), tick=False):
        assert settle_waiting_scans() == {"settled": 0, "forgotten": 1}


def test_only_web_links_are_kept_as_tracking_links(shop):
    order = place(shop)
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(
            external_id="f1",
            carrier="PostNL",
            tracking_number=NUMBER,
            tracking_url="javascript:alert(document.cookie)",
        ),
        source="api",
    )
    assert Shipment.objects.get(order=order).tracking_url == ""
