"""Orders: the list with search and filters, and one order with its timeline."""

from django.http import Http404

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.forms import OrderFilterForm
from aftercart.dashboard.views.paging import paginate
from aftercart.orders import queries
from aftercart.orders.links import status_url
from aftercart.orders.scans import scans_for_parcels


@shop_page
def order_list(request, shop):
    form = OrderFilterForm(request.GET)
    orders = paginate(request, queries.find_orders(shop, **form.query(shop.timezone)))
    # Live search asks for the results only; a history restore needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "dashboard/orders/_results.html" if partial else "dashboard/orders/list.html"
    return page(request, template, {"form": form, "orders": orders})


@shop_page
def order_page(request, shop, pk: int):
    order = queries.order_detail(shop, pk=pk)
    if order is None or order.is_placeholder:
        raise Http404("No such order")
    parcels = list(order.shipments.all())
    scans = scans_for_parcels(shop.pk, parcels)
    for parcel in parcels:
        parcel.scans = list(reversed(scans[parcel.pk]))  # oldest first, like the timeline
    return page(
        request,
        "dashboard/orders/detail.html",
        # What the customer sees from her emails: the same signed link.
        {"order": order, "status_page": status_url(shop.pk, order.pk)},
    )
