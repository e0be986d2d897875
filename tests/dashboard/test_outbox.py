"""The merchant reads every email as it was sent, sees why one was not, and settles a stuck one."""

from datetime import UTC, datetime, timedelta

import time_machine

from aftercart.messaging.models import Message
from aftercart.messaging.services import queue_message, send_due
from tests.dashboard.conftest import make_user
from tests.messaging.test_outbox import confirm, place_order


def test_the_outbox_lists_sent_and_held_mail_with_the_reason(shop, staff_client, inbox):
    order = place_order(shop, consent=False)
    confirm(shop, order)
    queue_message(
        shop, "review_request", customer=order.customer, dedupe_key="r", order_id=order.id
    )
    send_due()

    page = staff_client.get(f"/shops/{shop.slug}/emails/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Thank you for your order #1001" in html
    assert "no recorded consent to marketing mail" in html
    held = staff_client.get(f"/shops/{shop.slug}/emails/?status=suppressed").content.decode()
    assert "no recorded consent" in held and "Thank you for your order" not in held


def test_a_sent_email_reads_as_the_customer_saw_it(shop, staff_client, inbox):
    order = place_order(shop)
    message, _ = confirm(shop, order)
    send_due()
    page = staff_client.get(f"/shops/{shop.slug}/emails/{message.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<iframe class="mail-preview"' in html and "sandbox" in html
    assert "Espresso beans 1 kg" in html  # inside the srcdoc, escaped
    assert "Plain-text part" in html


def test_another_shops_email_is_not_found(shop, other_shop, client, inbox):
    order = place_order(shop)
    message, _ = confirm(shop, order)
    client.force_login(make_user("other", shops=[other_shop]))
    assert client.get(f"/shops/{other_shop.slug}/emails/{message.pk}/").status_code == 404
    assert client.get(f"/shops/{shop.slug}/emails/{message.pk}/").status_code == 404


def test_a_stuck_email_waits_for_the_merchant_who_can_send_it_again(shop, staff_client, inbox):
    order = place_order(shop)
    message, _ = confirm(shop, order)
    # As a worker that died mid-send leaves it.
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, sending_at=datetime.now(UTC), sent_at=datetime.now(UTC)
    )
    later = datetime.now(UTC) + timedelta(minutes=15)
    with time_machine.travel(later):
        outbox = staff_client.get(f"/shops/{shop.slug}/emails/").content.decode()
        assert "may or may not have arrived" in outbox
        done = staff_client.post(
            f"/shops/{shop.slug}/emails/{message.pk}/settle/", {"decision": "send-again"}
        )
        assert done.status_code == 302
        assert send_due()["sent"] == 1
    assert len(inbox.to("anne@example.com")) == 1
