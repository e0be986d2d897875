from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "aftercart.flows"
    label = "flows"

    def ready(self) -> None:
        from aftercart.flows import (
            handlers,  # noqa: F401  subscribes flows to domain events
            tasks,  # noqa: F401  registers the periodic runner
        )
