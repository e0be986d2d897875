"""The order-status page: through a signed link, or asked for by number and address."""

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.orders.links import LOOKUP, status_token, status_url
from aftercart.orders.records import (
    Checkpoint,
    LineData,
    OrderData,
    ShipmentData,
    TrackingUpdate,
)
from aftercart.orders.services import record_order
from aftercart.orders.tracking import record_tracking
from aftercart.portal import views

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def place(shop, number="1001", email="anne@example.com", locale="en", shipped=True):
    order = record_order(
        shop,
        OrderData(
            external_id=f"ext-{number}",
            source="shopify",
            number=f"#{number}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne"),
            currency="EUR",
            total=Decimal("41.50"),
            placed_at=NOW - timedelta(days=2),
            financial_status="paid",
            locale=locale,
            shipping_country="NL",
            shipping_postcode="1016 GV",
            lines=[
                LineData(title="Espresso beans 1 kg", quantity=1, unit_price=Decimal("29.00")),
                LineData(title="Milk jug <b>steel</b>", quantity=2, unit_price=Decimal("6.25")),
            ],
            shipments=[
                ShipmentData(
                    external_id="f1",
                    status="in_transit",
                    tracking_number="3SABCD1234567",
                    updated_at=NOW - timedelta(days=1),
                )
            ]
            if shipped
            else None,
        ),
    ).order
    return order


def path(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


@pytest.fixture
def shop(db):
    shop = create_shop("roastery", name="De Roasterij", locale="en")[0]
    shop.reply_to = "help@roastery.example"
    shop.save()
    return shop


@pytest.fixture
def floor(monkeypatch):
    monkeypatch.setattr(views, "LOOKUP_FLOOR_SECONDS", 0.05)


def test_the_signed_link_shows_where_the_order_is(shop, client):
    order = place(shop)
    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number="3SABCD1234567",
            source="aftership",
            checkpoints=[
                Checkpoint(
                    NOW - timedelta(hours=3), "in_transit", "InTransit", "Sorted", "Utrecht"
                ),
                Checkpoint(NOW - timedelta(hours=1), "out_for_delivery", "OFD", "With the driver"),
            ],
        ),
    )
    response = client.get(path(status_url(shop.pk, order.pk)))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "Order #1001" in html
    assert 'aria-current="step"' in html
    current = re.search(r'aria-current="step">.*?class="label">([^<]+)', html, re.S).group(1)
    assert current == "Out for delivery"
    assert html.index("With the driver") < html.index("Sorted")  # newest first
    assert "PostNL" in html
    assert "https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1016GV?language=en" in html
    assert "Milk jug &lt;b&gt;steel&lt;/b&gt;" in html  # the store's text, never its markup
    assert "mailto:help@roastery.example" in html


def test_a_dutch_order_reads_in_dutch(shop, client):
    order = place(shop, locale="nl")
    html = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    assert "Bestelling #1001" in html
    assert "Onderweg" in html or "Verzonden" in html
    assert "language=nl" in html


def test_a_tampered_link_is_refused_with_a_helpful_page(shop, client):
    order = place(shop)
    token = status_token(shop.pk, order.pk)
    response = client.get(f"/o/{token[:-2]}xx/")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_an_expired_link_offers_a_fresh_one(shop, client):
    order = place(shop)
    with time_machine.travel(NOW, tick=False):
        mail_link, lookup_link = (
            status_url(shop.pk, order.pk),
            status_url(shop.pk, order.pk, LOOKUP),
        )
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        assert client.get(path(mail_link)).status_code == 200  # an email's link lasts months
        response = client.get(path(lookup_link))
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html
    assert f'href="/status/{shop.slug}/"' in html
    with time_machine.travel(NOW + timedelta(days=181), tick=False):
        assert client.get(path(mail_link)).status_code == 410


def test_a_link_never_opens_another_shops_order(shop, client):
    other = create_shop("teahouse", name="Tea House")[0]
    theirs = place(other, number="1001", email="bob@example.com")
    # Signed by us, but naming our shop with their order: still nothing of theirs.
    response = client.get(f"/o/{status_token(shop.pk, theirs.pk)}/")
    assert response.status_code == 404
    assert "bob@example.com" not in response.content.decode()


def test_an_email_about_the_order_links_to_its_page(shop, client, inbox):
    order = place(shop)
    from aftercart.messaging.services import queue_message

    queue_message(
        shop, "shipping_notification", customer=order.customer, dedupe_key="s", order_id=order.pk
    )
    send_due()
    html = inbox.html(inbox.to("anne@example.com")[0])
    link = re.search(r'href="(http://127\.0\.0\.1:8000/o/[^"]+)"', html).group(1)
    assert client.get(path(link)).status_code == 200


def lookup(client, shop, number, email):
    return client.post(f"/status/{shop.slug}/", {"number": number, "email": email})


def test_the_lookup_answers_the_same_and_mails_only_the_owner(shop, client, inbox, floor):
    order = place(shop)
    right = lookup(client, shop, "1001", "Anne@Example.com ")
    wrong_address = lookup(client, shop, "1001", "eve@example.com")
    wrong_number = lookup(client, shop, "#9999", "anne@example.com")

    assert right.status_code == wrong_address.status_code == wrong_number.status_code == 200
    # The same words, whichever was wrong (only the address typed is not echoed).
    assert right.content == wrong_address.content == wrong_number.content
    assert Message.objects.filter(kind="order_status_link").count() == 1

    send_due()
    [mail] = inbox.messages
    assert mail["To"] == "anne@example.com"
    assert mail["Subject"] == "Your link to order #1001"
    link = re.search(r'href="(http://127\.0\.0\.1:8000/o/[^"]+)"', inbox.html(mail)).group(1)
    page = client.get(path(link))
    assert page.status_code == 200
    assert "Order #1001" in page.content.decode()
    assert order.pk


def test_a_lookup_takes_as_long_whether_or_not_it_matched(shop, client, monkeypatch):
    monkeypatch.setattr(views, "LOOKUP_FLOOR_SECONDS", 0.3)
    place(shop)
    took = []
    for email in ("anne@example.com", "eve@example.com"):
        started = time.monotonic()
        lookup(client, shop, "1001", email)
        took.append(time.monotonic() - started)
    assert min(took) >= 0.3


def test_lookups_are_limited_per_address_and_per_order_number(shop, client, floor):
    place(shop)
    for i in range(5):
        assert lookup(client, shop, f"{2000 + i}", "anne@example.com").status_code == 200
    limited = lookup(client, shop, "1001", "anne@example.com")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    assert not Message.objects.filter(kind="order_status_link").exists()

    for i in range(5):
        lookup(client, shop, "3000", f"guess{i}@example.com")
    assert lookup(client, shop, "3000", "another@example.com").status_code == 429
    # Someone else's lookup is not held up by them.
    assert lookup(client, shop, "1001", "other@example.com").status_code == 200


def test_an_empty_form_says_what_is_missing(shop, client, floor):
    response = lookup(client, shop, " ", "not-an-address")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="number"' in html and html.count('aria-invalid="true"') == 2
    assert client.get("/status/nobody/").status_code == 404


def test_an_order_not_shipped_yet_shows_the_days_to_expect(shop, client):
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        order = place(shop, shipped=False)
        html = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    # No history yet: the carriers' norms from the order date (placed Saturday 21st).
    assert "Expected" in html
    assert re.search(r"(Monday|Tuesday|Wednesday|Thursday) \d+ November", html)


def test_days_that_have_passed_are_not_promised(shop, client):
    order = place(shop, shipped=False)
    with time_machine.travel(NOW + timedelta(days=21), tick=False):
        html = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    assert "Expected" not in html


def test_behind_a_proxy_the_forwarded_client_is_counted(shop, client, floor, settings):
    settings.AFTERCART_PROXY_HOPS = 1
    place(shop)
    for i in range(30):  # thirty customers behind the same proxy
        response = client.post(
            f"/status/{shop.slug}/",
            {"number": f"{5000 + i}", "email": f"c{i}@example.com"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
        assert response.status_code == 200
    spoofed = [
        client.post(
            f"/status/{shop.slug}/",
            {"number": f"{6000 + i}", "email": f"s{i}@example.com"},
            # Whatever the client writes first, the proxy's own entry is the last.
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 198.51.100.7",
        ).status_code
        for i in range(31)
    ]
    assert spoofed[-1] == 429 and spoofed[:30] == [200] * 30


def test_the_page_shows_each_change_as_soon_as_it_happens(shop, client):
    order = place(shop)
    link = path(status_url(shop.pk, order.pk))
    assert "With the driver" not in client.get(link).content.decode()
    client.get(link)  # kept, rendered, for this version of the order

    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number="3SABCD1234567",
            source="aftership",
            checkpoints=[Checkpoint(NOW, "out_for_delivery", "OFD", "With the driver")],
        ),
    )
    html = client.get(link).content.decode()
    assert "With the driver" in html

    shop.reply_to = "care@roastery.example"
    shop.save()
    assert "mailto:care@roastery.example" in client.get(link).content.decode()
