from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "aftercart.orders"
    label = "orders"

    def ready(self) -> None:
        from aftercart.orders import (
            privacy,  # noqa: F401  registers the data holder
            tasks,  # noqa: F401  registers the weekly reorder-interval learning
        )
