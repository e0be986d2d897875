"""The dashboard speaks Dutch when asked to."""

from tests.dashboard.conftest import place_order


def test_dutch_ui_from_the_language_cookie(staff_client, shop):
    order = place_order(shop, "1001")
    staff_client.cookies["django_language"] = "nl"
    page = staff_client.get(f"/shops/{shop.slug}/orders/").content.decode()
    assert 'lang="nl"' in page
    assert "Bestellingen" in page and "Klanten" in page
    assert "Betaald" in page  # the order's payment status
    detail = staff_client.get(f"/shops/{shop.slug}/orders/{order.pk}/").content.decode()
    assert "Tijdlijn" in detail and "Bestelling geplaatst" in detail


def test_language_switch_in_the_header_sets_dutch(staff_client, shop):
    url = f"/shops/{shop.slug}/customers/"
    page = staff_client.get(url).content.decode()
    assert 'action="/i18n/setlang/"' in page and 'value="nl"' in page
    response = staff_client.post("/i18n/setlang/", {"language": "nl", "next": url}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "Klanten" in response.content.decode()


def test_login_page_in_dutch(client, db):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Inloggen" in page
