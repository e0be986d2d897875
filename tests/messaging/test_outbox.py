"""The outbox end to end: mail arrives at a real SMTP server, once, when and as it should."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.customers.models import Customer, Suppression
from aftercart.customers.services import CustomerData, erase_customer, set_marketing_consent
from aftercart.messaging.models import Message
from aftercart.messaging.services import queue_message, send_due
from aftercart.orders.records import LineData, OrderData
from aftercart.orders.services import record_order

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _daytime():
    """Marketing mail waits out the quiet hours (21:00-08:00 in the customer's zone): the
    tests that don't set the clock themselves run at midday, whenever the suite runs."""
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=AMSTERDAM), tick=True):
        yield


def place_order(shop, *, email="anne@example.com", first_name="Anne", locale="en", consent=None):
    change = record_order(
        shop,
        OrderData(
            external_id=f"ord-{email}-{locale}",
            source="api",
            number="#1001",
            email=email,
            customer=CustomerData(
                email=email, first_name=first_name, accepts_marketing=consent, locale=locale
            ),
            currency="EUR",
            subtotal=Decimal("25.00"),
            shipping=Decimal("4.95"),
            total=Decimal("29.95"),
            placed_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            financial_status="paid",
            shipping_name="Anne de Vries",
            shipping_address={"address1": "Kerkstraat 1"},
            shipping_postcode="3511 AB",
            shipping_city="Utrecht",
            shipping_country="NL",
            locale=locale,
            lines=[LineData(title="Espresso beans 1 kg", quantity=2, unit_price=Decimal("12.50"))],
        ),
    )
    return change.order


def confirm(shop, order, key="confirmation"):
    return queue_message(
        shop,
        "order_confirmation",
        customer=order.customer,
        dedupe_key=f"order:{order.id}:{key}",
        order_id=order.id,
        order_locale=order.locale,
    )


def test_the_order_confirmation_arrives_once_with_the_order_in_it(shop, inbox):
    order = place_order(shop)
    message, created = confirm(shop, order)
    assert created
    assert send_due()["sent"] == 1

    [mail] = inbox.to("anne@example.com")
    assert mail["Subject"] == "Thank you for your order #1001"
    assert "De Roasterij" in mail["From"]
    assert mail["Message-ID"]
    assert "List-Unsubscribe" not in mail  # transactional: nothing to unsubscribe from
    html, text = inbox.html(mail), inbox.text(mail)
    for part in (html, text):
        assert "Espresso beans 1 kg" in part
        assert "Kerkstraat 1" in part
    assert "€29.95" in text and "Thank you, Anne!" in text
    assert "{%" not in html and "{{" not in html

    # Asked again (a webhook redelivered, a task ran twice): no second message.
    again, created = confirm(shop, order)
    assert not created and again.pk == message.pk
    assert send_due()["sent"] == 0
    assert len(inbox.messages) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at


def test_a_dutch_order_gets_dutch_mail(shop, inbox):
    order = place_order(shop, email="joost@example.nl", first_name="Joost", locale="nl")
    confirm(shop, order)
    send_due()
    [mail] = inbox.to("joost@example.nl")
    assert "#1001" in mail["Subject"] and "Bedankt" in mail["Subject"]
    assert "€ 29,95" in inbox.text(mail)


def test_an_address_at_a_non_ascii_domain_gets_its_mail(shop, inbox):
    shop.sender_name = "Café de Roasterij"
    shop.save(update_fields=["sender_name"])
    order = place_order(shop, email="anne@bücher.example", first_name="Zoë", locale="nl")
    confirm(shop, order)
    assert send_due()["sent"] == 1

    # The envelope and the To header carry the domain as DNS knows it (punycode).
    assert inbox.recipients == [["anne@xn--bcher-kva.example"]]
    [mail] = inbox.messages
    assert mail["To"] == "anne@xn--bcher-kva.example"
    assert mail["From"].addresses[0].display_name == "Café de Roasterij"
    assert "Zoë" in inbox.text(mail) and "Bedankt" in mail["Subject"]


def test_hostile_text_arrives_as_text(shop, inbox):
    order = place_order(shop, first_name='<script>alert("x")</script>')
    confirm(shop, order)
    send_due()
    html = inbox.html(inbox.messages[0])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_name_with_an_ampersand_reads_as_written_in_the_subject_and_text(shop, inbox):
    order = place_order(shop, first_name="Anne & Co <3", consent=True)
    queue_message(shop, "check_in", customer=order.customer, dedupe_key="c1", order_id=order.id)
    send_due()
    [mail] = inbox.messages
    assert mail["Subject"] == "How is everything, Anne & Co <3?"
    assert "Anne & Co <3" in inbox.text(mail)
    assert "Anne &amp; Co &lt;3" in inbox.html(mail)


def test_marketing_mail_without_consent_is_not_sent_and_says_why(shop, inbox):
    order = place_order(shop, consent=False)
    message, _ = queue_message(
        shop, "review_request", customer=order.customer, dedupe_key="r1", order_id=order.id
    )
    assert send_due()["suppressed"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SUPPRESSED
    assert "consent" in message.reason
    assert inbox.messages == []


def test_one_click_unsubscribe_stops_the_next_marketing_mail(shop, inbox, client):
    order = place_order(shop, consent=True)
    queue_message(
        shop, "review_request", customer=order.customer, dedupe_key="r1", order_id=order.id
    )
    send_due()
    [mail] = inbox.messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https = mail["List-Unsubscribe"].strip(" <>")
    assert https.startswith("http") and "," not in https  # one https link, no mailto yet
    path = https.split("127.0.0.1:8000", 1)[1]
    assert path in inbox.html(mail)  # the footer links to the same page

    # A mail scanner opening the link changes nothing: the page asks first.
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe" in page.content
    assert Customer.objects.get(pk=order.customer_id).accepts_marketing is True

    # The mail app's one-click POST (RFC 8058): no cookie, no CSRF token.
    done = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and b"unsubscribed" in done.content
    assert Customer.objects.get(pk=order.customer_id).accepts_marketing is False
    assert Suppression.objects.filter(shop=shop, email="anne@example.com").exists()

    message, _ = queue_message(
        shop, "cross_sell", customer=order.customer, dedupe_key="x1", order_id=order.id
    )
    send_due()
    message.refresh_from_db()
    assert message.status == Message.Status.SUPPRESSED
    assert len(inbox.messages) == 1


def test_a_link_that_was_tampered_with_shows_a_helpful_page(client, shop):
    page = client.get("/u/not-a-real-token/")
    assert page.status_code == 404
    assert b"This link does not work" in page.content


def test_quiet_hours_move_marketing_mail_to_eight_in_the_morning(shop, inbox):
    order = place_order(shop, consent=True)
    evening = datetime(2026, 11, 23, 22, 30, tzinfo=AMSTERDAM)
    with time_machine.travel(evening, tick=False):
        message, _ = queue_message(
            shop, "check_in", customer=order.customer, dedupe_key="c1", order_id=order.id
        )
        assert send_due()["postponed"] == 1
        message.refresh_from_db()
        assert message.due_at == datetime(2026, 11, 24, 8, 0, tzinfo=AMSTERDAM)
        # Transactional mail is not held.
        confirm(shop, order)
        assert send_due()["sent"] == 1
    with time_machine.travel(datetime(2026, 11, 24, 7, 59, tzinfo=AMSTERDAM), tick=False):
        assert send_due()["sent"] == 0
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, tzinfo=AMSTERDAM), tick=False):
        assert send_due()["sent"] == 1
    assert [m["Subject"] for m in inbox.messages] == [
        "Thank you for your order #1001",  # at once, at 22:30
        "How is everything, Anne?",  # at 08:00
    ]


def test_the_frequency_cap_moves_the_third_message_to_the_next_free_slot(shop, inbox):
    order = place_order(shop, consent=True)
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
    with time_machine.travel(monday, tick=False):
        for kind in ("cross_sell", "review_request", "replenishment_reminder"):
            queue_message(shop, kind, customer=order.customer, dedupe_key=kind, order_id=order.id)
        done = send_due()
    assert done["sent"] == 2 and done["postponed"] == 1
    sent = set(Message.objects.filter(status="sent").values_list("kind", flat=True))
    assert sent == {"review_request", "replenishment_reminder"}  # the higher priorities
    waiting = Message.objects.get(kind="cross_sell")
    assert waiting.status == Message.Status.QUEUED
    assert waiting.due_at == monday + timedelta(days=7)
    # A cross-sell expires after 14 days: a week later it still makes sense, and goes.
    with time_machine.travel(monday + timedelta(days=7), tick=False):
        assert send_due()["sent"] == 1
    assert len(inbox.messages) == 3


def test_an_expired_message_is_not_sent(shop, inbox):
    order = place_order(shop, consent=True)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
    with time_machine.travel(start, tick=False):
        message, _ = queue_message(
            shop, "check_in", customer=order.customer, dedupe_key="c1", order_id=order.id
        )
    with time_machine.travel(start + timedelta(days=8), tick=False):
        assert send_due()["suppressed"] == 1
    message.refresh_from_db()
    assert "expired" in message.reason and inbox.messages == []


def test_a_mail_server_that_cannot_be_reached_means_a_retry_later(shop, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    order = place_order(shop)
    message, _ = confirm(shop, order)
    assert send_due()["retry"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.attempts == 1
    assert message.due_at > datetime.now(UTC) + timedelta(seconds=50)
    assert "Connection" in message.reason or "Errno" in message.reason


def test_erasing_the_customer_drops_her_queued_mail(shop, inbox):
    order = place_order(shop, consent=True)
    message, _ = queue_message(
        shop,
        "review_request",
        customer=order.customer,
        dedupe_key="r1",
        order_id=order.id,
        due_at=datetime.now(UTC) + timedelta(days=7),
    )
    erase_customer(Customer.objects.get(pk=order.customer_id), requested_by="test")
    message.refresh_from_db()
    assert message.status == Message.Status.SUPPRESSED and message.to_email == ""


def test_a_customer_who_says_yes_again_gets_marketing_again(shop, inbox):
    order = place_order(shop, consent=True)
    customer = Customer.objects.get(pk=order.customer_id)
    set_marketing_consent(customer, False, source="test")
    assert Suppression.objects.filter(email=customer.email).exists()
    set_marketing_consent(customer, True, source="preferences page")
    assert not Suppression.objects.filter(email=customer.email).exists()
    queue_message(shop, "win_back", customer=customer, dedupe_key="w1")
    assert send_due()["sent"] == 1


@pytest.mark.parametrize("answer,subscribed", [("no", False), ("yes", True)])
def test_the_preferences_page_records_the_choice(shop, client, answer, subscribed):
    from aftercart.messaging.links import preferences_url

    order = place_order(shop, consent=not subscribed)
    path = preferences_url(shop.id, "anne@example.com").split("127.0.0.1:8000", 1)[1]
    page = client.post(path, {"marketing": answer})
    assert page.status_code == 200 and b"Saved" in page.content
    assert Customer.objects.get(pk=order.customer_id).accepts_marketing is subscribed


def test_a_message_that_cannot_be_decided_on_fails_alone(shop, inbox):
    from aftercart.core.models import Shop

    order = place_order(shop, consent=True)
    broken, _ = queue_message(
        shop, "check_in", customer=order.customer, dedupe_key="c1", order_id=order.id
    )
    # A value the admin's validators refuse, written past them.
    Shop.objects.filter(pk=shop.pk).update(quiet_hours_start=2, quiet_hours_end=24)
    confirm(shop, order)
    done = send_due()
    assert done["failed"] == 1 and done["sent"] == 1  # the queue went on behind it
    broken.refresh_from_db()
    assert broken.status == Message.Status.FAILED and "could not be decided on" in broken.reason


def test_a_database_error_fails_its_message_and_the_batch_goes_on(shop, inbox, monkeypatch):
    """On PostgreSQL the error breaks the batch's transaction: the batch is decided again
    message by message, and nothing is counted or sent twice."""
    from django.db import connection

    from aftercart.messaging import services

    orders = [place_order(shop, email=f"c{i}@example.com") for i in range(3)]
    messages = [confirm(shop, order)[0] for order in orders]
    broken = messages[1]
    decide = services.decide

    def failing(message, *args):
        if message.pk == broken.pk:
            with connection.cursor() as cursor:
                cursor.execute("SELECT missing_column FROM messaging_message")
        return decide(message, *args)

    monkeypatch.setattr(services, "decide", failing)
    done = send_due()
    assert (done["sent"], done["failed"]) == (2, 1)
    assert sorted(r[0] for r in inbox.recipients) == ["c0@example.com", "c2@example.com"]
    broken.refresh_from_db()
    assert broken.status == Message.Status.FAILED and "missing_column" in broken.reason
    assert Message.objects.filter(status=Message.Status.SENT).count() == 2


def test_a_stuck_message_is_settled_once(shop, inbox):
    from aftercart.messaging.services import settle_stuck

    order = place_order(shop)
    message, _ = confirm(shop, order)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING)
    assert settle_stuck(message, send_again=True) is True
    assert settle_stuck(message, send_again=True) is False  # a second click changes nothing
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
