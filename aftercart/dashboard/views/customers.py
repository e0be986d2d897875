"""Customers: the list with search, one customer with their orders, and their privacy rights."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from aftercart.customers import queries
from aftercart.customers.services import erase_customer, export_customer, suppression_reason
from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.forms import CustomerFilterForm, EraseForm
from aftercart.dashboard.views.paging import paginate
from aftercart.flows.queries import customer_journey
from aftercart.orders.queries import customer_totals, find_orders
from aftercart.returns.queries import credit_balance, find_returns
from aftercart.support.models import Ticket


def _customer_or_404(shop, pk: int):
    customer = queries.customer_in_shop(shop, pk)
    if customer is None:
        raise Http404("No such customer")
    return customer


@shop_page
def customer_list(request, shop):
    form = CustomerFilterForm(request.GET)
    customers = paginate(request, queries.find_customers(shop, **form.query()))
    totals = customer_totals(shop, [c.pk for c in customers])
    rows = [(c, totals.get(c.pk, {})) for c in customers]
    partial = request.htmx and not request.htmx.history_restore_request
    template = "dashboard/customers/_results.html" if partial else "dashboard/customers/list.html"
    return page(request, template, {"form": form, "customers": customers, "rows": rows})


@shop_page
def customer_page(request, shop, pk: int):
    customer = _customer_or_404(shop, pk)
    context = {
        "customer": customer,
        "totals": customer_totals(shop, [customer.pk]).get(customer.pk, {}),
        "orders": find_orders(shop, customer_id=customer.pk),
        "journey": customer_journey(shop, customer.pk),
        "suppressed": suppression_reason(shop, customer.email),
        "credit": credit_balance(shop, customer.pk),
        "returns": find_returns(shop).filter(customer=customer)[:20],
        "tickets": Ticket.objects.filter(shop=shop, customer=customer).order_by("-created_at")[:20],
    }
    return page(request, "dashboard/customers/detail.html", context)


@shop_page
def customer_export(request, shop, pk: int):
    customer = _customer_or_404(shop, pk)
    document = json.dumps(export_customer(customer), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(document, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{shop.slug}-customer-{pk}.json"'
    response["Cache-Control"] = "no-store"  # personal data: no copies in caches
    return response


@shop_page
@require_http_methods(["GET", "POST"])
def customer_erase(request, shop, pk: int):
    customer = _customer_or_404(shop, pk)
    if customer.erased_at:
        messages.info(request, _("This customer's personal data has already been erased."))
        return redirect("dashboard:customer", shop_slug=shop.slug, pk=pk)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        erase_customer(customer, requested_by=request.user.get_username())
        messages.success(request, _("The customer's personal data has been erased."))
        return redirect("dashboard:customer", shop_slug=shop.slug, pk=pk)
    return page(request, "dashboard/customers/erase.html", {"customer": customer, "form": form})
