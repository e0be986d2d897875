from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "aftercart.support"
    label = "support"

    def ready(self) -> None:
        from aftercart.support import (
            mail,  # noqa: F401  gives the ticket emails their ticket
            privacy,  # noqa: F401  registers the data holder
        )
