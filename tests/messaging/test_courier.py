"""A backlog goes out through the courier process: each email once, each answer recorded.

Real SMTP servers (aiosmtpd) on loopback; the courier is a real forked process."""

import multiprocessing
import os
import signal

import pytest

from aftercart.messaging import services
from aftercart.messaging.courier import Courier
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from tests.conftest import free_port
from tests.messaging.test_outbox import confirm, place_order


@pytest.fixture
def couriers(monkeypatch):
    """The couriers send_due starts (real ones), to see that one was used and has ended."""
    started = []

    class Watched(Courier):
        def __init__(self, mailer):
            super().__init__(mailer)
            started.append(self)

    monkeypatch.setattr(services, "Courier", Watched)
    return started


def queue(shop, count, email="anne@example.com"):
    order = place_order(shop, email=email)
    return [confirm(shop, order, key=f"confirmation-{i}")[0] for i in range(count)]


def test_a_backlog_goes_out_through_the_courier_once_each(shop, inbox, couriers):
    messages = queue(shop, 12)
    done = send_due(batch=5)
    assert done["sent"] == 12 and sum(done.values()) == 12
    assert len(couriers) == 1  # full batches: the next was rendered while one went out
    assert not couriers[0]._process.is_alive() and not multiprocessing.active_children()
    ids = sorted(mail["X-Aftercart-Message"] for mail in inbox.messages)
    assert ids == sorted(m.dedupe_key for m in messages)  # each once
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        assert message.status == Message.Status.SENT and message.sent_at is not None
        assert message.sent_at >= message.sending_at


def test_a_few_emails_go_without_a_courier(shop, inbox, couriers):
    queue(shop, 3)
    assert send_due(batch=5)["sent"] == 3
    assert couriers == [] and len(inbox.messages) == 3


def test_what_the_server_refuses_is_recorded_and_the_rest_goes(shop, inbox, couriers):
    async def refuse_one(server, session, envelope, address, options):
        if address == "nobody@example.com":
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    inbox.handle_RCPT = refuse_one
    good = queue(shop, 6)
    [bad] = queue(shop, 1, email="nobody@example.com")
    done = send_due(batch=3)
    assert done["sent"] == 6 and done["failed"] == 1 and couriers
    bad.refresh_from_db()
    assert bad.status == Message.Status.FAILED and "No such user" in bad.reason
    assert len(inbox.messages) == 6
    assert {m.status for m in Message.objects.filter(pk__in=[m.pk for m in good])} == {"sent"}


def test_a_server_that_cannot_be_reached_means_a_retry_later(shop, settings, couriers):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    messages = queue(shop, 4)
    done = send_due(batch=2)
    assert done["retry"] == 4 and done["sent"] == 0 and couriers
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        assert message.status == Message.Status.QUEUED
        assert "ConnectionRefusedError" in message.reason


def test_a_courier_killed_mid_batch_leaves_its_batch_for_the_merchant(shop, inbox, couriers):
    real = inbox.handle_DATA

    async def take_then_kill_the_courier(server, session, envelope):
        answer = await real(server, session, envelope)
        if len(inbox.messages) == 2:  # the server has the mail; the courier dies
            os.kill(couriers[0]._process.pid, signal.SIGKILL)
        return answer

    inbox.handle_DATA = take_then_kill_the_courier
    queue(shop, 9)
    done = send_due(batch=3)
    # Its batch of three: unknown whether they went (two did); never sent again by
    # themselves. The worker sends the rest itself.
    assert done["unknown"] == 3 and done["sent"] == 6
    unknown = Message.objects.filter(status=Message.Status.SENDING)
    assert unknown.count() == 3
    assert all("unknown whether it went out" in m.reason for m in unknown)
    assert send_due(batch=3)["sent"] == 0
    assert len(inbox.messages) == 8  # two of the courier's batch, six after it; none twice
    assert len({m["X-Aftercart-Message"] for m in inbox.messages}) == 8


def test_a_courier_gone_before_it_takes_a_batch_means_the_worker_sends_it(shop, inbox, monkeypatch):
    started = []

    class Stillborn(Courier):
        def __init__(self, mailer):
            super().__init__(mailer)
            started.append(self)
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.join(timeout=10)

    monkeypatch.setattr(services, "Courier", Stillborn)
    messages = queue(shop, 7)
    done = send_due(batch=3)
    assert done["sent"] == 7 and sum(done.values()) == 7
    assert len(started) == 1  # not a new one for every batch after it
    assert sorted(m["X-Aftercart-Message"] for m in inbox.messages) == sorted(
        m.dedupe_key for m in messages
    )
