"""What the customer's pages write: dates as Django would, in her language and on the
shop's clock, and other people's text (the store's, the carrier's) never as markup."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, translation

from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.messaging.links import unsubscribe_url
from aftercart.orders.links import status_url
from aftercart.orders.records import Checkpoint, LineData, OrderData, ShipmentData, TrackingUpdate
from aftercart.orders.services import record_order
from aftercart.orders.tracking import record_tracking
from aftercart.portal import jinja

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HOSTILE = '<img src=x onerror="alert(1)">'


def path(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


@pytest.mark.parametrize("language,active", [("en", "nl"), ("nl", "en")])
def test_dates_read_as_django_writes_them_on_every_day_of_a_year(language, active):
    """In the page's language and on its clock, whichever are active when it renders."""
    page = {"language_code": language, "zone": AMSTERDAM}
    start = datetime(2026, 1, 1, 22, 30, tzinfo=UTC)  # late in UTC: the next day in Amsterdam
    for n in range(366):
        moment = start + timedelta(days=n, minutes=7 * n)
        local = moment.astimezone(AMSTERDAM)
        with translation.override(language):
            expected = [
                formats.date_format(local, "j M, H:i"),
                formats.date_format(local, "j F Y"),
                formats.date_format(local, "l j F"),
            ]
        with translation.override(active):
            assert jinja.moment(page, moment) == expected[0]
            assert jinja.day(page, moment) == expected[1]
            assert jinja.weekday(page, local.date()) == expected[2]
            assert jinja.iso(page, moment) == local.isoformat()


def test_no_date_writes_nothing():
    page = {"language_code": "nl", "zone": AMSTERDAM}
    assert [f(page, None) for f in (jinja.day, jinja.weekday, jinja.moment, jinja.iso)] == [""] * 4


def test_a_day_is_not_moved_by_the_clock():
    page = {"language_code": "nl", "zone": ZoneInfo("Pacific/Kiritimati")}
    assert jinja.weekday(page, date(2026, 12, 25)) == "vrijdag 25 december"


@pytest.fixture
def shop(db):
    shop = create_shop(
        "roastery", name="De Roasterij", locale="nl", timezone_name="Europe/Amsterdam"
    )[0]
    return shop


def test_a_scan_near_midnight_shows_on_the_shops_clock_in_dutch(shop, client):
    order = _order(shop, "nl")
    scanned = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 21 Nov 00:30 in Amsterdam
    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number="3SABCD7654321",
            source="api",
            checkpoints=[Checkpoint(scanned, "in_transit", "transit", "Gesorteerd", "Nieuwegein")],
        ),
    )
    html = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    assert '<time datetime="2026-11-21T00:30:00+01:00">21 Nov, 00:30</time>' in html
    assert "Besteld op 19 november 2026" in html
    assert '<html lang="nl">' in html


def test_the_stores_and_the_carriers_text_is_shown_never_run(shop, client):
    order = _order(shop, "en", title=f"Mug {HOSTILE}", carrier=f"Acme {HOSTILE}")
    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number="3SABCD7654321",
            source="api",
            checkpoints=[
                Checkpoint(
                    datetime(2026, 11, 20, 9, tzinfo=UTC), "in_transit", "x", HOSTILE, HOSTILE
                )
            ],
        ),
    )
    html = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    assert "<img" not in html
    escaped = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    assert html.count(escaped) == 4  # the line, the carrier, the scan, its place (no link)
    assert f"Mug {escaped}" in html


def test_an_order_without_a_date_shows_its_page(shop, client):
    order = _order(shop, "nl")
    type(order).objects.filter(pk=order.pk).update(placed_at=None)
    response = client.get(path(status_url(shop.pk, order.pk)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bestelling 1001" in html and "Besteld op" not in html


def test_an_address_is_shown_in_bold_and_escaped_in_the_translation(shop, client):
    email = "anne+<b>@example.com"
    html = client.get(path(unsubscribe_url(shop.pk, email))).content.decode()
    assert "<strong>anne+&lt;b&gt;@example.com</strong>" in html
    assert "<b>" not in html


def _order(shop, locale, title="Espresso beans", carrier=""):
    return record_order(
        shop,
        OrderData(
            external_id=f"ext-{locale}",
            source="api",
            number="1001",
            email="anne@example.com",
            customer=CustomerData(email="anne@example.com", first_name="Anne"),
            currency="EUR",
            total=Decimal("29.00"),
            placed_at=datetime(2026, 11, 19, 10, tzinfo=UTC),
            financial_status="paid",
            locale=locale,
            shipping_country="NL",
            shipping_postcode="1016 GV",
            lines=[LineData(title=title, quantity=1, unit_price=Decimal("29.00"))],
            shipments=[
                ShipmentData(
                    external_id="f1",
                    status="in_transit",
                    carrier=carrier,
                    tracking_number="3SABCD7654321",
                    updated_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
                )
            ],
        ),
    ).order
