"""The customer's pages: no login; a signed link says who she is and for which shop."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from aftercart.core.models import Shop
from aftercart.customers import services as customers
from aftercart.customers.models import Customer
from aftercart.messaging.links import read_unsubscribe_token
from aftercart.messaging.services import message_locale
from aftercart.messaging.status_lookup import request_status_link
from aftercart.orders.links import LinkExpired, read_status_token
from aftercart.orders.status_page import page_version, read_status_page
from aftercart.portal.pages import plain_page, shop_page
from aftercart.portal.returns import status_page_actions


def _recipient(token: str) -> tuple[Shop, str] | None:
    read = read_unsubscribe_token(token)
    if read is None:
        return None
    shop = Shop.objects.filter(pk=read[0]).first()
    return (shop, read[1].strip().lower()) if shop else None


# The token is the authentication, and mail apps POST the RFC 8058 one-click request
# without any cookie or form token, so there is no CSRF token to check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners open links and must not unsubscribe); POST does it."""
    found = _recipient(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, email = found
    if request.method == "POST":
        customers.unsubscribe_address(shop, email, source="unsubscribe link")
        return plain_page(request, "portal/unsubscribed.html", shop, email=email, token=token)
    return plain_page(request, "portal/unsubscribe.html", shop, email=email, token=token)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    found = _recipient(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, email = found
    saved = False
    if request.method == "POST":
        wants = request.POST.get("marketing") == "yes"
        customers.choose_marketing(shop, email, wants, source="preferences page")
        saved = True
    return plain_page(
        request,
        "portal/preferences.html",
        shop,
        email=email,
        token=token,
        subscribed=customers.receives_marketing(shop, email),
        saved=saved,
    )


# The order-status page --------------------------------------------------------------

PAGE_SECONDS = 600  # a rendered status page is kept this long (for its order's version)
# A lookup answers no sooner than this, whatever it found: how long it took must not say
# whether the number and address matched (a match also queues an email).
LOOKUP_FLOOR_SECONDS = 0.4


def _brand(shop: Shop) -> str:
    """What of the shop the page shows, as a short stable digest (the same in every process)."""
    shown = "\n".join(
        [shop.name, shop.brand_colour, shop.reply_to, shop.sender_email, shop.timezone]
    )
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


@require_http_methods(["GET"])
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = read_status_token(token)
    except LinkExpired as expired:
        shop = Shop.objects.filter(pk=expired.shop_id).first()
        if shop is None:
            return plain_page(request, "portal/invalid_link.html", None, status=404)
        return shop_page(
            request, "portal/link_expired.html", shop, shop.locale, status=410, expired=True
        )
    version = page_version(*found) if found else None
    if version is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop = version.shop
    language = message_locale(shop, Customer(locale=version.customer_locale), version.order_locale)
    # Rendered once per version of the order: a customer opens her page again and again
    # when a parcel is near, and nothing on it changes until the order does.
    key = "portal:status:" + ":".join(
        str(part)
        for part in (
            shop.pk,
            found[1],
            # The page's links (a return, a question) carry the token it was opened with:
            # one shared copy would hand an older, perhaps expired, token to the next.
            hashlib.sha256(token.encode()).hexdigest()[:16],
            language,
            version.updated_at.timestamp(),
            timezone.localdate(timezone=shop.zone),  # "expected" counts from today
            _brand(shop),
        )
    )
    html = cache.get(key)
    if html is None:
        page = read_status_page(version, language)
        with translation.override(language):
            page.actions.extend(status_page_actions(shop.pk, page.order, token))
            page.actions.append(
                (translation.gettext("Ask us a question"), reverse("portal:contact", args=[token]))
            )
        html = shop_page(request, "portal/order_status.html", shop, language, page=page).content
        cache.set(key, html, PAGE_SECONDS)
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"  # a customer's address and items
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
def find_order(request: HttpRequest, shop_slug: str) -> HttpResponse:
    shop = Shop.objects.filter(slug=shop_slug).first()
    if shop is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    language = translation.get_language_from_request(request)
    language = message_locale(shop, None, request.GET.get("lang") or language)
    if request.method == "GET":
        return shop_page(
            request, "portal/find_order.html", shop, language, problems=[], number="", email=""
        )
    started = time.monotonic()
    number = request.POST.get("number", "")
    email = request.POST.get("email", "")
    problems = []
    if not number.strip():
        problems.append("number")
    if "@" not in email:
        problems.append("email")
    if problems:
        return shop_page(
            request,
            "portal/find_order.html",
            shop,
            language,
            status=400,
            problems=problems,
            number=number[:60],
            email=email[:254],
        )
    lookup = request_status_link(shop, number, email, client=client_address(request))
    if lookup.limited:  # says nothing about a match, so it need not wait
        return shop_page(request, "portal/find_order_limited.html", shop, language, status=429)
    time.sleep(max(0.0, LOOKUP_FLOOR_SECONDS - (time.monotonic() - started)))
    return shop_page(request, "portal/find_order_sent.html", shop, language)


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or, behind AFTERCART_PROXY_HOPS proxies, the one
    the outermost of them saw (the addresses before it are the client's to invent)."""
    hops = settings.AFTERCART_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")
