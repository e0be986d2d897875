"""The customer's side of customer care: the contact form on her order's page, and the
one-click rating from the rating email."""

from datetime import timedelta

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from aftercart.core import ratelimit
from aftercart.portal.pages import plain_page, shop_page
from aftercart.portal.returns import order_from_token
from aftercart.support import queries, services
from aftercart.support.models import Ticket

# The form is behind her order's signed link; this only stops a script on a leaked link.
MESSAGES_PER_HOUR = 10
CATEGORIES = [
    Ticket.Category.QUESTION,
    Ticket.Category.DELIVERY,
    Ticket.Category.RETURN,
    Ticket.Category.PRODUCT,
    Ticket.Category.COMPLAINT,
]


@csrf_protect
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest, token: str) -> HttpResponse:
    found = order_from_token(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, order, language = found
    context = {"order": order, "token": token, "categories": CATEGORIES, "problem": ""}
    with translation.override(language):
        if request.method == "GET":
            return shop_page(request, "portal/contact.html", shop, language, **context)
        category = request.POST.get("category", "")
        body = request.POST.get("message", "")[:20_000]
        context.update(category=category, message=body)
        if category not in CATEGORIES or not body.strip():
            context["problem"] = translation.gettext(
                "Choose what it is about and write your message."
            )
            return shop_page(request, "portal/contact.html", shop, language, status=400, **context)
        if not ratelimit.allow(
            f"contact:{shop.pk}:{order.pk}", MESSAGES_PER_HOUR, timedelta(hours=1)
        ):
            context["problem"] = translation.gettext(
                "You sent us many messages just now; please wait a while."
            )
            return shop_page(request, "portal/contact.html", shop, language, status=429, **context)
        ticket = services.open_ticket(
            shop,
            services.NewTicket(
                email=order.email,
                name=order.shipping_name or (order.customer.first_name if order.customer else ""),
                subject=translation.gettext("About order %(number)s") % {"number": order.number},
                body=body,
                category=category,
                priority=services.priority_for(category),
                channel=Ticket.Channel.FORM,
                order_id=order.pk,
                locale=language,
            ),
        )
        return HttpResponseRedirect(
            reverse("portal:contact_sent", args=[token]) + f"?ticket={ticket.number}"
        )


@require_http_methods(["GET"])
def contact_sent(request: HttpRequest, token: str) -> HttpResponse:
    found = order_from_token(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, order, language = found
    number = request.GET.get("ticket", "")
    ticket = (
        Ticket.objects.filter(shop=shop, order=order, number=int(number)).first()
        if number.isdigit()
        else None
    )
    return shop_page(
        request, "portal/contact_sent.html", shop, language, token=token, order=order, ticket=ticket
    )


@csrf_protect
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """GET shows the choice and sends it at once from the browser (one click for her);
    mail scanners that open every link run no scripts, so they rate nothing. POST rates."""
    ticket = queries.ticket_by_token(token)
    if ticket is None or not 1 <= score <= 5:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    language = ticket.locale or ticket.shop.locale
    rating = getattr(ticket, "rating", None)
    context = {"ticket": ticket, "score": score, "rating": rating, "counted": False}
    with translation.override(language):
        if request.method == "POST":
            if request.POST.get("comment") is not None and rating is not None:
                services.comment_on_rating(rating, request.POST["comment"])
                context.update(rating=rating, commented=True)
            else:
                try:
                    rating, counted = services.rate(ticket, score)
                except services.TicketProblem:  # she wrote back: it is open again
                    return plain_page(request, "portal/invalid_link.html", None, status=404)
                context.update(rating=rating, counted=counted)
        return shop_page(request, "portal/rate.html", ticket.shop, language, **context)
