"""Webhooks listen to every domain event: a shop's endpoints may want it."""

from aftercart.core import events
from aftercart.webhooks import services


@events.subscribe_all
def _webhooks(batch: list[events.DomainEvent]) -> None:
    services.on_events(batch)
