"""Admin for orders. Orders change through orders.services, so the order itself is read-only here."""

from django.contrib import admin

from aftercart.core.admin import ReadOnlyAdmin, ReadOnlyInline, ShopScopedAdmin
from aftercart.orders.models import (
    DeliveryModel,
    LineItem,
    Order,
    OrderEvent,
    Product,
    Refund,
    Shipment,
    TrackingEvent,
    Variant,
)


class LineItemInline(ReadOnlyInline, admin.TabularInline):
    model = LineItem
    fields = ["title", "variant_title", "sku", "quantity", "unit_price", "discount", "total"]
    readonly_fields = fields


class ShipmentInline(ReadOnlyInline, admin.TabularInline):
    model = Shipment
    fields = ["external_id", "carrier", "tracking_number", "status", "shipped_at", "delivered_at"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline, admin.TabularInline):
    model = Refund
    fields = ["external_id", "amount", "currency", "reason", "refunded_at"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline, admin.TabularInline):
    model = OrderEvent
    fields = ["type", "occurred_at", "source", "external_id"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "shop",
        "email",
        "total",
        "currency",
        "financial_status",
        "fulfilment_status",
        "placed_at",
    ]
    list_filter = ["shop", "financial_status", "fulfilment_status", "source", "is_placeholder"]
    search_fields = ["number", "external_id", "email", "shipping_name"]
    date_hierarchy = "placed_at"
    list_select_related = ["shop"]
    inlines = [LineItemInline, ShipmentInline, RefundInline, OrderEventInline]


@admin.register(LineItem)
class LineItemAdmin(ReadOnlyAdmin):
    shop_path = "order__shop"
    list_display = ["title", "order", "sku", "quantity", "total"]
    search_fields = ["title", "sku", "order__number"]
    list_select_related = ["order"]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "order", "carrier", "tracking_number", "status", "shipped_at"]
    list_filter = ["shop", "status", "carrier"]
    search_fields = ["tracking_number", "external_id", "order__number"]
    list_select_related = ["order"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "order", "amount", "currency", "refunded_at"]
    list_filter = ["shop"]
    search_fields = ["external_id", "order__number"]
    list_select_related = ["order"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["order", "type", "occurred_at", "source", "external_id"]
    list_filter = ["shop", "type", "source"]
    search_fields = ["order__number", "external_id"]
    list_select_related = ["order"]


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["external_id", "sku", "title", "price"]
    readonly_fields = ["external_id"]


@admin.register(Product)
class ProductAdmin(ShopScopedAdmin):
    """The catalogue comes from the store; what a merchant tunes here is returns and reorders."""

    list_display = [
        "title",
        "shop",
        "category",
        "returnable",
        "consumable",
        "reorder_interval_days",
        "learned_reorder_interval_days",
    ]
    readonly_fields = ["learned_reorder_interval_days", "reorder_pairs", "reorder_learned_at"]
    list_filter = ["shop", "returnable", "consumable"]
    search_fields = ["title", "external_id", "category", "vendor"]
    readonly_fields = ["shop", "external_id"]
    inlines = [VariantInline]

    def has_add_permission(self, request):
        return False


@admin.register(Variant)
class VariantAdmin(ShopScopedAdmin):
    list_display = ["sku", "title", "product", "price"]
    list_filter = ["shop"]
    search_fields = ["sku", "title", "external_id", "product__title"]
    readonly_fields = ["shop", "product", "external_id"]

    def has_add_permission(self, request):
        return False


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdmin):
    list_display = ["tracking_number", "shipment", "status", "description", "occurred_at", "source"]
    list_filter = ["shop", "status", "source"]
    search_fields = ["tracking_number"]
    list_select_related = ["shipment"]


@admin.register(DeliveryModel)
class DeliveryModelAdmin(ReadOnlyAdmin):
    """What each shop's parcels taught about transit times (relearned daily)."""

    list_display = ["shop", "parcels", "learned_at"]
