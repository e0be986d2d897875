"""Tickets from the order page, by email and from agents: threading, SLA clocks, emails."""

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.flows.services import install_default_loop
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.orders.links import status_url
from aftercart.orders.services import record_order
from aftercart.support.models import Ticket, TicketMessage
from aftercart.support.services import add_note, new_inbound_secret, reply, set_status
from tests.returns.conftest import order_data

pytestmark = pytest.mark.django_db(transaction=True)
AMS = ZoneInfo("Europe/Amsterdam")
FRIDAY = datetime(2026, 11, 20, 16, 0, tzinfo=AMS)  # 4 business hours: Monday at 12:00


@pytest.fixture
def order(shop):
    shop.reply_to = "help@roastery.example"
    shop.save()
    install_default_loop(shop)
    with time_machine.travel(FRIDAY - timedelta(days=10)):
        return record_order(shop, order_data()).order


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def ask_on_the_order_page(client, order, message="Where is my grinder?", category="delivery"):
    contact = path(status_url(order.shop_id, order.pk)) + "contact/"
    return client.post(contact, {"category": category, "message": message})


def mails_to(inbox, address="anne@example.com"):
    return [m for m in inbox.messages if m["To"] == address]


def email(shop, subject, text, *, sender="anne@example.com", reply_to=None, headers=None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Anne de Vries <{sender}>"
    mail["To"] = "help@roastery.example"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="mail.example")
    if reply_to:
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    return bytes(mail)


def post_email(client, shop, secret, raw: bytes, signature=None):
    signed = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return client.post(
        f"/webhooks/inbound-mail/{shop.slug}",
        raw,
        content_type="message/rfc822",
        HTTP_X_AFTERCART_SIGNATURE=signature or signed,
    )


def test_a_question_from_the_order_page_is_acknowledged_with_when_we_answer(
    client, shop, order, inbox
):
    with time_machine.travel(FRIDAY, tick=False):
        response = ask_on_the_order_page(client, order)
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        send_due()
    ticket = Ticket.objects.get()
    assert (ticket.number, ticket.order_id, ticket.customer_id) == (
        1001,
        order.pk,
        order.customer_id,
    )
    assert (ticket.category, ticket.priority, ticket.channel) == ("delivery", "normal", "form")
    # Friday 16:00 with 4 business hours: one hour on Friday, three on Monday from 09:00.
    assert ticket.first_response_due == datetime(2026, 11, 23, 12, 0, tzinfo=AMS)
    assert "#1001" in page and "23 Nov, 12:00" in page
    [ack] = [m for m in mails_to(inbox) if "1001]" in m["Subject"]]
    assert ack["Subject"] == "We have your message [#1001]"
    text = inbox.text(ack)
    assert "answers you by Monday 23 November, 12:00 at the latest" in text
    assert "Where is my grinder?" in text


def test_a_complaint_from_the_form_comes_first(client, shop, order):
    with time_machine.travel(FRIDAY, tick=False):
        ask_on_the_order_page(client, order, "It arrived broken!", category="complaint")
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.priority) == ("complaint", "high")
    assert ticket.first_response_due == datetime(2026, 11, 23, 10, 0, tzinfo=AMS)


def test_the_form_says_what_is_missing(client, shop, order):
    response = ask_on_the_order_page(client, order, message="  ")
    assert response.status_code == 400
    assert "Choose what it is about and write your message." in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_reply_threads_in_her_mail_app_and_her_answer_threads_back(client, shop, order, inbox):
    secret = new_inbound_secret(shop)
    first = email(shop, "Grinder question", "Does the grinder take 58 mm burrs?")
    with time_machine.travel(FRIDAY, tick=False):
        assert post_email(client, shop, secret, first).json() == {"ticket": 1001, "opened": True}
        send_due()
    ticket = Ticket.objects.get()
    asked_id = TicketMessage.objects.get().message_id

    with time_machine.travel(FRIDAY + timedelta(minutes=30), tick=False):
        reply(ticket, "Hi Anne,\nYes, it does.", agent="Sam")
        send_due()
    [answer] = [m for m in mails_to(inbox) if m["Subject"].startswith("Re:")]
    assert answer["Subject"] == "Re: Grinder question [#1001]"
    assert answer["In-Reply-To"] == asked_id and asked_id in answer["References"]
    assert "Yes, it does." in inbox.text(answer) and "Sam" in inbox.text(answer)
    ticket.refresh_from_db()
    assert ticket.status == "waiting"
    assert ticket.first_responded_at == FRIDAY + timedelta(minutes=30)

    # Her answer to our reply (her app sets In-Reply-To) lands in the same ticket.
    back = email(
        shop,
        "Re: Grinder question [#1001]",
        "Great, thanks!\n\nOn Fri Sam wrote:\n> Yes",
        reply_to=answer["Message-ID"],
    )
    with time_machine.travel(FRIDAY + timedelta(hours=1), tick=False):
        assert post_email(client, shop, secret, back).json() == {"ticket": 1001, "opened": False}
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert list(ticket.messages.values_list("kind", "body")) == [
        ("in", "Does the grinder take 58 mm burrs?"),
        ("out", "Hi Anne,\nYes, it does."),
        ("in", "Great, thanks!"),  # the quoted part is cut off
    ]


def test_a_reply_to_the_acknowledgement_joins_the_ticket(client, shop, order, inbox):
    secret = new_inbound_secret(shop)
    with time_machine.travel(FRIDAY, tick=False):
        ask_on_the_order_page(client, order)
        send_due()
    ack = Message.objects.get(kind="ticket_acknowledgement")
    more = email(
        shop, "Re: We have your message [#1001]", "Also: the box was wet.", reply_to=ack.message_id
    )
    assert post_email(client, shop, secret, more).json() == {"ticket": 1001, "opened": False}
    assert Ticket.objects.count() == 1


def test_the_number_in_the_subject_only_threads_from_her_own_address(client, shop, order):
    secret = new_inbound_secret(shop)
    post_email(client, shop, secret, email(shop, "Hello", "First question"))
    same = email(shop, "About [#1001]", "Second question")
    other = email(shop, "About [#1001]", "I am someone else", sender="mallory@example.net")
    assert post_email(client, shop, secret, same).json()["opened"] is False
    assert post_email(client, shop, secret, other).json() == {"ticket": 1002, "opened": True}
    assert Ticket.objects.get(number=1002).email == "mallory@example.net"


def test_the_same_email_twice_is_kept_once(client, shop, order):
    secret = new_inbound_secret(shop)
    raw = email(shop, "Hello", "Once, please")
    post_email(client, shop, secret, raw)
    assert post_email(client, shop, secret, raw).json() == {"ticket": 1001, "opened": False}
    assert TicketMessage.objects.count() == 1


def test_an_out_of_office_gets_no_acknowledgement_and_reopens_nothing(client, shop, order, inbox):
    secret = new_inbound_secret(shop)
    auto = email(
        shop, "Out of office", "I am away until Monday.", headers={"Auto-Submitted": "auto-replied"}
    )
    post_email(client, shop, secret, auto)
    send_due()
    assert not Message.objects.filter(kind="ticket_acknowledgement").exists()


def test_an_email_naming_her_order_is_linked_to_it(client, shop, order):
    secret = new_inbound_secret(shop)
    post_email(client, shop, secret, email(shop, "Order 1001 is late", "Where is order #1001?"))
    assert Ticket.objects.get().order_id == order.pk


@pytest.mark.parametrize(
    "raw,signature,status,error",
    [
        (
            b"From: anne@example.com\r\nSubject: x\r\n\r\nhi",
            "bad",
            401,
            "X-Aftercart-Signature does not match the body",
        ),
        (b"Subject: no sender\r\n\r\nhi", None, 400, "the email has no From address"),
    ],
)
def test_inbound_mail_that_is_not_right_is_refused_and_nothing_kept(
    client, shop, raw, signature, status, error
):
    secret = new_inbound_secret(shop)
    response = post_email(client, shop, secret, raw, signature=signature)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert not Ticket.objects.exists()


def test_waiting_on_her_stops_the_resolution_clock(shop, order):
    with time_machine.travel(FRIDAY, tick=False):
        ticket = _ticket_by_email(shop)
    # 16 business hours from Friday 16:00: one on Friday, eight on Monday, seven on Tuesday.
    due = Ticket.objects.get().resolution_due
    assert due == datetime(2026, 11, 24, 16, 0, tzinfo=AMS)
    with time_machine.travel(FRIDAY + timedelta(minutes=30), tick=False):
        reply(ticket, "Which colour did you order?", agent="Sam")
    # She answers on Monday at 10:00: she took 30 minutes on Friday and an hour on Monday.
    from aftercart.support.services import add_customer_message

    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=AMS), tick=False):
        add_customer_message(ticket, "Black", author="anne@example.com")
    ticket.refresh_from_db()
    assert ticket.status == "open"
    # Moved on by her hour and a half: Tuesday's last hour, then Wednesday from 09:00.
    assert ticket.resolution_due == datetime(2026, 11, 25, 9, 30, tzinfo=AMS)


def _ticket_by_email(shop):
    from aftercart.support.inbound import read_email
    from aftercart.support.services import receive_email

    return receive_email(shop, read_email(email(shop, "Colour", "Which colours are there?")))[0]


def test_notes_stay_inside_and_hostile_text_stays_text(client, shop, order, inbox):
    with time_machine.travel(FRIDAY, tick=False):
        ask_on_the_order_page(client, order, message='<img src=x onerror="alert(1)"> help')
        ticket = Ticket.objects.get()
        add_note(ticket, "Check with the warehouse", agent="Sam")
        reply(ticket, "We <b>looked</b> into it.", agent="Sam")
        send_due()
    [answer] = [m for m in mails_to(inbox) if m["Subject"].startswith("Re:")]
    html = inbox.html(answer)
    assert "We &lt;b&gt;looked&lt;/b&gt; into it." in html
    assert "Check with the warehouse" not in html
    assert "onerror" not in inbox.html(
        [m for m in mails_to(inbox) if "message [#" in m["Subject"]][0]
    ).replace("onerror=&quot;", "")


def test_the_clock_waits_from_the_first_reply_and_an_agent_reopening_keeps_the_pause(shop, order):
    with time_machine.travel(FRIDAY, tick=False):
        ticket = _ticket_by_email(shop)
    with time_machine.travel(FRIDAY + timedelta(minutes=30), tick=False):
        reply(ticket, "Which colour?", agent="Sam")
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=AMS), tick=False):
        reply(ticket, "Just checking: which colour?", agent="Sam")  # she still waits
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=AMS), tick=False):
        set_status(ticket, "open", agent="Sam")  # the agent takes it up again himself
    ticket.refresh_from_db()
    # Waiting from Friday 16:30: half an hour on Friday and an hour on Monday stood still.
    assert ticket.paused == timedelta(minutes=90)
    assert ticket.resolution_due == datetime(2026, 11, 25, 9, 30, tzinfo=AMS)


def test_a_new_priority_counts_from_the_clocks_start_with_its_pauses(shop, order):
    from aftercart.support.services import add_customer_message, change

    with time_machine.travel(FRIDAY, tick=False):
        ticket = _ticket_by_email(shop)
    with time_machine.travel(FRIDAY + timedelta(minutes=30), tick=False):
        reply(ticket, "Which colour?", agent="Sam", resolve=True)
    # Ten days later she writes again: a clock of its own, from Monday 30th at 10:00.
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=AMS), tick=False):
        add_customer_message(ticket, "It is still broken", author="anne@example.com")
        change(Ticket.objects.get(pk=ticket.pk), priority="urgent")
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.resolution_due == datetime(2026, 11, 30, 14, 0, tzinfo=AMS)  # 4 hours


def test_christmas_is_not_counted(shop, order):
    # Thursday 24 December 16:00; Friday and Saturday are Christmas, Sunday is closed.
    with time_machine.travel(datetime(2026, 12, 24, 16, 0, tzinfo=AMS), tick=False):
        ticket = _ticket_by_email(shop)
    assert ticket.first_response_due == datetime(2026, 12, 28, 12, 0, tzinfo=AMS)


def test_a_reply_through_the_email_providers_inbound_webhook_joins_its_ticket(
    client, shop, order, inbox, settings
):
    import base64 as b64
    import json

    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:test-webhook-secret"}
    with time_machine.travel(FRIDAY, tick=False):
        ask_on_the_order_page(client, order)
        send_due()
    ack = Message.objects.get(kind="ticket_acknowledgement")
    postmark = {  # Postmark's inbound document, as it posts it
        "FromFull": {"Email": "anne@example.com", "Name": "Anne"},
        "ToFull": [{"Email": "help@roastery.example", "Name": ""}],
        "CcFull": [],
        "BccFull": [],
        "OriginalRecipient": "help@roastery.example",
        "Subject": "Re: We have your message [#1001]",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "Date": "Fri, 20 Nov 2026 17:00:00 +0100",
        "TextBody": "And the box was wet.\n\nOn Fri, De Roasterij wrote:\n> We have your message",
        "HtmlBody": "",
        "Headers": [
            {"Name": "Message-ID", "Value": "<wet-box@mail.example>"},
            {"Name": "In-Reply-To", "Value": ack.message_id},
        ],
        "Attachments": [],
    }
    auth = "Basic " + b64.b64encode(b"esp:test-webhook-secret").decode()
    response = client.post(
        "/esp/postmark/inbound/",
        json.dumps(postmark),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("body", flat=True))[-1] == "And the box was wet."


def test_a_follow_up_on_a_resolved_ticket_starts_a_clock_of_its_own(shop, order):
    from aftercart.support.services import add_customer_message

    with time_machine.travel(FRIDAY, tick=False):
        ticket = _ticket_by_email(shop)
        reply(ticket, "Sorted!", agent="Sam", resolve=True)
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=AMS), tick=False):
        reply(ticket, "Did the new one arrive?", agent="Sam")  # the agent checks in
    with time_machine.travel(datetime(2026, 11, 30, 11, 0, tzinfo=AMS), tick=False):
        add_customer_message(ticket, "Not yet", author="anne@example.com")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.resolved_at is None
    # 16 business hours from Monday 30th 10:00, less nothing: she answered within the hour,
    # which counts as a pause of one hour.
    assert ticket.resolution_due == datetime(2026, 12, 2, 11, 0, tzinfo=AMS)


def test_her_message_opens_a_closed_ticket_again(shop, order):
    from aftercart.support.services import add_customer_message

    with time_machine.travel(FRIDAY, tick=False):
        ticket = _ticket_by_email(shop)
        set_status(ticket, "closed", agent="Sam")
        add_customer_message(ticket, "One more thing", author="anne@example.com")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.closed_at is None
