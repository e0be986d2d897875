from datetime import timedelta

from django_tasks import task

from aftercart.core import schedule
from aftercart.orders import delivery, replenishment, tracking


@task()
def learn_reorder_intervals() -> dict[str, int]:
    """Relearn every shop's reorder intervals from its orders (safe to run twice)."""
    done = replenishment.learn_for_every_shop()
    return {slug: learned.products for slug, learned in done.items()}


# Weekly: an interval is a habit over months; a week's orders barely move a median.
schedule.every(timedelta(days=7), learn_reorder_intervals, name="orders.learn-reorder-intervals")


@task()
def learn_delivery_times() -> dict[str, int]:
    """Relearn every shop's transit times from its delivered parcels (safe to run twice)."""
    return delivery.learn_for_every_shop()


@task()
def watch_deliveries() -> dict[str, int]:
    """Give waiting scans to their parcels, then mark parcels that became late (once)."""
    settled = tracking.settle_waiting_scans()
    return {**settled, "late": delivery.mark_late_shipments()}


# Daily: a day's deliveries barely move a shop's ranges. Every ten minutes: an apology that
# comes the morning after the promised day is still before most customers ask.
schedule.every(timedelta(days=1), learn_delivery_times, name="orders.learn-delivery-times")
schedule.every(timedelta(minutes=10), watch_deliveries, name="orders.watch-deliveries")
