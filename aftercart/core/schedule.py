"""Periodic jobs: apps register a task and an interval; workers enqueue it when due.

Any number of workers may run; a conditional UPDATE on ScheduledJob lets exactly one
of them enqueue each run.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from aftercart.core.models import ScheduledJob


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    task: object  # a django_tasks Task taking no arguments


_jobs: dict[str, Periodic] = {}


def every(interval: timedelta, task, name: str | None = None) -> None:
    job = Periodic(name or task.name, interval, task)
    _jobs[job.name] = job


def jobs() -> list[Periodic]:
    return list(_jobs.values())


def enqueue_due() -> list[str]:
    """Enqueue each job whose time has come; returns the names enqueued by this call."""
    now = timezone.now()
    enqueued = []
    for job in _jobs.values():
        row, created = ScheduledJob.objects.get_or_create(
            name=job.name, defaults={"next_run_at": now}
        )
        if row.next_run_at > now:
            continue
        with transaction.atomic():
            claimed = ScheduledJob.objects.filter(
                name=job.name, next_run_at=row.next_run_at
            ).update(next_run_at=now + job.every)
            if claimed:
                job.task.enqueue()
                enqueued.append(job.name)
    return enqueued


_last_nudge: dict[str, float] = {}
_nudge_lock = threading.Lock()


def soon(task, delay: float = 0.3) -> None:
    """Have `task` run shortly, once for a burst of reasons (after this transaction commits).

    A thousand orders arriving together need one run of the flows, not a thousand queued
    tasks: within `delay` seconds of the last request this process makes none, and the run
    it asked for starts `delay` seconds later, when the burst's rows are committed. The
    periodic jobs catch anything that slips through.
    """

    def enqueue() -> None:
        now = time.monotonic()
        with _nudge_lock:
            if now - _last_nudge.get(task.name, -1e9) < delay:
                return
            _last_nudge[task.name] = now
        task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue()

    transaction.on_commit(enqueue, robust=True)  # the periodic run covers a failure


_wakeups: dict[str, datetime] = {}


def wake_at(task, when: datetime) -> None:
    """Have `task` run at `when` (a wait that ends, a message due in two seconds), sooner
    than the periodic run would. One wake-up per task and moment in this process: asking
    again for the same or a later time, while an earlier one is pending, does nothing."""
    now = timezone.now()
    with _nudge_lock:
        pending = _wakeups.get(task.name)
        if pending is not None and now <= pending <= when:
            return
        _wakeups[task.name] = when
    task.using(run_after=max(when, now)).enqueue()
