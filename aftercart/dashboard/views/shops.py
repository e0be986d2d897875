"""The way in: which shop to show, or how to make the first one."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from aftercart.core.services import shops_for_user
from aftercart.dashboard.access import page, shop_page


@login_required
def home(request):
    shops = shops_for_user(request.user)
    if shops:
        return redirect("dashboard:orders", shop_slug=shops[0].slug)
    return page(request, "dashboard/no_shops.html")


@shop_page
def shop_home(request, shop):
    return redirect("dashboard:orders", shop_slug=shop.slug)
