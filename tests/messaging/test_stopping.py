"""A worker told to stop in the middle of a long drain stops after the batch in hand."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from aftercart.core import stopping
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from tests.conftest import Inbox
from tests.messaging.test_at_most_once import _database_url
from tests.messaging.test_outbox import confirm, place_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_drain_asked_to_stop_leaves_the_rest_queued(shop, inbox):
    order = place_order(shop)
    for i in range(3):
        confirm(shop, order, key=f"confirmation-{i}")
    stopping.request()
    try:
        assert send_due()["sent"] == 0
    finally:
        stopping.reset()
    assert Message.objects.filter(status=Message.Status.QUEUED).count() == 3
    assert send_due()["sent"] == 3
    assert len(inbox.messages) == 3


def test_a_worker_stopped_mid_drain_exits_soon_and_sends_nothing_twice(shop, inbox):
    async def slow(server, session, envelope):  # a mail server taking 20 ms per message
        await asyncio.sleep(0.02)
        return await Inbox.handle_DATA(inbox, server, session, envelope)

    inbox.handle_DATA = slow
    order = place_order(shop)
    for i in range(400):  # about 8 s of sending at that pace
        confirm(shop, order, key=f"confirmation-{i}")
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftercart.settings",
        "DATABASE_URL": _database_url(connection),
        "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "aftercart.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(inbox.messages) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert inbox.messages, "the worker sent nothing"
        os.killpg(worker.pid, signal.SIGTERM)
        asked = time.monotonic()
        worker.wait(timeout=30)
        # The batch in hand (50 messages, 1 s here), not the whole backlog (8 s).
        assert time.monotonic() - asked < 5
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    arrived = sum(":confirmation-" in m["X-Aftercart-Message"] for m in inbox.messages)
    # This test's 400 (the order's own confirmation from the default loop may be queued too).
    ours = Message.objects.filter(dedupe_key__contains=":confirmation-")
    counts = {s: ours.filter(status=s).count() for s in Message.Status.values}
    assert counts[Message.Status.SENT] == arrived < 400
    assert counts[Message.Status.QUEUED] == 400 - arrived  # left for the next worker
    assert counts[Message.Status.SENDING] == 0
