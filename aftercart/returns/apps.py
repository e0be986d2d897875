from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "aftercart.returns"
    label = "returns"

    def ready(self) -> None:
        from aftercart.returns import (
            mail,  # noqa: F401  gives the return emails their return
            privacy,  # noqa: F401  registers the data holder
        )
