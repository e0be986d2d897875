"""Admin for store connections and what arrived. Secrets are never shown, only whether they are set."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftercart.core.admin import OperationsAdmin, ReadOnlyAdmin, ShopScopedAdmin
from aftercart.integrations.models import Delivery, IntakeDrain, StoreConnection


@admin.register(StoreConnection)
class StoreConnectionAdmin(ShopScopedAdmin):
    """Secrets are set with `aftercart shop connect`, which encrypts them; here only the rest."""

    list_display = ["shop", "platform", "store_url", "has_webhook_secret", "last_synced_at"]
    list_filter = ["platform"]
    fields = [
        "shop",
        "platform",
        "store_url",
        "has_webhook_secret",
        "has_api_credentials",
        "last_synced_at",
        "created_at",
    ]
    readonly_fields = [
        "shop",
        "platform",
        "has_webhook_secret",
        "has_api_credentials",
        "last_synced_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True, description=_("webhook secret set"))
    def has_webhook_secret(self, obj: StoreConnection) -> bool:
        return bool(obj.webhook_secret)

    @admin.display(boolean=True, description=_("API credentials set"))
    def has_api_credentials(self, obj: StoreConnection) -> bool:
        return bool(obj.access_token or (obj.consumer_key and obj.consumer_secret))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "shop", "source", "topic", "status", "resource_key"]
    list_filter = ["status", "source", "shop"]
    search_fields = ["event_id", "resource_key", "topic"]
    date_hierarchy = "received_at"
    list_select_related = ["shop"]


@admin.register(IntakeDrain)
class IntakeDrainAdmin(OperationsAdmin):
    list_display = ["name", "queued"]
