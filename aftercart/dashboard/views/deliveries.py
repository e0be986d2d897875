"""Deliveries: parcels late, in trouble or on their way, and how each carrier does."""

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate
from aftercart.orders import deliveries


@shop_page
def delivery_list(request, shop):
    counts = deliveries.counts(shop)
    view = request.GET.get("view")
    if view not in deliveries.VIEWS:
        view = "late" if counts["late"] else "in_transit"
    return page(
        request,
        "dashboard/deliveries.html",
        {
            "view": view,
            "counts": counts,
            "parcels": paginate(request, deliveries.parcels(shop, view)),
            "carriers": deliveries.carrier_table(shop),
            "carrier_days": deliveries.CARRIER_DAYS,
        },
    )
