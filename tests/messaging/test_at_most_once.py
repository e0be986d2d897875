"""A worker killed between sending a mail and marking it sent: the mail is not sent twice."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due, settle_stuck, stuck_messages
from tests.messaging.test_outbox import confirm, place_order

pytestmark = pytest.mark.django_db(transaction=True)

# A worker process whose mail goes out and which then dies, as by SIGKILL, before it can
# record that it was sent.
WORKER = """
import os, signal, django
django.setup()
import smtplib
real_send = smtplib.SMTP.sendmail

def send_then_die(self, *args, **kwargs):
    real_send(self, *args, **kwargs)  # the SMTP server has the mail now
    os.kill(os.getpid(), signal.SIGKILL)

smtplib.SMTP.sendmail = send_then_die
from aftercart.messaging.services import send_due
send_due()
"""


def test_a_worker_killed_after_sending_leaves_the_message_for_the_merchant(shop, inbox):
    from django.db import connection

    order = place_order(shop)
    message, _ = confirm(shop, order)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftercart.settings",
        "DATABASE_URL": _database_url(connection),
        "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
    }
    worker = subprocess.run([sys.executable, "-c", WORKER], env=env, timeout=60)
    assert worker.returncode == -9  # killed mid-task
    assert len(inbox.messages) == 1  # the mail went out

    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    # The next worker does not send it again by itself.
    assert send_due() == {
        "sent": 0,
        "suppressed": 0,
        "postponed": 0,
        "failed": 0,
        "retry": 0,
        "unknown": 0,
    }
    assert len(inbox.messages) == 1

    # After a while it is shown to the merchant, who decides: it did arrive.
    assert list(stuck_messages(shop)) == []
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        assert list(stuck_messages(shop)) == [message]
    settle_stuck(message, send_again=False)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert len(inbox.messages) == 1


def _database_url(connection) -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"
