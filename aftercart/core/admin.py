"""Admin for shops and their staff. Non-superusers only ever see rows of their own shops."""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import (
    ApiKey,
    RateLimit,
    ScheduledJob,
    Shop,
    ShopMembership,
    WorkerHeartbeat,
)
from aftercart.core.services import shops_for_user


class ShopScopedAdmin(admin.ModelAdmin):
    """Walls shops off in the admin too: lists, choices and lookups hold the user's shops only.

    `shop_path` is the lookup from the model to its shop ("shop", "order__shop").
    """

    shop_path = "shop"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.shop_path}__in": shops_for_user(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            related = db_field.related_model
            shops = shops_for_user(request.user)
            if related is Shop:
                kwargs["queryset"] = Shop.objects.filter(pk__in=[s.pk for s in shops])
            elif any(f.name == "shop" for f in related._meta.get_fields()):
                kwargs["queryset"] = related._default_manager.filter(shop__in=shops)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(ShopScopedAdmin):
    """A record of what happened: it can be looked at, never written from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = ShopMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Shop)
class ShopAdmin(ShopScopedAdmin):
    shop_path = "pk"
    list_display = ["name", "slug", "currency", "locale", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "currency", "locale", "timezone", "created_at"]}),
        (
            _("Brand"),
            {
                "fields": [
                    "logo_url",
                    "brand_colour",
                    "sender_name",
                    "sender_email",
                    "reply_to",
                    "public_base_url",
                ]
            },
        ),
    ]


@admin.register(ShopMembership)
class ShopMembershipAdmin(ShopScopedAdmin):
    list_display = ["user", "shop", "role"]
    list_filter = ["role", "shop"]
    search_fields = ["user__username", "shop__slug"]
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin):
    """Keys are issued by the CLI (shown once); here they can only be named or revoked."""

    list_display = ["prefix", "shop", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["shop"]
    fields = ["shop", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["shop", "prefix", "created_at", "last_used_at"]
    search_fields = ["prefix", "name"]

    def has_add_permission(self, request):
        return False


class OperationsAdmin(admin.ModelAdmin):
    """Tables that belong to the running system, not to a shop: superusers only."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(OperationsAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "seen_at"]


@admin.register(RateLimit)
class RateLimitAdmin(OperationsAdmin):
    """Attempt counters (the order-status lookup's); keys are hashes, never addresses."""

    list_display = ["key", "window_start", "hits"]

    def has_delete_permission(self, request, obj=None):
        # Deleting a counter is how an operator lifts a pause early.
        return request.user.is_superuser


@admin.register(ScheduledJob)
class ScheduledJobAdmin(OperationsAdmin):
    list_display = ["name", "next_run_at"]

    def has_change_permission(self, request, obj=None):
        # Moving next_run_at is how an operator runs a periodic job early.
        return request.user.is_superuser
