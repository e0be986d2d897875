from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.flows import services


@task()
def run_enrolment(enrolment_id: int) -> None:
    """Run an enrolment's due steps (safe to run twice: it re-reads and re-checks)."""
    services.advance(enrolment_id)


@task()
def run_flows() -> int:
    """Advance every enrolment that is due; a lost task delays a step by a minute at most."""
    return services.run_due()


schedule.every(timedelta(minutes=1), run_flows, name="flows.run-due")
