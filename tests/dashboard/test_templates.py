"""Email templates in the dashboard: each kind and language, previewed, and a test to me."""

from django.contrib.auth import get_user_model

from aftercart.messaging.kinds import KINDS
from tests.messaging.test_outbox import place_order


def test_every_kind_is_listed_in_both_languages(shop, staff_client):
    html = staff_client.get(f"/shops/{shop.slug}/emails/templates/").content.decode()
    assert "Review request" in html and "Win-back" in html
    kinds = len(KINDS)  # the status link asked for on the lookup form is one of them
    assert html.count('/nl/">Nederlands') == kinds and html.count('/en/">English') == kinds
    assert "Order status link" in html


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


def edit(staff_client, shop, action, **fields):
    return staff_client.post(
        f"/shops/{shop.slug}/emails/templates/order_confirmation/en/", {"action": action, **fields}
    )


BODY = """<mj-section><mj-column>
  <mj-text>Hi {{ customer.first_name }}, order {{ order.number }} is in the roaster's hands.</mj-text>
</mj-column></mj-section>"""


def test_an_edit_is_previewed_saved_and_sent_and_can_be_undone(shop, staff_client, inbox):
    from aftercart.messaging.models import Message, MessageTemplate
    from aftercart.messaging.services import send_due
    from tests.messaging.test_outbox import confirm

    order = place_order(shop)
    subject = "Order {{ order.number }}: roasting now"
    tried = edit(staff_client, shop, "preview", subject=subject, preheader="", body=BODY)
    assert tried.status_code == 200
    html = tried.content.decode()
    assert "not saved yet" in html and "Order #1001: roasting now" in html
    assert "in the roaster&#x27;s hands" in html or "in the roaster&amp;#x27;s hands" in html
    assert not MessageTemplate.objects.exists()  # a preview saves nothing

    saved = edit(staff_client, shop, "save", subject=subject, preheader="Fresh", body=BODY)
    assert saved.status_code == 302
    assert MessageTemplate.objects.get(shop=shop, kind="order_confirmation").version == 1

    # The next confirmation goes out with the shop's own text.
    confirm(shop, order)
    send_due()
    [mail] = inbox.messages
    assert mail["Subject"] == "Order #1001: roasting now"
    assert "Hi Anne, order #1001 is in the roaster's hands." in inbox.text(mail)
    assert Message.objects.get().subject == "Order #1001: roasting now"

    edit(staff_client, shop, "reset")
    assert not MessageTemplate.objects.exists()
    back = staff_client.get(f"/shops/{shop.slug}/emails/templates/order_confirmation/en/")
    assert "Thank you for your order #1001" in back.content.decode()


def test_a_broken_edit_is_refused_with_the_reason_and_nothing_is_saved(shop, staff_client):
    from aftercart.messaging.models import MessageTemplate

    place_order(shop)
    cases = [
        ("<mj-section><mj-column><mj-text>Hi</mj-section>", "MJML"),
        (
            "<mj-section><mj-column><mj-text>{{ order.number|nosuchfilter }}</mj-text>"
            "</mj-column></mj-section>",
            "variable or tag",
        ),
        (
            "<mj-section><mj-column><mj-text>{% debug %}</mj-text></mj-column></mj-section>",
            "cannot be used in an email",
        ),
    ]
    for body, said in cases:
        answer = edit(staff_client, shop, "save", subject="Hi", preheader="", body=body)
        assert answer.status_code == 400
        assert said in answer.content.decode()
        assert body.split(">", 1)[0] in answer.content.decode().replace("&lt;", "<")  # kept
    assert not MessageTemplate.objects.exists()


def test_a_template_cannot_reach_beyond_the_message(shop, staff, staff_client):
    """Shop, customer and order are plain values in a template: no walking relations to
    the shop's members (their password hashes), other shops or every customer."""
    place_order(shop)
    body = (
        "<mj-section><mj-column><mj-text>"
        "[{% for u in shop.members.all %}{{ u.password }}{% endfor %}]"
        "[{% for c in customer.shop.customers.all %}{{ c.email }}{% endfor %}]"
        "[{{ order.customer.shop.name }}]"
        "</mj-text></mj-column></mj-section>"
    )
    answer = edit(staff_client, shop, "preview", subject="Hi", preheader="", body=body)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "[][][]" in html
    assert staff.password not in html
