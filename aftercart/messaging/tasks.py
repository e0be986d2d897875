from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from aftercart.core import schedule
from aftercart.messaging import services

PERIOD = timedelta(seconds=5)


@task()
def send_messages() -> dict[str, int]:
    """Send every message that is due (safe to run twice: each message is claimed once)."""
    done = services.send_due()
    upcoming = services.next_due_at()  # due before the next periodic run: on time
    if upcoming is not None and upcoming < timezone.now() + PERIOD:
        schedule.wake_at(send_messages, upcoming)
    return done


# Messages due later (quiet hours, the frequency cap, retries) go out on time: the run above
# wakes for those due within the next few seconds, and the workers' maintenance enqueues
# this run every PERIOD.
schedule.every(PERIOD, send_messages, name="messaging.send-due")
