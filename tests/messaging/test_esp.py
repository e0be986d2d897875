"""Email providers through django-anymail: ids kept, bounces and complaints suppress the
address, a mail app's unsubscribe by email works. Webhooks are posted as Postmark
documents them, through the real URL with basic auth."""

import base64
import json

import pytest
from django.core import mail

from aftercart.customers.models import Customer, Suppression
from aftercart.messaging.models import Message
from aftercart.messaging.services import build_email, queue_message, send_due
from aftercart.settings import _email
from tests.messaging.test_outbox import confirm, place_order

AUTH = "Basic " + base64.b64encode(b"esp:test-webhook-secret").decode()


@pytest.fixture
def provider(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:test-webhook-secret"}
    return settings


def post(client, path, payload, auth=AUTH):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(path, json.dumps(payload), content_type="application/json", **headers)


def bounce(message, kind="HardBounce"):
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 512,
        "Name": "Hard bounce",
        "Tag": message.kind,
        "MessageID": message.provider_id,
        "Metadata": {"aftercart_message": str(message.pk)},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": message.to_email,
        "From": "shop@example.com",
        "BouncedAt": "2026-11-23T16:33:54.9070259Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": message.subject,
    }


def sent_confirmation(shop):
    order = place_order(shop, consent=True)
    message, _ = confirm(shop, order)
    send_due()
    message.refresh_from_db()
    return order, message


def test_a_provider_gets_our_id_and_its_own_id_is_kept(shop, provider):
    _order, message = sent_confirmation(shop)
    assert message.status == Message.Status.SENT
    assert message.provider_id == "0"  # the test provider's id: its outbox position
    [sent] = mail.outbox
    assert sent.metadata == {"aftercart_message": str(message.pk)}
    assert sent.tags == ["order_confirmation"]
    assert sent.track_opens is False and sent.track_clicks is False  # off unless chosen


def test_a_hard_bounce_stops_all_mail_to_the_address(shop, provider, client):
    order, message = sent_confirmation(shop)
    response = post(client, "/esp/postmark/tracking/", bounce(message))
    assert response.status_code == 200
    row = Suppression.objects.get(shop=shop, email=message.to_email)
    assert row.reason == Suppression.Reason.BOUNCED
    assert row.detail.lower().startswith("postmark: the server was unable")
    message.refresh_from_db()
    assert message.reason.startswith("bounced")

    # Neither marketing nor order mail goes to an address that does not exist.
    again, _ = confirm(shop, order, key="second")
    check_in, _ = queue_message(
        shop, "check_in", customer=order.customer, dedupe_key="check-in", order_id=order.pk
    )
    send_due()
    for queued in (again, check_in):
        queued.refresh_from_db()
        assert queued.status == Message.Status.SUPPRESSED
    assert len(mail.outbox) == 1


def test_a_spam_complaint_suppresses_marketing_mail(shop, provider, client):
    order, message = sent_confirmation(shop)
    complaint = {
        **bounce(message, "SpamComplaint"),
        "RecordType": "SpamComplaint",
        "Name": "Spam complaint",
    }
    assert post(client, "/esp/postmark/tracking/", complaint).status_code == 200
    assert Suppression.objects.get(shop=shop).reason == Suppression.Reason.COMPLAINED
    news, _ = queue_message(
        shop, "cross_sell", customer=order.customer, dedupe_key="x-sell", order_id=order.pk
    )
    send_due()
    news.refresh_from_db()
    assert news.status == Message.Status.SUPPRESSED


def test_a_webhook_without_the_secret_is_refused_and_changes_nothing(shop, provider, client):
    _order, message = sent_confirmation(shop)
    wrong = "Basic " + base64.b64encode(b"esp:guess").decode()
    assert post(client, "/esp/postmark/tracking/", bounce(message), auth=wrong).status_code in (
        400,
        401,
        403,
    )
    assert post(client, "/esp/postmark/tracking/", bounce(message), auth=None).status_code in (
        400,
        401,
        403,
    )
    assert not Suppression.objects.exists()


def test_an_email_to_the_unsubscribe_mailbox_unsubscribes(shop, provider, client):
    provider.AFTERCART_UNSUBSCRIBE_MAILBOX = "unsubscribe@mail.roastery.example"
    order = place_order(shop, consent=True)
    news, _ = queue_message(
        shop, "cross_sell", customer=order.customer, dedupe_key="x-sell", order_id=order.pk
    )
    send_due()
    news.refresh_from_db()
    header = build_email(news).extra_headers["List-Unsubscribe"]
    https, mailto = [part.strip("<> ") for part in header.split(",")]
    assert https.startswith("http") and mailto.startswith("mailto:unsubscribe@mail.roastery")
    subject = mailto.split("subject=", 1)[1].replace("%20", " ")

    inbound = {
        "FromFull": {"Email": order.customer.email, "Name": "Anne"},
        "ToFull": [{"Email": "unsubscribe@mail.roastery.example", "Name": ""}],
        "CcFull": [],
        "BccFull": [],
        "OriginalRecipient": "unsubscribe@mail.roastery.example",
        "Subject": subject,
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "Date": "Mon, 23 Nov 2026 16:00:00 +0100",
        "TextBody": "",
        "HtmlBody": "",
        "Headers": [],
        "Attachments": [],
    }
    assert post(client, "/esp/postmark/inbound/", inbound).status_code == 200
    assert Customer.objects.get(pk=order.customer_id).accepts_marketing is False

    # A forged token does nothing.
    other = place_order(shop, email="bob@example.com", consent=True)
    forged = {**inbound, "Subject": "unsubscribe not-a-token"}
    assert post(client, "/esp/postmark/inbound/", forged).status_code == 200
    assert Customer.objects.get(pk=other.customer_id).accepts_marketing is True


def test_the_email_url_names_any_provider_and_its_settings():
    assert _email("anymail://postmark?server_token=abc-123") == {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL": {"POSTMARK_SERVER_TOKEN": "abc-123"},
    }
    with pytest.raises(ValueError, match="anymail://<provider>"):
        _email("anymail://../evil")


def test_a_soft_bounce_is_noted_but_stops_nothing(shop, provider, client):
    order, message = sent_confirmation(shop)
    soft = {**bounce(message, "SoftBounce"), "Name": "Soft bounce", "Description": "Mailbox full"}
    assert post(client, "/esp/postmark/tracking/", soft).status_code == 200
    assert not Suppression.objects.exists()
    message.refresh_from_db()
    assert message.reason.startswith("bounced")
    again, _ = confirm(shop, order, key="second")
    send_due()
    again.refresh_from_db()
    assert again.status == Message.Status.SENT


def test_a_complaint_after_a_bounce_keeps_the_address_blocked_for_all_mail(shop, provider, client):
    _order, message = sent_confirmation(shop)
    post(client, "/esp/postmark/tracking/", bounce(message))
    complaint = {**bounce(message, "SpamComplaint"), "RecordType": "SpamComplaint"}
    post(client, "/esp/postmark/tracking/", complaint)
    assert Suppression.objects.get(shop=shop).reason == Suppression.Reason.BOUNCED
