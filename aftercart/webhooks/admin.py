"""Admin for webhook endpoints and their delivery log. Settings are checked as in the dashboard."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.admin import ReadOnlyAdmin, ReadOnlyInline, ShopScopedAdmin
from aftercart.core.crypto import encrypt
from aftercart.webhooks import signing
from aftercart.webhooks.addresses import UnsafeUrl, check_url
from aftercart.webhooks.event_types import EventTypeProblem, parse_choice
from aftercart.webhooks.models import Attempt, Delivery, Endpoint


def _form_field(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # a URL typed without one is an https URL
    return field.formfield(**kwargs)


class EndpointForm(forms.ModelForm):
    class Meta:
        model = Endpoint
        fields = ["shop", "url", "description", "event_types", "active", "disabled_reason"]
        formfield_callback = _form_field

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeUrl as exc:
            raise ValidationError(str(exc)) from None
        return url

    def clean_event_types(self):
        try:
            return parse_choice(self.cleaned_data["event_types"] or [])
        except EventTypeProblem as exc:
            raise ValidationError(str(exc)) from None


@admin.register(Endpoint)
class EndpointAdmin(ShopScopedAdmin):
    form = EndpointForm
    list_display = ["url", "shop", "active", "created_at"]
    list_filter = ["shop", "active"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = encrypt(signing.new_secret())  # shown in the dashboard, not here
        super().save_model(request, obj, form, change)


class AttemptInline(ReadOnlyInline, admin.TabularInline):
    model = Attempt
    fields = ["attempted_at", "status_code", "error", "response", "duration_ms", "by_hand"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "endpoint", "status", "attempts", "created_at", "shop"]
    list_filter = ["shop", "status", "event_type"]
    search_fields = ["message_id", "event_type"]
    inlines = [AttemptInline]
    verbose_name = _("webhook delivery")


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    shop_path = "delivery__shop"
    list_display = ["delivery", "attempted_at", "status_code", "succeeded", "by_hand"]
    list_filter = ["succeeded", "by_hand"]
