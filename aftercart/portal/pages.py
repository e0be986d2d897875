"""Rendering the customer's pages: in her language, on the shop's clock, with Jinja2."""

from django.shortcuts import render
from django.utils import timezone, translation

from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.messaging.services import message_locale

PAGES = "jinja2"  # the customer's pages' template engine (aftercart/portal/jinja.py)


def plain_page(request, template: str, shop: Shop | None, status: int = 200, **context):
    language = "en"
    if shop:
        customer = Customer.objects.filter(shop=shop, email=context.get("email", "")).first()
        language = message_locale(shop, customer)
    with translation.override(language):
        return render(
            request,
            template,
            {"shop": shop, "language_code": language, **context},
            status=status,
            using=PAGES,
        )


def shop_page(request, template: str, shop: Shop, language: str, status: int = 200, **context):
    """In the customer's language, with times as the shop's clocks show them."""
    with translation.override(language), timezone.override(shop.zone):
        return render(
            request,
            template,
            {"shop": shop, "language_code": language, "zone": shop.zone, **context},
            status=status,
            using=PAGES,
        )
