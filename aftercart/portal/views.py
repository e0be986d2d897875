"""The customer's pages: no login; a signed link says who she is and for which shop."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aftercart.core.models import Shop
from aftercart.customers import services as customers
from aftercart.customers.models import Customer
from aftercart.messaging.links import read_unsubscribe_token
from aftercart.messaging.services import message_locale


def _recipient(token: str) -> tuple[Shop, str] | None:
    read = read_unsubscribe_token(token)
    if read is None:
        return None
    shop = Shop.objects.filter(pk=read[0]).first()
    return (shop, read[1].strip().lower()) if shop else None


def _page(request, template: str, shop: Shop | None, status: int = 200, **context):
    language = "en"
    if shop:
        customer = Customer.objects.filter(shop=shop, email=context.get("email", "")).first()
        language = message_locale(shop, customer)
    with translation.override(language):
        return render(request, template, {"shop": shop, **context}, status=status)


# The token is the authentication, and mail apps POST the RFC 8058 one-click request
# without any cookie or form token, so there is no CSRF token to check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners open links and must not unsubscribe); POST does it."""
    found = _recipient(token)
    if found is None:
        return _page(request, "portal/invalid_link.html", None, status=404)
    shop, email = found
    if request.method == "POST":
        customers.unsubscribe_address(shop, email, source="unsubscribe link")
        return _page(request, "portal/unsubscribed.html", shop, email=email, token=token)
    return _page(request, "portal/unsubscribe.html", shop, email=email, token=token)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    found = _recipient(token)
    if found is None:
        return _page(request, "portal/invalid_link.html", None, status=404)
    shop, email = found
    saved = False
    if request.method == "POST":
        wants = request.POST.get("marketing") == "yes"
        customers.choose_marketing(shop, email, wants, source="preferences page")
        saved = True
    return _page(
        request,
        "portal/preferences.html",
        shop,
        email=email,
        token=token,
        subscribed=customers.receives_marketing(shop, email),
        saved=saved,
    )
