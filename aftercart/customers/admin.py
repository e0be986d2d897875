"""Admin for customers. Erasure and export run through the dashboard or the CLI, never here."""

from django.contrib import admin

from aftercart.core.admin import ReadOnlyAdmin, ShopScopedAdmin
from aftercart.customers.models import Customer, DataRequest, ErasureRecord, Suppression


@admin.register(Customer)
class CustomerAdmin(ShopScopedAdmin):
    list_display = ["email", "first_name", "last_name", "shop", "accepts_marketing", "created_at"]
    list_filter = ["shop", "accepts_marketing", ("erased_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "first_name", "last_name", "external_id"]
    readonly_fields = [
        "shop",
        "external_id",
        "marketing_consent_at",
        "marketing_consent_source",
        "created_at",
        "updated_at",
        "source_updated_at",
        "erased_at",
    ]

    def has_add_permission(self, request):
        return False  # customers come from the store, the API or an import


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    list_display = ["customer_ref", "shop", "requested_by", "erased_at"]
    list_filter = ["shop"]
    search_fields = ["customer_ref", "requested_by"]


@admin.register(DataRequest)
class DataRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "shop", "requested_by", "received_at"]
    list_filter = ["shop"]
    search_fields = ["email"]


@admin.register(Suppression)
class SuppressionAdmin(ShopScopedAdmin):
    """The shop may add an address by hand (reason "manual") or lift one it added."""

    list_display = ["email", "reason", "shop", "created_at"]
    list_filter = ["shop", "reason"]
    search_fields = ["email"]
    readonly_fields = ["created_at"]
