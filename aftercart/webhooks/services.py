"""Outgoing webhooks: endpoints, a delivery row per (endpoint, event), sending with retries.

Every event an endpoint wants becomes a Delivery row when the event's transaction has
committed; a worker sends it, signed (Standard Webhooks), and retries a failure on the
spec's schedule until it succeeds or is abandoned. Delivery is at least once: a worker that
dies after the receiver answered sends it again later, with the same webhook-id, which is
how receivers recognise a repeat.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercart.core import schedule, stopping
from aftercart.core.crypto import decrypt, encrypt
from aftercart.core.events import DomainEvent
from aftercart.core.models import Shop
from aftercart.webhooks import payloads, signing
from aftercart.webhooks.addresses import UnsafeUrl, check_url
from aftercart.webhooks.event_types import NOT_SENT, EventTypeProblem, check_name, parse_choice
from aftercart.webhooks.event_types import matches as wants
from aftercart.webhooks.models import Attempt, Delivery, Endpoint
from aftercart.webhooks.sending import Outcome, post

log = logging.getLogger(__name__)
# After the first attempt fails: the Standard Webhooks suggestion. Eight tries over a day
# and a bit; then the delivery is abandoned (it can still be resent from the dashboard).
RETRY_AFTER = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
SENDING_LEASE = timedelta(minutes=5)  # far beyond a request's time limits
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long
DISABLE_AFTER = timedelta(days=5)  # no success for this long: the endpoint is switched off
TEST_EVENT = "webhook.test"


class InvalidEndpoint(ValueError):
    """What is wrong with an endpoint's settings, per field ("url", "event_types")."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


# --- Endpoints ----------------------------------------------------------------------------


def _checked(url: str, event_types: str | list[str], description: str) -> dict[str, Any]:
    problems: dict[str, str] = {}
    url = (url or "").strip()
    if len(url) > 500:
        problems["url"] = _("The URL is longer than 500 characters.")
    else:
        try:
            check_url(url)
        except UnsafeUrl as exc:
            problems["url"] = str(exc)
    try:
        chosen = parse_choice(event_types)
    except EventTypeProblem as exc:
        problems["event_types"] = str(exc)
    if problems:
        raise InvalidEndpoint(problems)
    return {"url": url, "event_types": chosen, "description": (description or "").strip()[:200]}


def create_endpoint(
    shop: Shop, url: str, event_types: str | list[str], description: str = ""
) -> Endpoint:
    """A new endpoint with a fresh secret; the URL must be a public http(s) address."""
    fields = _checked(url, event_types, description)
    return Endpoint.objects.create(shop=shop, secret=encrypt(signing.new_secret()), **fields)


def update_endpoint(
    endpoint: Endpoint, url: str, event_types: str | list[str], description: str = ""
) -> Endpoint:
    """New settings; deliveries already made keep going to the URL (read at each send)."""
    for name, value in _checked(url, event_types, description).items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=["url", "event_types", "description", "updated_at"])
    return endpoint


def set_active(endpoint: Endpoint, active: bool, reason: str = "") -> Endpoint:
    """Switch sending off or on. Deliveries wait while it is off and go when it is on again."""
    endpoint.active = active
    endpoint.disabled_reason = "" if active else reason[:300]
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    if active:
        _send_soon()
    return endpoint


def delete_endpoint(endpoint: Endpoint) -> None:
    """The endpoint goes, with its delivery log."""
    endpoint.delete()


def rotate_secret(endpoint: Endpoint) -> Endpoint:
    """A new secret; the old one signs too for a day, so the receiver can switch without gaps."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = encrypt(signing.new_secret())
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
    )
    return endpoint


def _signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    found = [endpoint.signing_secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < (endpoint.previous_secret_until)
    ):
        found.append(decrypt(endpoint.previous_secret))
    return found


# --- Events into deliveries ---------------------------------------------------------------


def on_events(batch: list[DomainEvent]) -> list[Delivery]:
    """The shop's domain events (after their commit) into a delivery per wanting endpoint."""
    per_shop: dict[int, list[tuple[str, dict]]] = defaultdict(list)
    for event in batch:
        if event.name not in NOT_SENT:
            per_shop[event.shop_id].append((event.name, event.data))
    if not per_shop:
        return []
    endpoints: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in Endpoint.objects.filter(shop_id__in=per_shop, active=True):
        endpoints[endpoint.shop_id].append(endpoint)
    if not endpoints:
        return []  # the common case: no shop in the batch has a webhook
    shops = Shop.objects.in_bulk(list(endpoints))
    made = []
    for shop_id, shop_endpoints in endpoints.items():
        made += _record(shops[shop_id], per_shop[shop_id], shop_endpoints)
    return made


def send_event(
    shop: Shop, name: str, data: dict[str, Any], *, endpoint_id: int | None = None
) -> list[Delivery]:
    """Send an event of our own making (a flow's "call a webhook" step) to the endpoints
    that want it, or to one endpoint whatever it chose. Returns the deliveries made."""
    check_name(name)
    chosen = Endpoint.objects.filter(shop=shop, active=True)
    if endpoint_id is not None:
        chosen = chosen.filter(pk=endpoint_id)
        return _record(shop, [(name, data)], list(chosen), every=True)
    return _record(shop, [(name, data)], list(chosen))


def _record(
    shop: Shop, events: list[tuple[str, dict]], endpoints: list[Endpoint], every: bool = False
) -> list[Delivery]:
    now = timezone.now()
    rows = []
    for name, data in events:
        wanting = [e for e in endpoints if every or wants(e.event_types, name)]
        if not wanting:
            continue
        payload, customer_id = payloads.build(shop, name, data, now)
        message_id = signing.new_message_id()  # one per event: the same for each endpoint
        rows += [
            Delivery(
                shop=shop,
                endpoint=endpoint,
                message_id=message_id,
                event_type=name,
                payload=payload,
                customer_id=customer_id,
                next_attempt_at=now,
            )
            for endpoint in wanting
        ]
    if not rows:
        return []
    with transaction.atomic():
        made = Delivery.objects.bulk_create(rows)
        _send_soon()
    return made


def _send_soon() -> None:
    from aftercart.webhooks.tasks import send_webhooks

    schedule.soon(send_webhooks)  # the periodic sender covers anything this misses


# --- Sending ------------------------------------------------------------------------------


def send_due(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Send every delivery that is due; returns how many succeeded, will retry, gave up."""
    done = {"succeeded": 0, "failed": 0, "abandoned": 0}
    while (limit is None or sum(done.values()) < limit) and not stopping.requested():
        at = now or timezone.now()
        delivery = _claim(at)
        if delivery is None:
            break
        done[_attempt(delivery, at)] += 1
    return done


def resend(delivery: Delivery) -> Delivery:
    """A new attempt now, whatever the delivery's state; the earlier attempts stay in the log.

    Unless a worker is sending it this very moment: then that attempt is the new one.
    """
    now = timezone.now()
    claimed = _claim(now, pk=delivery.pk)
    if claimed is not None:
        _attempt(claimed, now, by_hand=True)
    delivery.refresh_from_db()
    return delivery


def send_test_event(endpoint: Endpoint) -> Delivery:
    """A harmless "webhook.test" event to this endpoint, sent now, in its log like any other."""
    now = timezone.now()
    delivery = Delivery.objects.create(
        shop_id=endpoint.shop_id,
        endpoint=endpoint,
        message_id=signing.new_message_id(),
        event_type=TEST_EVENT,
        payload={
            "type": TEST_EVENT,
            "timestamp": now.isoformat(),
            "data": {"shop": endpoint.shop.slug, "endpoint_id": endpoint.pk, "test": True},
        },
        next_attempt_at=now,
    )
    return resend(delivery)


def _claim(now: datetime, pk: int | None = None) -> Delivery | None:
    """Take one delivery for sending, so that no other worker sends it at the same time."""
    # Not being sent by anyone, or by a worker that died at it a while ago.
    free = Q(sending_since__isnull=True) | Q(sending_since__lt=now - SENDING_LEASE)
    with transaction.atomic():
        candidates = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(free)
        if pk is not None:
            candidates = candidates.filter(pk=pk)
        else:
            candidates = candidates.filter(
                next_attempt_at__lte=now, endpoint__active=True
            ).order_by("next_attempt_at", "id")
        delivery = candidates.select_related("endpoint", "endpoint__shop").first()
        if delivery is None:
            return None
        # SQLite has no row locks: the condition on what was read makes the claim exclusive.
        claimed = Delivery.objects.filter(
            pk=delivery.pk, sending_since=delivery.sending_since, attempts=delivery.attempts
        ).update(sending_since=now, attempts=delivery.attempts + 1, last_attempt_at=now)
        if not claimed:
            return None
    delivery.attempts += 1
    return delivery


def _attempt(delivery: Delivery, now: datetime, *, by_hand: bool = False) -> str:
    endpoint = delivery.endpoint
    body = payloads.encode(delivery.payload)
    try:
        headers = signing.headers(
            _signing_secrets(endpoint, now), delivery.message_id, int(now.timestamp()), body
        )
    except ValueError as exc:  # the secret cannot be read (SECRET_KEY changed)
        outcome = Outcome(False, error=str(exc)[:300])
    else:
        outcome = post(endpoint.url, body, headers)
    return _settle(delivery, outcome, now, by_hand=by_hand)


def _settle(delivery: Delivery, outcome: Outcome, now: datetime, *, by_hand: bool) -> str:
    fields: dict[str, Any] = {
        "sending_since": None,
        "last_status_code": outcome.status_code,
        "last_response": outcome.response,
        "error": outcome.error,
    }
    if outcome.succeeded:
        result = Delivery.Status.SUCCEEDED
        fields.update(next_attempt_at=None, succeeded_at=now)
    elif delivery.attempts <= len(RETRY_AFTER):
        result = Delivery.Status.FAILED
        wait = outcome.retry_after or RETRY_AFTER[delivery.attempts - 1]
        fields["next_attempt_at"] = now + wait
    else:
        result = Delivery.Status.ABANDONED
        fields["next_attempt_at"] = None
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            response=outcome.response,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            succeeded=outcome.succeeded,
            by_hand=by_hand,
        )
        Delivery.objects.filter(pk=delivery.pk).update(status=result, **fields)
    if result == Delivery.Status.ABANDONED:
        _disable_if_failing_for_days(delivery.endpoint, now)
    return str(result)


def _disable_if_failing_for_days(endpoint: Endpoint, now: datetime) -> None:
    """An endpoint nothing reached for days is switched off, saying why: the merchant sees
    it, and the worker stops spending its time on a receiver that is gone."""
    since = now - DISABLE_AFTER
    if not endpoint.active or endpoint.created_at > since:
        return
    if Delivery.objects.filter(endpoint=endpoint, succeeded_at__gte=since).exists():
        return
    days = DISABLE_AFTER.days
    set_active(
        endpoint,
        False,
        reason=_("Switched off: no delivery succeeded in %(days)s days.") % {"days": days},
    )
