from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.webhooks import services


@task()
def send_webhooks() -> dict[str, int]:
    """Send every webhook delivery that is due (safe to run twice: each is claimed once)."""
    return services.send_due()


# Retries fall due later (5 s, 5 min, … 10 h): the periodic run picks them up within
# seconds of their time, and catches a delivery whose own nudge was lost.
schedule.every(timedelta(seconds=5), send_webhooks, name="webhooks.send-due")
