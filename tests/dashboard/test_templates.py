"""Email templates in the dashboard: each kind and language, previewed, and a test to me."""

from django.contrib.auth import get_user_model

from tests.messaging.test_outbox import place_order


def test_every_kind_is_listed_in_both_languages(shop, staff_client):
    html = staff_client.get(f"/shops/{shop.slug}/emails/templates/").content.decode()
    assert "Review request" in html and "Win-back" in html
    assert html.count('/nl/">Nederlands') == 11 and html.count('/en/">English') == 11


def test_a_template_is_previewed_with_the_latest_order(shop, staff_client):
    place_order(shop)
    page = staff_client.get(f"/shops/{shop.slug}/emails/templates/order_confirmation/en/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Thank you for your order #1001" in html  # the subject, filled in
    assert "Espresso beans 1 kg" in html  # inside the preview's srcdoc
    dutch = staff_client.get(f"/shops/{shop.slug}/emails/templates/order_confirmation/nl/")
    assert "Bedankt" in dutch.content.decode()


def test_without_orders_the_page_says_what_the_preview_needs(shop, staff_client):
    page = staff_client.get(f"/shops/{shop.slug}/emails/templates/review_request/en/")
    assert page.status_code == 200
    assert "once the first order has arrived" in page.content.decode()


def test_send_a_test_to_me(shop, staff, staff_client, inbox):
    place_order(shop)
    get_user_model().objects.filter(pk=staff.pk).update(email="owner@roastery.example")
    answer = staff_client.post(
        f"/shops/{shop.slug}/emails/templates/shipping_notification/en/test/"
    )
    assert answer.status_code == 302
    [mail] = inbox.messages
    assert mail["To"] == "owner@roastery.example"
    assert mail["Subject"].startswith("[Test] ")
    assert "Anne" not in mail["To"]  # never to the customer whose order fills it in


def test_an_unknown_kind_is_not_found(shop, staff_client):
    assert (
        staff_client.get(f"/shops/{shop.slug}/emails/templates/thank_you_card/en/").status_code
        == 404
    )
    assert (
        staff_client.get(f"/shops/{shop.slug}/emails/templates/order_confirmation/de/").status_code
        == 404
    )
