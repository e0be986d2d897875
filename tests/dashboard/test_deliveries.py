"""The Deliveries page: late parcels and problems first, and how each carrier does."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from aftercart.core.services import create_shop
from aftercart.orders import deliveries, delivery
from aftercart.orders.models import Shipment
from aftercart.orders.records import ShipmentData
from aftercart.orders.services import record_shipment
from tests.dashboard.conftest import place_order

pytestmark = pytest.mark.django_db


def parcel(shop, number, status, *, shipped=None, delivered=None, tracking="3SABCD1234567"):
    now = timezone.now()
    order = place_order(
        shop, number, email=f"k{number}@example.com", placed_at=now - timedelta(days=4)
    )
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(
            external_id="p1",
            status=status,
            carrier="PostNL",
            tracking_number=tracking,
            shipped_at=shipped or now - timedelta(days=3),
            delivered_at=delivered,
            updated_at=delivered or now - timedelta(days=3),
        ),
        source="api",
    )
    return Shipment.objects.get(order=order)


def test_late_parcels_and_problems_are_listed_for_customer_care(shop, staff_client):
    late = parcel(shop, "2001", "in_transit")
    Shipment.objects.filter(pk=late.pk).update(expected_until=date.today() - timedelta(days=1))
    parcel(shop, "2002", "exception", tracking="3SABCD7654321")
    parcel(shop, "2003", "in_transit", tracking="3SABCD1111111")
    Shipment.objects.filter(order__number="#2003").update(
        expected_until=date.today() + timedelta(days=2)
    )
    delivery._models.clear()
    # This shop hears of deliveries: one parcel came in.
    parcel(
        shop,
        "2004",
        "delivered",
        delivered=timezone.now() - timedelta(days=1),
        tracking="3SABCD2222222",
    )
    delivery.learn_delivery_times(shop)
    assert delivery.mark_late_shipments() == 2  # the window passed; the exception

    html = staff_client.get(f"/shops/{shop.slug}/deliveries/").content.decode()
    assert "#2001" in html and "#2002" in html and "#2003" not in html
    assert "the delivery window passed" in html

    trouble = staff_client.get(f"/shops/{shop.slug}/deliveries/?view=trouble").content.decode()
    assert "#2002" in trouble and "#2001" not in trouble
    on_the_way = staff_client.get(
        f"/shops/{shop.slug}/deliveries/?view=in_transit"
    ).content.decode()
    assert "#2003" in on_the_way and "#2002" not in on_the_way

    order_page = staff_client.get(f"/shops/{shop.slug}/orders/{late.order_id}/").content.decode()
    assert "Running late" in order_page  # on the timeline
    # Customer care opens what the customer sees, through the same signed link.
    link = re.search(r'href="http://127\.0\.0\.1:8000(/o/[^"]+)"', order_page).group(1)
    customer_view = staff_client.get(link).content.decode()
    assert "doet er langer over dan we verwachtten" in customer_view  # the shop is Dutch


def test_the_carrier_table_says_how_long_parcels_took_and_how_often_the_window_held(
    shop, staff_client
):
    monday = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    for i, days in enumerate([1, 1, 1, 3]):
        p = parcel(
            shop,
            str(3000 + i),
            "delivered",
            shipped=monday,
            delivered=monday + timedelta(days=days),
            tracking=f"3SABCD{3000 + i}000",
        )
        Shipment.objects.filter(pk=p.pk).update(
            expected_from=date(2026, 11, 17), expected_until=date(2026, 11, 17)
        )
    rows = {row.name: row for row in deliveries.carrier_table(shop)}
    postnl = rows["PostNL"]
    assert (postnl.delivered, postnl.median_days, postnl.on_time, postnl.promised) == (
        4,
        1,
        0.75,
        4,
    )

    html = staff_client.get(f"/shops/{shop.slug}/deliveries/").content.decode()
    assert '<th scope="row" data-label="Carrier">PostNL</th>' in html
    assert "75 %" in html


def test_another_shops_parcels_stay_out(shop, staff_client):
    other = create_shop("teahouse", name="Tea House")[0]
    theirs = parcel(other, "9001", "exception")
    html = staff_client.get(f"/shops/{shop.slug}/deliveries/?view=trouble").content.decode()
    assert "#9001" not in html and theirs.tracking_number not in html
