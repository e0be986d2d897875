"""The order-status page in a real browser at phone size (screenshots in test-artifacts/)."""

from datetime import timedelta

import pytest

from aftercart.core.services import create_shop
from aftercart.orders.links import status_url
from aftercart.orders.records import Checkpoint, TrackingUpdate
from aftercart.orders.tracking import record_tracking
from tests.conftest import keep_screenshot, no_horizontal_overflow
from tests.portal.test_order_status import NOW, place


@pytest.fixture
def seeded(db):
    """Written before the browser starts: Playwright's event loop would refuse the ORM."""
    shop = create_shop("roastery", name="De Roasterij", locale="nl")[0]
    shop.reply_to = "help@roastery.example"
    shop.save()
    order = place(shop, locale="nl", email="margriet.van.der.heijden-langenaken@example.com")
    record_tracking(
        shop,
        TrackingUpdate(
            tracking_number="3SABCD1234567",
            source="aftership",
            checkpoints=[
                Checkpoint(NOW - timedelta(hours=20), "info_received", "", "Zending aangemeld"),
                Checkpoint(NOW - timedelta(hours=9), "in_transit", "", "Gesorteerd", "Utrecht"),
                Checkpoint(NOW - timedelta(hours=2), "out_for_delivery", "", "Bezorger onderweg"),
            ],
        ),
    )
    return shop, status_url(shop.pk, order.pk).split("127.0.0.1:8000", 1)[1]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_status_page_on_a_phone(live_server, seeded, browser):
    shop, path = seeded
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}{path}")

    assert page.get_by_role("heading", name="Bestelling #1001").is_visible()
    current = page.locator('.progress [aria-current="step"]')
    assert current.inner_text().startswith("Bezorger is onderweg")
    assert page.get_by_role("link", name="Volg het op de site van PostNL").is_visible()
    assert page.get_by_text("Gesorteerd").is_visible()
    assert no_horizontal_overflow(page)
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, main button')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => el.textContent.trim())"""
    )
    assert small == []
    keep_screenshot(page, "order-status.png")

    page.goto(f"{live_server.url}/status/{shop.slug}/?lang=nl")
    page.get_by_label("Bestelnummer").fill("1001")
    page.get_by_label("E-mailadres").fill("margriet.van.der.heijden-langenaken@example.com")
    page.get_by_role("button", name="Mail me de link").click()
    page.get_by_role("heading", name="Kijk in je mailbox").wait_for()
    assert no_horizontal_overflow(page)
    keep_screenshot(page, "order-lookup-sent.png")
