from decimal import Decimal

from django import template
from django.utils.translation import get_language

from aftercart.core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str = "EUR") -> str:
    """An amount as the customer reads it in her language: "€ 12,50" or "€12.50"."""
    if amount in (None, ""):
        return ""
    return format_money(Decimal(amount), currency or "EUR", get_language() or "en")
