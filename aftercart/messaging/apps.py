from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "aftercart.messaging"
    label = "messaging"

    def ready(self) -> None:
        from aftercart.messaging import (
            esp,  # noqa: F401  listens to the email providers' webhooks
            privacy,  # noqa: F401  registers the data holder
            tasks,  # noqa: F401  registers the periodic sender
        )
