from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "aftercart.webhooks"
    label = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from aftercart.webhooks import (
            handlers,  # noqa: F401  subscribes to every domain event
            privacy,  # noqa: F401  registers the data holder
            tasks,  # noqa: F401  registers the periodic sender
        )
