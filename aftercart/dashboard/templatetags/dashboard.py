"""Presentation helpers for dashboard templates: money, links and timeline wording."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercart.core.money import format_money
from aftercart.orders.models import OrderEvent, Shipment

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount, currency: str = "") -> str:
    """An amount formatted the way the shop's customers read it (shop locale)."""
    shop = context.get("shop")
    if amount in (None, ""):  # a customer without (uncancelled) orders has no totals
        amount = Decimal("0.00")
    currency = currency or (shop.currency if shop else "EUR")
    return format_money(Decimal(amount), currency, shop.locale if shop else "en")


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """This page's URL with the same search and filters, on page `number`."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()


@register.filter
def web_url(url: str) -> str:
    """The URL if it is an http(s) link; stores send anything, and javascript: must not render."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


@register.filter
def shipment_status(value: str) -> str:
    try:
        return Shipment.Status(value).label
    except ValueError:
        return value


@register.simple_tag(takes_context=True)
def event_detail(context, event: OrderEvent) -> str:
    """One line that says what a timeline entry was about, beyond its type."""
    payload = event.payload or {}
    parts: list[str] = []
    if event.type in (OrderEvent.Type.SHIPPED, OrderEvent.Type.SHIPMENT_UPDATED):
        if event.type == OrderEvent.Type.SHIPMENT_UPDATED and payload.get("status"):
            parts.append(str(shipment_status(payload["status"])))
        parts += [str(payload[k]) for k in ("carrier", "tracking_number") if payload.get(k)]
    elif event.type == OrderEvent.Type.DELIVERED:
        parts += [str(payload[k]) for k in ("carrier", "tracking_number") if payload.get(k)]
    elif event.type == OrderEvent.Type.REFUNDED:
        if payload.get("amount"):
            order = event.order
            parts.append(money(context, Decimal(payload["amount"]), order.currency))
        if payload.get("reason"):
            parts.append(str(payload["reason"]))
    elif event.type == OrderEvent.Type.DELAYED:
        parts.append(late_reason(payload.get("reason", "")))
        parts += [str(payload[k]) for k in ("carrier", "tracking_number") if payload.get(k)]
    elif event.type == OrderEvent.Type.CANCELLED and payload.get("reason"):
        parts.append(_("reason: %(reason)s") % {"reason": payload["reason"]})
    return " · ".join(parts)


LATE_REASONS = {
    "window_passed": gettext_lazy("the delivery window passed"),
    "failed_attempt": gettext_lazy("a delivery attempt failed"),
    "exception": gettext_lazy("the carrier reported a problem"),
    "returned_to_sender": gettext_lazy("going back to the shop"),
}


@register.filter
def late_reason(reason: str) -> str:
    return str(LATE_REASONS.get(reason, reason))


@register.filter
def tone(status: str) -> str:
    """A CSS modifier for a status badge: good, bad, or neutral news."""
    if status in {"paid", "delivered", "fulfilled", "applied", "sent"}:
        return "good"
    if status in {
        "failed",
        "voided",
        "refunded",
        "exception",
        "failed_attempt",
        "returned_to_sender",
        "cancelled",
    }:
        return "bad"
    if status in {
        "partially_refunded",
        "partial",
        "pending",
        "in_transit",
        "out_for_delivery",
        "sending",
        "suppressed",
    }:
        return "warn"
    return "neutral"


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


SOURCES = {"shopify": "Shopify", "woocommerce": "WooCommerce", "api": "API", "csv": "CSV"}


@register.filter
def source_name(source: str) -> str:
    """Where an order or a delivery came from, as the platform spells itself."""
    return SOURCES.get(source, source)
