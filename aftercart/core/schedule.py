"""Periodic jobs: apps register a task and an interval; workers enqueue it when due.

Any number of workers may run; a conditional UPDATE on ScheduledJob lets exactly one
of them enqueue each run.
"""

from dataclasses import dataclass
from datetime import timedelta

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
