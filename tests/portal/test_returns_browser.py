"""The returns portal in a real browser at phone size (screenshots in test-artifacts/)."""

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from aftercart.core.services import create_shop
from aftercart.orders.links import status_url
from aftercart.orders.records import ShipmentData
from aftercart.orders.services import record_order
from aftercart.returns.models import ReturnRequest
from tests.conftest import keep_screenshot, no_horizontal_overflow
from tests.returns.conftest import order_data


@pytest.fixture
def seeded(db):
    """Written before the browser starts: Playwright's event loop would refuse the ORM."""
    shop = create_shop("roastery", name="De Roasterij", locale="nl")[0]
    now = timezone.now()
    data = order_data(number="2002", locale="nl", placed_at=now - timedelta(days=6))
    data.shipments = [
        ShipmentData(
            external_id="f1",
            status="delivered",
            shipped_at=now - timedelta(days=5),
            delivered_at=now - timedelta(days=3),
            updated_at=now - timedelta(days=3),
        )
    ]
    order = record_order(shop, data).order
    return shop, status_url(shop.pk, order.pk).split("127.0.0.1:8000", 1)[1]


def photo(tmp_path):
    path = tmp_path / "kapotte-kop.jpg"
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 40, 40)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def small_targets(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('main a.button, main button, main select')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => el.textContent.trim())"""
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_damaged_cup_goes_back_from_a_phone(live_server, seeded, browser, tmp_path):
    shop, path = seeded
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("link", name="Artikelen retourneren of ruilen").click()

    page.get_by_role("heading", name="Retourneren of ruilen").wait_for()
    page.get_by_label("Espresso cup").select_option("1")
    page.get_by_label("Het kwam beschadigd aan").check()
    assert no_horizontal_overflow(page) and small_targets(page) == []
    keep_screenshot(page, "return-form.png")
    page.get_by_role("button", name="Mijn retour controleren").click()

    page.get_by_role("heading", name="Controleren en bevestigen").wait_for()
    assert page.get_by_text("Deze retour past binnen ons retourbeleid").is_visible()
    assert page.locator(".amounts .total").inner_text().endswith("€ 20,00")
    page.get_by_label("Voeg een foto toe waarop het probleem te zien is").set_input_files(
        photo(tmp_path)
    )
    assert no_horizontal_overflow(page)
    keep_screenshot(page, "return-check.png")
    page.get_by_role("button", name="Bevestigen en label ontvangen").click()

    page.get_by_role("heading", name="Retour R2002-1").wait_for()
    assert page.locator(".status").inner_text() == "Goedgekeurd"
    label = page.get_by_role("link", name="Download het retourlabel")
    pdf = page.request.get(live_server.url + label.get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    assert no_horizontal_overflow(page) and small_targets(page) == []
    keep_screenshot(page, "return-page.png")

    page.get_by_label("Trackingnummer van je pakket").fill("3SRETOUR123")
    page.get_by_role("button", name="Ik heb het verstuurd").click()
    page.get_by_text("Bedankt. We laten je weten wanneer het is aangekomen.").wait_for()
    assert page.locator(".status").inner_text() == "Onderweg terug"

    # Read in another thread: the ORM refuses to run beside Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        kept = pool.submit(
            lambda: ReturnRequest.objects.values_list("tracking_number", "photos__width").get()
        ).result()
    assert kept == ("3SRETOUR123", 1200)
