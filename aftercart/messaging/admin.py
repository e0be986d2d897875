"""Admin for templates and the outbox. Messages are read here; they are sent by services."""

from django import forms
from django.contrib import admin

from aftercart.core.admin import ReadOnlyAdmin, ShopScopedAdmin
from aftercart.messaging.models import Message, MessageTemplate
from aftercart.messaging.rendering import TemplateProblem, check


class TemplateForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        try:
            check(data.get("subject", ""), data.get("preheader", ""), data.get("body", ""))
        except TemplateProblem as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ShopScopedAdmin):
    list_display = ["kind", "locale", "shop", "version", "updated_at"]
    list_filter = ["shop", "kind", "locale"]
    readonly_fields = ["version", "updated_at"]
    form = TemplateForm

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1  # running messages pick the new text up when they are sent
        super().save_model(request, obj, form, change)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["kind", "to_email", "status", "due_at", "sent_at", "shop"]
    list_filter = ["shop", "status", "kind", "marketing"]
    search_fields = ["to_email", "dedupe_key", "subject"]
