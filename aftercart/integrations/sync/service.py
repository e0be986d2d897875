"""Reconciliation: apply the orders a store changed since a time, through the webhook path.

The rules:

* Only a connection with a store URL and API credentials can be synced.
* Orders are applied with orders.services.record_order, exactly as the webhook for that
  version would be, under the same external ids; so a synced order and a webhook for it
  are one row, and the timeline gets one entry per real event whichever came first.
* An order whose stored version (the store's own updated_at) is the same as or newer than
  the one fetched, with every shipment and refund it lists already known in that version,
  is unchanged: nothing is written, nothing published. record_order's stale check covers
  a newer webhook landing between that check and the write.
* An order that cannot be read or applied is reported and skipped; the rest go on.
* StoreConnection.last_synced_at moves to the time the sync started, and only when the
  sync covered everything since the previous mark, so a narrow manual sync never hides a
  gap the periodic one has yet to fill.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.integrations.models import StoreConnection
from aftercart.integrations.services import connections, credentials
from aftercart.integrations.sync import shopify, woocommerce
from aftercart.integrations.sync.client import SyncError
from aftercart.integrations.sync.fetched import Fetched
from aftercart.orders import services as orders
from aftercart.orders.models import Order, Refund, Shipment
from aftercart.orders.records import OrderData

log = logging.getLogger(__name__)

Platform = StoreConnection.Platform
Fetcher = Callable[[str, dict[str, str], datetime], Iterator[list[Fetched]]]
FETCHERS: dict[str, Fetcher] = {
    Platform.SHOPIFY: shopify.fetch_orders,
    Platform.WOOCOMMERCE: woocommerce.fetch_orders,
}
# The periodic sync re-reads an hour before its last mark: the store's clock and ours
# differ, and an order can be committed in the store after its updated_at.
OVERLAP = timedelta(hours=1)
FIRST_WINDOW = timedelta(hours=24)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class SyncReport:
    platform: str
    store_url: str
    since: datetime
    pages: int = 0
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (order, reason)

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def fail(self, ref: str, reason: str) -> None:
        self.failed += 1
        self.failures.append((ref, reason))

    def as_dict(self) -> dict:
        return {**asdict(self), "since": self.since.isoformat()}


def missing_credentials(connection: StoreConnection) -> str | None:
    """Why this connection cannot be synced, or None when it can."""
    if not connection.store_url:
        return "no store URL"
    secrets = credentials(connection)
    if connection.platform == Platform.SHOPIFY and not secrets["access_token"]:
        return "no Admin API access token (--token)"
    if connection.platform == Platform.WOOCOMMERCE and not (
        secrets["consumer_key"] and secrets["consumer_secret"]
    ):
        return "no REST API consumer key and secret (--consumer-key, --consumer-secret)"
    return None


def connections_to_sync(
    shop: Shop,
) -> tuple[list[StoreConnection], list[tuple[StoreConnection, str]]]:
    """The shop's connections that can be synced, and the others with the reason why not."""
    ready, skipped = [], []
    for connection in connections(shop):
        if connection.platform not in FETCHERS:
            continue  # a tracking service: it pushes scans, it holds no orders to fetch
        reason = missing_credentials(connection)
        if reason:
            skipped.append((connection, reason))
        else:
            ready.append(connection)
    return ready, skipped


def resume_from(connection: StoreConnection, now: datetime) -> datetime:
    """Where the periodic sync starts: an overlap before the last mark, else a day back."""
    if connection.last_synced_at:
        return connection.last_synced_at - OVERLAP
    return now - FIRST_WINDOW


def sync_connection(
    connection: StoreConnection,
    since: datetime,
    *,
    progress: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Fetch the orders changed since `since` and apply each; raises SyncError if the store
    cannot be read at all (unreachable, credentials refused)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    reason = missing_credentials(connection)
    if reason:
        raise SyncError(f"{connection.platform} cannot be synced: {reason}")
    started = timezone.now()
    report = SyncReport(connection.platform, connection.store_url, since)
    fetch = FETCHERS[connection.platform]
    shop = connection.shop
    for page in fetch(connection.store_url, credentials(connection), since):
        report.pages += 1
        for fetched in page:
            report.fetched += 1
            if fetched.order is None:
                report.fail(fetched.ref, fetched.error or "could not be read")
            else:
                try:
                    report.count(apply_order(shop, fetched.order))
                except Exception as exc:  # one bad order must not stop the others
                    log.exception("sync of %s order %s failed", connection.platform, fetched.ref)
                    report.fail(fetched.ref, f"{type(exc).__name__}: {exc}")
            if progress:
                progress(report)
        if progress:
            progress(report)
    _mark_synced(connection, since, started)
    if report.failures:
        log.error(
            "%s sync of shop %s: %d order(s) failed: %s",
            connection.platform,
            shop.slug,
            report.failed,
            "; ".join(f"{ref}: {why}" for ref, why in report.failures[:20]),
        )
    return report


def apply_order(shop: Shop, data: OrderData) -> str:
    """Apply one fetched order; returns created, updated or unchanged.

    The version check happens here, before record_order, because record_order re-applies
    a version equal to the stored one (harmless, but it would touch the row).
    """
    known = (
        Order.objects.filter(shop=shop, external_id=data.external_id)
        .values("pk", "source_updated_at", "is_placeholder")
        .first()
    )
    is_new = known is None or known["is_placeholder"]
    if not is_new and _is_current(known, data):
        return UNCHANGED
    change = orders.record_order(shop, data)
    if not change.applied:
        return UNCHANGED
    return CREATED if is_new else UPDATED


def _is_current(known: dict, data: OrderData) -> bool:
    """Whether the stored order already holds this version, its shipments and its refunds.

    Shipments and refunds are checked one by one: a lost fulfilment webhook need not have
    changed the order's own updated_at.
    """
    stored_at = known["source_updated_at"]
    if not (data.updated_at and stored_at and data.updated_at <= stored_at):
        return False
    shipments = dict(
        Shipment.objects.filter(order_id=known["pk"]).values_list(
            "external_id", "source_updated_at"
        )
    )
    for shipment in data.shipments or []:
        if shipment.external_id not in shipments:
            return False
        seen = shipments[shipment.external_id]
        if shipment.updated_at and (seen is None or shipment.updated_at > seen):
            return False
    refunds = set(Refund.objects.filter(order_id=known["pk"]).values_list("external_id", flat=True))
    return all(refund.external_id in refunds for refund in data.refunds or [])


def _mark_synced(connection: StoreConnection, since: datetime, started: datetime) -> None:
    covered = Q(last_synced_at__isnull=True) | Q(last_synced_at__gte=since)
    StoreConnection.objects.filter(covered, pk=connection.pk).exclude(
        last_synced_at__gte=started
    ).update(last_synced_at=started)
    connection.refresh_from_db(fields=["last_synced_at"])
