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

from django.db import connection, transaction
from django.utils import timezone

from aftercart.core import stopping
from aftercart.core.bulk import update_rows
from aftercart.core.models import Shop
from aftercart.integrations.models import Delivery, IntakeDrain
from aftercart.orders.bulk import record_new_orders
from aftercart.orders.records import OrderData

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
    # A full order: may be created together with others in one bulk write.
    order: OrderData | None = None


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
    delivery_id: int | None
    duplicate: bool


# Plain SQL on the request path: building the same INSERT through the ORM cost more than
# running it, and on SQLite every microsecond inside the transaction is one the next
# writer waits. ON CONFLICT keeps a redelivery from aborting the transaction.
_INSERT_DELIVERY = """
    INSERT INTO integrations_delivery
        (shop_id, source, topic, event_id, resource_key, resource_updated_at, body,
         received_at, status, error)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '')
    ON CONFLICT (shop_id, source, event_id) DO NOTHING
    RETURNING id
"""


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
    now = timezone.now()
    pending = bool(intake and intake.apply)
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _INSERT_DELIVERY,
            [
                shop.pk,
                source,
                topic[:60],
                event_id[:200],
                intake.resource_key[:120] if intake else "",
                # Without a version time of its own, a delivery takes its arrival time.
                adapt((intake.updated_at if intake else None) or now),
                body,
                adapt(now),
                Delivery.Status.PENDING if pending else Delivery.Status.IGNORED,
            ],
        )
        row = cursor.fetchone()
        if row is None:
            return Stored(None, duplicate=True)
        if pending:
            request_drain()
    return Stored(row[0], duplicate=False)


def request_drain() -> None:
    """Queue the drain task unless one is already waiting (call inside the storing transaction)."""
    from aftercart.integrations.tasks import apply_deliveries

    # The row is made by a migration; when a drain is already queued this matches nothing.
    # Plain SQL: this runs on every delivery, and the ORM would spend more time building
    # the statement than the database spends running it.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_intakedrain SET queued = %s WHERE name = %s AND queued = %s",
            [True, DRAIN, False],
        )
        claimed = cursor.rowcount
    if claimed:
        apply_deliveries.using(queue_name="intake").enqueue()


def parsers() -> dict[str, Parser]:
    from aftercart.integrations.aftership.mapping import parse as parse_aftership
    from aftercart.integrations.generic.events import parse as parse_api
    from aftercart.integrations.shopify.mapping import parse as parse_shopify
    from aftercart.integrations.woocommerce.mapping import parse as parse_woo

    return {
        "shopify": parse_shopify,
        "woocommerce": parse_woo,
        "api": parse_api,
        "aftership": parse_aftership,
    }


def drain(limit: int | None = None) -> dict[str, int]:
    """Apply pending deliveries until none are left (or `limit` were handled)."""
    IntakeDrain.objects.filter(name=DRAIN).update(queued=False)
    totals = {"applied": 0, "failed": 0}
    while (limit is None or sum(totals.values()) < limit) and not stopping.requested():
        done = apply_batch(BATCH_SIZE)
        if not any(done.values()):
            break
        for key in totals:
            totals[key] += done[key]
    return totals


def apply_batch(size: int) -> dict[str, int]:
    """Apply up to `size` pending deliveries in one transaction.

    Oldest resource version first, so an update never overtakes the create it follows.
    New orders that nothing else in the batch touches are created together in bulk;
    every other delivery is applied on its own, in a savepoint, so one bad delivery
    fails alone and is recorded with its error.
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
        parsed: list[tuple[Delivery, Intake]] = []
        for delivery in batch:
            delivery.applied_at = now
            try:
                payload = parse_json(delivery.body.encode())
                parsed.append((delivery, table[delivery.source](delivery.topic, payload)))
            except Exception as exc:
                _failed(delivery, exc, done)
        bulk_done = _apply_new_orders_in_bulk(parsed)
        for delivery, parsed_intake in parsed:
            if delivery.pk in bulk_done:
                delivery.status, delivery.error = Delivery.Status.APPLIED, ""
                done["applied"] += 1
                continue
            try:
                with transaction.atomic():
                    if parsed_intake.apply:
                        parsed_intake.apply(delivery.shop)
                delivery.status, delivery.error = Delivery.Status.APPLIED, ""
                done["applied"] += 1
            except Exception as exc:
                _failed(delivery, exc, done)
        # Plain rows (core.bulk): the ORM's bulk_update writes a CASE per field and row.
        update_rows(
            Delivery,
            ["status", "error", "applied_at"],
            [(d.status, d.error, d.applied_at, d.pk) for d in batch],
        )
    return done


def _failed(delivery: Delivery, exc: Exception, done: dict[str, int]) -> None:
    # Recorded on the delivery and shown in the dashboard; retry_failed queues it again.
    log.warning("delivery %s failed: %s", delivery.pk, exc, exc_info=True)
    delivery.status = Delivery.Status.FAILED
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    done["failed"] += 1


def _apply_new_orders_in_bulk(parsed: list[tuple[Delivery, Intake]]) -> set[int]:
    """Create, per shop, the batch's new orders in bulk; returns the deliveries done so."""
    touches: dict[tuple[int, str], int] = {}
    for delivery, item in parsed:
        key = (delivery.shop_id, item.resource_key)
        touches[key] = touches.get(key, 0) + 1
    groups: dict[int, list[tuple[Delivery, Intake]]] = {}
    for delivery, item in parsed:
        if item.order is not None and touches[(delivery.shop_id, item.resource_key)] == 1:
            groups.setdefault(delivery.shop_id, []).append((delivery, item))
    done: set[int] = set()
    for items in groups.values():
        shop = items[0][0].shop
        try:
            with transaction.atomic():
                changes, _ = record_new_orders(shop, [item.order for _, item in items])
        except Exception:
            # e.g. another worker created one of these orders: apply them one by one.
            log.info("bulk apply fell back to one by one", exc_info=True)
            continue
        created = {change.order.external_id for change in changes}
        done.update(d.pk for d, item in items if item.order.external_id in created)
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
