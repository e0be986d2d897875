"""Who may see which shop, and the frame every dashboard page is drawn in.

Every shop page goes through `shop_page`: the shop comes from the URL but only out of
the shops the logged-in user belongs to, so another shop's slug is a 404, never data.
"""

import re
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.core.services import shop_for_user, shops_for_user

DEFAULT_ACCENT = "#2f6f5e"
# The header section each page belongs to; switching shops keeps you in that section.
SECTIONS = {
    "orders": "orders",
    "order": "orders",
    "deliveries": "deliveries",
    "returns": "returns",
    "returns-bulk": "returns",
    "return-policy": "returns",
    "return-insights": "returns",
    "return": "returns",
    "return-act": "returns",
    "return-photo": "returns",
    "tickets": "tickets",
    "support-settings": "tickets",
    "support-figures": "tickets",
    "ticket": "tickets",
    "ticket-act": "tickets",
    "customers": "customers",
    "customer": "customers",
    "customer-erase": "customers",
    "intake": "intake",
    "intake-retry": "intake",
    "outbox": "outbox",
    "message": "outbox",
    "message-settle": "outbox",
    "templates": "outbox",
    "template": "outbox",
    "template-test": "outbox",
    "flows": "flows",
    "flow": "flows",
    "flow-status": "flows",
    "flow-export": "flows",
    "flow-report": "flows",
    "flow-new": "flows",
    "flow-backtest": "flows",
    "flow-import": "flows",
    "webhooks": "webhooks",
    "webhook-new": "webhooks",
    "webhook": "webhooks",
    "webhook-edit": "webhooks",
    "webhook-status": "webhooks",
    "webhook-rotate": "webhooks",
    "webhook-test": "webhooks",
    "webhook-delete": "webhooks",
    "webhook-delivery": "webhooks",
    "webhook-resend": "webhooks",
}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def shop_page(view):
    """Log-in required; passes the user's shop named in the URL, in the shop's time zone."""

    @login_required
    @wraps(view)
    def wrapper(request, shop_slug: str, *args, **kwargs):
        shop = shop_for_user(request.user, shop_slug)
        if shop is None:
            raise Http404("No such shop")
        request.shop = shop
        with timezone.override(shop.timezone):
            return view(request, shop, *args, **kwargs)

    return wrapper


def page(
    request,
    template: str,
    context: dict | None = None,
    *,
    shop: Shop | None = None,
    status: int = 200,
):
    """Render a dashboard page with the header's shop switcher and the shop's accent colour."""
    context = dict(context or {})
    shop = shop or getattr(request, "shop", None)
    accent = accent_colours(shop.brand_colour if shop else DEFAULT_ACCENT)
    match = request.resolver_match
    section = SECTIONS.get(match.url_name if match else "", "orders")
    context.update(
        shop=shop,
        shops=shops_for_user(request.user) if request.user.is_authenticated else [],
        section=section,
        switch_url_name=f"dashboard:{section}",
        accent=accent[0],
        accent_ink=accent[1],
    )
    return render(request, template, context, status=status)


def accent_colours(colour: str) -> tuple[str, str]:
    """The brand colour (or ours, if it is not a #rrggbb value) and the text colour readable on it.

    The colour goes into a style attribute, so anything but a plain hex value is refused.
    """
    if not _HEX.match(colour or ""):
        colour = DEFAULT_ACCENT
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # Pick the ink with the higher WCAG contrast ratio against the accent.
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return colour.lower(), "#ffffff" if on_white >= on_black else "#111111"
