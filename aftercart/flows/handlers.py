"""Flows listen to every domain event: it may start, resume or end an enrolment."""

from aftercart.core import events
from aftercart.flows import services


@events.subscribe_all
def _flows(batch: list[events.DomainEvent]) -> None:
    services.on_events(batch)


@events.subscribe("shop.created")
def _default_loop(event: events.DomainEvent) -> None:
    from aftercart.core.models import Shop

    shop = Shop.objects.filter(pk=event.shop_id).first()
    if shop is not None:
        services.install_default_loop(shop)
