"""The webhook pages in a real browser at phone size: they fit, and every target is tappable."""

import pytest

from aftercart.webhooks.services import create_endpoint, send_due, send_event
from tests.conftest import no_horizontal_overflow
from tests.dashboard.conftest import PASSWORD, make_user

SMALL_TARGETS = """() => [...document.querySelectorAll('main a, main button, main summary')]
    .filter(el => el.offsetParent !== null)
    .filter(el => el.getBoundingClientRect().height < 44)
    .map(el => el.textContent.trim())"""


@pytest.fixture
def seeded(shop, receiver):
    """Written before the browser starts: Playwright's event loop would refuse the ORM."""
    make_user("anna", shops=[shop])
    endpoint = create_endpoint(
        shop,
        receiver.url + "/a-rather-long-path/that-goes-on/and-on?token=0123456789abcdef",
        "order.*, shipment.delivered, customer.consent_changed",
        "The warehouse system",
    )
    receiver.answer(500, b'{"error": "the stock service is unavailable right now"}')
    [delivery] = send_event(shop, "order.placed", {"note": "x" * 300})
    send_event(shop, "order.paid", {})
    send_due()
    return shop, endpoint, delivery


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_webhook_pages_on_a_phone(live_server, seeded, browser, tmp_path):  # noqa: F811
    shop, endpoint, delivery = seeded
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/shops/{shop.slug}/orders/")
    base = f"{live_server.url}/shops/{shop.slug}/webhooks/"
    for name, path in [
        ("list", ""),
        ("new", "new/"),
        ("endpoint", f"{endpoint.pk}/"),
        ("delivery", f"{endpoint.pk}/deliveries/{delivery.pk}/"),
    ]:
        page.goto(base + path)
        assert no_horizontal_overflow(page), name
        assert page.evaluate(SMALL_TARGETS) == [], name
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)

    page.goto(base + f"{endpoint.pk}/")
    page.get_by_text("Show the signing secret").click()
    assert page.get_by_text(endpoint.signing_secret).is_visible()
