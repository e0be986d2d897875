from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.flows import services


@task()
def run_flows() -> int:
    """Advance every enrolment that is due (safe to run twice: each re-reads and re-checks)."""
    return services.run_due()


# Waits end within seconds of their time: the workers' maintenance enqueues due periodic
# jobs every few seconds, and new enrolments ask for a run at once (schedule.soon).
schedule.every(timedelta(seconds=5), run_flows, name="flows.run-due")
