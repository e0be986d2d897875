"""The intake path every source shares: validate, store the raw delivery, answer; apply later.

A webhook request does only cheap work: its adapter parses the body into an `Intake`
(which validates it and names the resource and its updated_at), the raw body is stored
under a unique (shop, source, event_id), and a drain task is queued if none is waiting.
The drain task applies pending deliveries in batches, oldest resource version first,
each in a savepoint of its own, through the same parser and the orders services.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.integrations.models import Delivery, IntakeDrain

log = logging.getLogger(__name__)
DRAIN = "intake"
BATCH_SIZE = 100


class PayloadError(ValueError):
    """The body is valid JSON but not the object the topic needs; lists every problem found."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{p['field']}: {p['problem']}" for p in problems))


@dataclass
class Intake:
    """What a delivery is about, and how to apply it."""

    resource_key: str
    updated_at: datetime | None
    apply: Callable[[Shop], Any] | None  # None: a topic we record but do not act on


Parser = Callable[[str, Any], Intake]


class UnknownTopic(LookupError):
    pass


def parse_json(raw: bytes) -> Any:
    """json.loads with the parser's own message, for a 400 the sender can act on."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"body is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


@dataclass
class Stored:
    delivery: Delivery | None
    duplicate: bool


def store_delivery(
    shop: Shop,
    *,
    source: str,
    topic: str,
    event_id: str,
    body: str,
    intake: Intake | None,
) -> Stored:
    """Keep the raw delivery and queue the drain; a second delivery of the same event is dropped.

    `intake` None records the delivery as ignored (a topic we do not act on).
    """
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                shop=shop,
                source=source,
                topic=topic[:60],
                event_id=event_id[:200],
                resource_key=intake.resource_key[:120] if intake else "",
                resource_updated_at=intake.updated_at if intake else None,
                body=body,
                status=Delivery.Status.PENDING
                if intake and intake.apply
                else Delivery.Status.IGNORED,
            )
            if delivery.status == Delivery.Status.PENDING:
                request_drain()
    except IntegrityError:
        return Stored(None, duplicate=True)
    return Stored(delivery, duplicate=False)


def request_drain() -> None:
    """Queue the drain task unless one is already waiting (call inside the storing transaction)."""
    from aftercart.integrations.tasks import apply_deliveries

    claimed = IntakeDrain.objects.filter(name=DRAIN, queued=False).update(queued=True)
    if claimed == 0 and not IntakeDrain.objects.filter(name=DRAIN).exists():
        IntakeDrain.objects.get_or_create(name=DRAIN, defaults={"queued": True})
        claimed = 1
    if claimed:
        apply_deliveries.using(queue_name="intake").enqueue()


def parsers() -> dict[str, Parser]:
    from aftercart.integrations.generic.events import parse as parse_api
    from aftercart.integrations.shopify.mapping import parse as parse_shopify
    from aftercart.integrations.woocommerce.mapping import parse as parse_woo

    return {"shopify": parse_shopify, "woocommerce": parse_woo, "api": parse_api}


def drain(limit: int | None = None) -> dict[str, int]:
    """Apply pending deliveries until none are left (or `limit` were handled)."""
    IntakeDrain.objects.filter(name=DRAIN).update(queued=False)
    totals = {"applied": 0, "failed": 0}
    while limit is None or sum(totals.values()) < limit:
        done = apply_batch(BATCH_SIZE)
        if not any(done.values()):
            break
        for key in totals:
            totals[key] += done[key]
    return totals


def apply_batch(size: int) -> dict[str, int]:
    """Apply up to `size` pending deliveries in one transaction, each in its own savepoint.

    Oldest resource version first, so an update never overtakes the create it follows.
    """
    table = parsers()
    done = {"applied": 0, "failed": 0}
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING)
            .select_related("shop")
            .order_by("resource_updated_at", "id")[:size]
        )
        now = timezone.now()
        for delivery in batch:
            try:
                with transaction.atomic():
                    intake = table[delivery.source](
                        delivery.topic, parse_json(delivery.body.encode())
                    )
                    if intake.apply:
                        intake.apply(delivery.shop)
                delivery.status = Delivery.Status.APPLIED
                delivery.error = ""
                done["applied"] += 1
            except Exception as exc:  # recorded on the delivery, shown in the dashboard
                log.exception("delivery %s failed", delivery.pk)
                delivery.status = Delivery.Status.FAILED
                delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
                done["failed"] += 1
            delivery.applied_at = now
        Delivery.objects.bulk_update(batch, ["status", "error", "applied_at"])
    return done


def retry_failed(shop: Shop) -> int:
    """Put a shop's failed deliveries back in the queue (after a fix)."""
    with transaction.atomic():
        count = Delivery.objects.filter(shop=shop, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, error=""
        )
        if count:
            request_drain()
    return count
