from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "aftercart.integrations"
    label = "integrations"

    def ready(self) -> None:
        from aftercart.integrations import (
            inbound_mail,  # noqa: F401  takes email providers' inbound mail into customer care
            privacy,  # noqa: F401  registers the data holder
            settlements,  # noqa: F401  sends return refunds to the store
            tasks,  # noqa: F401  registers periodic jobs
        )
        from aftercart.integrations.sync import tasks as sync_tasks  # noqa: F401  reconciliation
