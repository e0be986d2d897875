from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from aftercart.core import schedule
from aftercart.flows import services

PERIOD = timedelta(seconds=5)


@task()
def run_flows() -> int:
    """Advance every enrolment that is due (safe to run twice: each re-reads and re-checks)."""
    done = services.run_due()
    # A wait ending before the next periodic run is woken for at its moment, not up to
    # PERIOD late.
    upcoming = services.next_due_at()
    if upcoming is not None and upcoming < timezone.now() + PERIOD:
        schedule.wake_at(run_flows, upcoming)
    return done


# Waits end on time: the run above wakes for those ending within the next few seconds, the
# workers' maintenance enqueues this run every PERIOD, and new enrolments ask for a run at
# once (schedule.soon).
schedule.every(PERIOD, run_flows, name="flows.run-due")
