"""The background worker: django-tasks-db's worker plus what production needs around it.

* a heartbeat, so a task held by a worker that died (SIGKILL, power loss) is noticed
  and put back in the queue to run again (tasks are written to be safe to run twice);
* pruning of finished task results, so the queue table stays small;
* enqueueing periodic jobs (core.schedule) when they are due;
* keeping the query planner's statistics fresh where nothing else does (SQLite, and
  PostgreSQL without autovacuum; see refresh_planner_stats).
"""

import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from aftercart.core import ratelimit, schedule, stopping
from aftercart.core.models import WorkerHeartbeat

log = logging.getLogger(__name__)


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "WORKER_STALE_SECONDS", 30))


def heartbeat(worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "seen_at": timezone.now(),
        },
    )


def requeue_abandoned() -> int:
    """Tasks left RUNNING by a worker that stopped beating go back to READY."""
    cutoff = timezone.now() - stale_after()
    alive = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    abandoned = [
        task.pk
        for task in DBTaskResult.objects.running()
        .filter(started_at__lt=cutoff)
        .only("pk", "worker_ids")
        if not task.worker_ids or task.worker_ids[-1] not in alive
    ]
    if not abandoned:
        return 0
    count = (
        DBTaskResult.objects.running()
        .filter(pk__in=abandoned)
        .update(status="READY", started_at=None)
    )
    if count:
        log.warning("put %d task(s) of a stopped worker back in the queue", count)
    WorkerHeartbeat.objects.filter(seen_at__lt=cutoff - timedelta(hours=1)).delete()
    return count


def prune_results() -> int:
    """Successful results are kept briefly, failed ones a week (to be looked at)."""
    now = timezone.now()
    keep_ok = timedelta(seconds=getattr(settings, "TASK_RESULT_KEEP_SECONDS", 3600))
    done, _ = DBTaskResult.objects.successful().filter(finished_at__lt=now - keep_ok).delete()
    failed, _ = (
        DBTaskResult.objects.failed().filter(finished_at__lt=now - timedelta(days=7)).delete()
    )
    return done + failed


def maintain(worker_id: str) -> None:
    heartbeat(worker_id)
    requeue_abandoned()
    prune_results()
    schedule.enqueue_due()


PLANNER_STATS_SECONDS = 3600.0


def refresh_planner_stats() -> bool:
    """ANALYZE where nobody else does: SQLite always (sampling at most 1,000 rows per index,
    a fraction of a second); PostgreSQL only when its autovacuum is switched off.

    Without statistics a planner guesses, and guesses wrong as tables grow: for "this
    shop's orders with these ids" SQLite walked the shop index (every order of the shop)
    instead of the primary key, which made each batch of flow steps 2.2 times as slow at
    100,000 orders; PostgreSQL, taking a shop for 50 orders, hashed all 100,000 of them to
    find a batch's lines. Its autovacuum normally keeps the statistics; some servers run
    without it.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
            return True
        if connection.vendor == "postgresql":
            cursor.execute("SHOW autovacuum")
            if cursor.fetchone()[0] == "off":
                cursor.execute("ANALYZE")
                return True
    return False


class Maintenance(threading.Thread):
    """Beats and tidies every few seconds beside the worker loop, on its own DB connection."""

    def __init__(self, worker_id: str, interval: float):
        super().__init__(daemon=True, name="aftercart-maintenance")
        self.worker_id = worker_id
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        # The first at start (run_worker); then hourly. Other connections read the new
        # statistics when they reconnect (CONN_MAX_AGE: within a minute or so).
        stats_due = time.monotonic() + PLANNER_STATS_SECONDS
        while not self.stopped.is_set():
            try:
                close_old_connections()
                maintain(self.worker_id)
                if time.monotonic() >= stats_due:
                    refresh_planner_stats()
                    ratelimit.forget_old()  # counters of windows long over
                    stats_due = time.monotonic() + PLANNER_STATS_SECONDS
            except Exception:
                log.exception("worker maintenance failed; trying again")
            self.stopped.wait(self.interval)
        connection.close()


class PatientWorker(Worker):
    """A repeated SIGTERM (from the process group and from `aftercart serve` at once) must
    not cut a running task short: only a second Ctrl+C forces the exit."""

    def shutdown(self, signum, frame) -> None:
        if not self.running and signum == signal.SIGTERM:
            return
        stopping.request()  # a long drain ends after its current batch
        super().shutdown(signum, frame)


def run_worker(
    *,
    worker_id: str,
    queues: list[str],
    interval: float = 0.5,
    batch: bool = False,
    max_tasks: int | None = None,
) -> None:
    heartbeat(worker_id)
    # On this thread's connection, the one tasks run on: SQLite reads statistics when a
    # connection opens or runs ANALYZE itself. A database imported or restored while the
    # workers were stopped is planned well from the first task.
    refresh_planner_stats()
    maintenance = Maintenance(
        worker_id, interval=float(getattr(settings, "WORKER_MAINTENANCE_SECONDS", 5))
    )
    maintenance.start()
    worker = PatientWorker(
        queue_names=queues,
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=not batch,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    worker.configure_signals()
    try:
        worker.run()
    finally:
        maintenance.stopped.set()
        WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
