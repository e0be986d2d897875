from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "aftercart.customers"
    label = "customers"

    def ready(self) -> None:
        from aftercart.customers import privacy  # noqa: F401  registers the data holder
