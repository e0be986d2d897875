from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.integrations import intake


@task(queue_name="intake")
def apply_deliveries() -> dict[str, int]:
    """Apply every pending webhook and API delivery, in batches."""
    return intake.drain()


# A safety net: if a drain task was lost (its queue row pruned or the database restored),
# pending deliveries are still applied within a minute.
schedule.every(timedelta(minutes=1), apply_deliveries, name="intake.safety-net")
