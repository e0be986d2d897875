from django_tasks import task

from aftercart.integrations import intake


@task(queue_name="intake")
def apply_deliveries() -> dict[str, int]:
    """Apply every pending webhook and API delivery, in batches."""
    return intake.drain()
