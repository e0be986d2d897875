"""Deliveries reach a real receiver, signed per Standard Webhooks, retried on the spec's schedule."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from aftercart.webhooks.models import Delivery, Endpoint
from aftercart.webhooks.services import (
    RETRY_AFTER,
    SENDING_LEASE,
    create_endpoint,
    resend,
    rotate_secret,
    send_due,
    send_event,
)

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification, written from the spec, not from our code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = b".".join(
        [headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body]
    )
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (s.partition(",") for s in headers["webhook-signature"].split())
    )


def placed(shop, **data):
    return send_event(shop, "order.placed", {"order_id": None, **data})


def test_a_delivery_is_signed_so_the_receiver_can_verify_it(shop, endpoint, receiver):
    [delivery] = placed(shop, note="hello")
    before = int(timezone.now().timestamp())
    assert send_due() == {"succeeded": 1, "failed": 0, "abandoned": 0}

    [request] = receiver.requests
    secret = Endpoint.objects.get(pk=endpoint.pk).signing_secret
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert verify(secret, request.headers, request.body)
    assert not verify(secret, request.headers, request.body.replace(b"hello", b"hellO"))
    assert request.headers["webhook-id"] == delivery.message_id.strip()
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - before) <= 5
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["type"] == "order.placed"
    assert body["data"]["note"] == "hello"
    assert timezone.datetime.fromisoformat(body["timestamp"])  # ISO 8601
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.next_attempt_at is None
    assert delivery.last_status_code == 200 and delivery.last_response == "ok"


def test_a_500_is_retried_5_seconds_later_with_the_same_id(shop, endpoint, receiver):
    receiver.answer(500, b"database down")
    [delivery] = placed(shop)
    now = timezone.now()
    assert send_due(now=now)["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.next_attempt_at == now + timedelta(seconds=5)
    assert delivery.last_status_code == 500 and delivery.last_response == "database down"

    assert send_due(now=now + timedelta(seconds=4)) == {"succeeded": 0, "failed": 0, "abandoned": 0}
    assert send_due(now=now + timedelta(seconds=5))["succeeded"] == 1
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]


def test_a_429_waits_as_long_as_retry_after_says(shop, endpoint, receiver):
    receiver.answer(429, b"slow down", retry_after="120")
    [delivery] = placed(shop)
    now = timezone.now()
    send_due(now=now)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=120)
    assert send_due(now=now + timedelta(seconds=60))["succeeded"] == 0
    assert send_due(now=now + timedelta(seconds=120))["succeeded"] == 1
    assert len(receiver.requests) == 2


def test_after_the_last_try_the_delivery_is_abandoned(shop, endpoint, receiver):
    for _ in range(20):
        receiver.answer(503, b"gone fishing")
    [delivery] = placed(shop)
    at = timezone.now()
    waits = []
    for _ in range(len(RETRY_AFTER) + 1):
        assert send_due(now=at) != {"succeeded": 0, "failed": 0, "abandoned": 0}
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append(delivery.next_attempt_at - at)
            at = delivery.next_attempt_at
    assert waits == RETRY_AFTER  # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    assert delivery.status == Delivery.Status.ABANDONED and delivery.attempts == 8
    assert send_due(now=at + timedelta(days=3))["failed"] == 0
    assert len(receiver.requests) == 8


def test_a_redirect_is_not_followed_and_counts_as_a_failure(shop, endpoint, receiver):
    receiver.answer(301, location=receiver.url + "/elsewhere")
    [delivery] = placed(shop)
    assert send_due()["failed"] == 1
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.last_status_code == 301 and "redirect" in delivery.error


def test_a_receiver_that_is_not_there_is_a_failure_with_the_reason(shop, receiver):
    receiver.stop()
    endpoint = create_endpoint(shop, receiver.url, "*")
    [delivery] = placed(shop)
    assert send_due()["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "Connect" in delivery.error
    assert delivery.attempt_log.get().status_code is None
    assert endpoint.active


def test_resend_is_a_new_attempt_now_and_keeps_the_log(shop, endpoint, receiver):
    for _ in range(8):
        receiver.answer(500)
    at = timezone.now() - timedelta(days=9)  # the eight tries happened in the last days
    with time_machine.travel(at):
        [delivery] = placed(shop)
    for _ in range(8):
        send_due(now=at)
        at += timedelta(days=1)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.ABANDONED

    resent = resend(delivery)
    assert resent.status == Delivery.Status.SUCCEEDED and resent.attempts == 9
    log = list(resent.attempt_log.all())
    assert len(log) == 9 and log[-1].by_hand and log[-1].status_code == 200
    assert receiver.requests[-1].headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]


def test_a_delivery_being_sent_is_not_sent_by_another_worker(shop, endpoint, receiver):
    [delivery] = placed(shop)
    now = timezone.now()
    # As a worker leaves it while its request is under way.
    Delivery.objects.filter(pk=delivery.pk).update(sending_since=now)
    assert send_due(now=now)["succeeded"] == 0
    assert resend(delivery).attempts == 0
    assert receiver.requests == []
    # A worker that died mid-send: after the lease, it is sent again (at least once).
    assert send_due(now=now + SENDING_LEASE + timedelta(seconds=1))["succeeded"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_two_workers_at_once_send_each_delivery_once(shop, endpoint, receiver):
    import threading

    for n in range(30):
        placed(shop, n=n)
    results = []

    def worker():
        results.append(send_due())
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sum(r["succeeded"] for r in results) == 30


def test_after_a_rotation_both_secrets_sign_for_a_day(shop, endpoint, receiver):
    old = endpoint.signing_secret
    rotate_secret(endpoint)
    new = Endpoint.objects.get(pk=endpoint.pk).signing_secret
    assert new != old
    placed(shop)
    send_due()
    request = receiver.requests[-1]
    assert verify(new, request.headers, request.body) and verify(old, request.headers, request.body)
    placed(shop)
    send_due(now=timezone.now() + timedelta(hours=25))
    request = receiver.requests[-1]
    assert verify(new, request.headers, request.body)
    assert not verify(old, request.headers, request.body)


def test_an_endpoint_nothing_reached_for_days_is_switched_off(shop, receiver):
    with time_machine.travel(timezone.now() - timedelta(days=6)):
        endpoint = create_endpoint(shop, receiver.url, "*")
    for _ in range(8):
        receiver.answer(500)
    [delivery] = placed(shop)
    at = timezone.now()
    for _ in range(8):
        send_due(now=at)
        at += timedelta(days=1)
    endpoint.refresh_from_db()
    assert not endpoint.active and "5 days" in endpoint.disabled_reason
    placed(shop)  # a switched-off endpoint gets no new deliveries
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1


def test_a_flow_can_send_to_one_endpoint_whatever_it_chose(shop, endpoint, receiver):
    other = create_endpoint(shop, receiver.url + "/other", "customer.*")
    made = send_event(shop, "flow.step_reached", {"flow": "win-back"}, endpoint_id=other.pk)
    assert [d.endpoint_id for d in made] == [other.pk]
    assert send_event(shop, "flow.step_reached", {"flow": "win-back"}) == []
    send_due()
    assert json.loads(receiver.requests[0].body)["data"] == {"flow": "win-back"}
    with pytest.raises(ValueError, match="not an event name"):
        send_event(shop, "Not An Event", {})
