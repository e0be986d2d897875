"""What a mail server's answers mean for a message: later, never, or "ask the merchant".

Real SMTP servers on loopback: aiosmtpd answering 451 or 550, and a bare one that hangs
up after the message's data (it may have kept the mail, so it must not go again)."""

import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due, stuck_messages
from tests.conftest import free_port
from tests.messaging.test_outbox import confirm, place_order


class Answering:
    def __init__(self, answer: str):
        self.answer, self.calls = answer, 0

    async def handle_DATA(self, server, session, envelope):
        self.calls += 1
        return self.answer


def smtp_to(settings, port):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def answering(settings):
    servers = []

    def start(answer):
        handler, port = Answering(answer), free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        smtp_to(settings, port)
        return handler

    yield start
    for controller in servers:
        controller.stop()


def test_a_temporary_refusal_is_tried_again_later(shop, answering):
    server = answering("451 4.3.0 Try again later")
    order = place_order(shop)
    message, _ = confirm(shop, order)
    assert send_due()["retry"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and "451" in message.reason
    assert server.calls == 1


def test_a_permanent_refusal_fails_at_once(shop, answering):
    answering("550 5.1.1 No such user")
    order = place_order(shop)
    message, _ = confirm(shop, order)
    assert send_due()["failed"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "550" in message.reason


def test_a_server_that_hangs_up_after_the_data_gets_it_once_and_the_merchant_decides(
    shop, settings
):
    """The line drops after the message went over: the server may have it. Not again."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 hang-up.example ESMTP\r\n")
                in_data = False
                for line in lines:
                    if in_data:
                        if line == b".\r\n":
                            received.append(True)
                            break  # hang up without answering the data
                        continue
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        conn.sendall(b"250 hang-up.example\r\n")
                    elif verb == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        in_data = True
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 OK\r\n")

    threading.Thread(target=serve, daemon=True).start()
    smtp_to(settings, listener.getsockname()[1])
    order = place_order(shop)
    message, _ = confirm(shop, order)
    try:
        assert send_due()["unknown"] == 1
        assert send_due()["sent"] == 0  # not again by itself
    finally:
        listener.close()
    assert len(received) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    assert message.reason.startswith("unknown whether it went out")
    message.sending_at = message.sending_at.replace(year=message.sending_at.year - 1)
    message.save()
    assert list(stuck_messages(shop)) == [message]  # shown to the merchant


def test_a_mistake_in_the_email_settings_leaves_every_message_queued(shop, settings):
    settings.EMAIL_BACKEND = "anymail.backends.nosuchprovider.EmailBackend"
    order = place_order(shop)
    message, _ = confirm(shop, order)
    with pytest.raises(ImportError):
        send_due()
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.attempts == 0
