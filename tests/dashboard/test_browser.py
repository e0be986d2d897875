"""The dashboard in a real browser at phone size: it fits, and the order's timeline shows."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftercart.orders.records import RefundData, ShipmentData
from tests.conftest import no_horizontal_overflow
from tests.dashboard.conftest import PASSWORD, make_user, place_order


@pytest.fixture
def seeded(shop):
    """The data, written before the browser starts: Playwright's event loop would refuse the ORM."""
    make_user("anna", shops=[shop])
    for i in range(3):
        place_order(shop, str(1001 + i), email=f"klant{i}@example.com", first_name="Klant")
    order = place_order(
        shop,
        "1010",
        email="margriet.van.der.heijden-langenaken@example.com",
        first_name="Margriet",
        last_name="van der Heijden-Langenaken",
        total="133.18",
        shipments=[
            ShipmentData(
                external_id="s1",
                status="in_transit",
                carrier="PostNL",
                tracking_number="3SABCD1234567890NL",
                tracking_url="https://jouw.postnl.nl/track-and-trace/3SABCD1234567890NL",
                updated_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            )
        ],
        refunds=[
            RefundData(
                external_id="r1",
                amount=Decimal("13.20"),
                refunded_at=datetime(2026, 3, 6, 10, 0, tzinfo=UTC),
                reason="Beschadigd aangekomen",
            )
        ],
    )
    return shop, order


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_orders_on_a_phone(live_server, seeded, browser, tmp_path):
    shop, order = seeded
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/shops/{shop.slug}/orders/")
    assert page.get_by_role("heading", name="Orders").is_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "orders.png"), full_page=True)

    # Typing narrows the list as you go (htmx), and the URL keeps the search.
    page.get_by_label("Search").fill("Margriet")
    page.get_by_text("1 order", exact=True).wait_for()
    assert page.locator("table.cards tbody tr").count() == 1
    assert "q=Margriet" in page.url

    page.get_by_role("link", name="#1010").click()
    page.wait_for_url(f"**/orders/{order.pk}/")
    timeline = page.locator("#timeline")
    timeline.scroll_into_view_if_needed()
    assert timeline.is_visible()
    assert timeline.get_by_text("Order placed").is_visible()
    assert page.get_by_role("link", name="3SABCD1234567890NL").is_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "order.png"), full_page=True)

    # Every link and button on the page is a comfortable tap target.
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, main button, header a, header button, header summary')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => el.textContent.trim())"""
    )
    assert small == []


@pytest.fixture
def loop_and_mail(shop):
    """A shop with its loop, a sent confirmation and a customer who can unsubscribe."""
    from aftercart.flows.services import install_default_loop
    from aftercart.messaging.links import unsubscribe_url
    from aftercart.messaging.services import queue_message, send_due

    make_user("anna", shops=[shop])
    install_default_loop(shop)
    order = place_order(shop, "2001", email="klant@example.com", first_name="Klant")
    message, _ = queue_message(
        shop, "order_confirmation", customer=order.customer, dedupe_key="c", order_id=order.pk
    )
    send_due()
    path = unsubscribe_url(shop.id, "klant@example.com").split("127.0.0.1:8000", 1)[1]
    return shop, message, path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_flows_emails_and_unsubscribe_on_a_phone(live_server, loop_and_mail, browser, tmp_path):
    shop, message, unsubscribe_path = loop_and_mail
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/shops/{shop.slug}/orders/")

    page.goto(f"{live_server.url}/shops/{shop.slug}/flows/")
    page.get_by_role("link", name="After delivery: check-in, review request, cross-sell").click()
    assert page.get_by_text("send review_request").is_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "flow.png"), full_page=True)

    page.goto(f"{live_server.url}/shops/{shop.slug}/emails/{message.pk}/")
    preview = page.frame_locator("iframe.mail-preview")
    preview.get_by_text("Bedankt, Klant!").wait_for()  # the shop and its customer speak Dutch
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "email.png"), full_page=True)

    # The customer's side: the link opens a page with a button; the click unsubscribes.
    customer_page = browser.new_page(viewport={"width": 390, "height": 844})
    customer_page.goto(f"{live_server.url}{unsubscribe_path}")
    assert customer_page.get_by_role("heading", name="Afmelden voor onze e-mails?").is_visible()
    assert no_horizontal_overflow(customer_page)
    customer_page.get_by_role("button", name="Afmelden").click()
    assert customer_page.get_by_role("heading", name="Je bent afgemeld").is_visible()
    customer_page.screenshot(path=str(tmp_path / "unsubscribed.png"), full_page=True)
