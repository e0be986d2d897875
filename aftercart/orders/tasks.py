from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.orders import replenishment


@task()
def learn_reorder_intervals() -> dict[str, int]:
    """Relearn every shop's reorder intervals from its orders (safe to run twice)."""
    done = replenishment.learn_for_every_shop()
    return {slug: learned.products for slug, learned in done.items()}


# Weekly: an interval is a habit over months; a week's orders barely move a median.
schedule.every(timedelta(days=7), learn_reorder_intervals, name="orders.learn-reorder-intervals")
