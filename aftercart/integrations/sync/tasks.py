"""The periodic reconciliation: every 15 minutes, each connected store is asked what changed.

One task per store connection (the task carries only its id), so a slow or unreachable
store delays nobody else and a failure is retried on the next round.
"""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from aftercart.core import schedule
from aftercart.integrations.models import StoreConnection
from aftercart.integrations.sync import service
from aftercart.integrations.sync.client import SyncError

log = logging.getLogger(__name__)
INTERVAL = timedelta(minutes=15)


@task()
def reconcile_stores() -> list[int]:
    """Queue a sync for every connection that has API credentials; returns their ids."""
    queued = []
    for connection in StoreConnection.objects.select_related("shop").order_by("pk"):
        if service.missing_credentials(connection) is None:
            reconcile_store.enqueue(connection.pk)
            queued.append(connection.pk)
    return queued


@task()
def reconcile_store(connection_id: int) -> dict:
    """Sync one store from just before its last mark (see service.resume_from)."""
    connection = StoreConnection.objects.select_related("shop").filter(pk=connection_id).first()
    if connection is None:
        return {"skipped": "connection removed"}
    since = service.resume_from(connection, timezone.now())
    try:
        report = service.sync_connection(connection, since)
    except SyncError as exc:
        # Not raised: the next round tries again, and the mark has not moved.
        log.warning("reconciliation of shop %s: %s", connection.shop.slug, exc)
        return {"platform": connection.platform, "error": str(exc)}
    return report.as_dict()


schedule.every(INTERVAL, reconcile_stores, name="integrations.reconcile")
