from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.messaging import services


@task()
def send_messages() -> dict[str, int]:
    """Send every message that is due (safe to run twice: each message is claimed once)."""
    return services.send_due()


# Messages due later (quiet hours, the frequency cap, retries) go out within seconds of
# their time: the workers' maintenance enqueues due periodic jobs every few seconds.
schedule.every(timedelta(seconds=5), send_messages, name="messaging.send-due")
