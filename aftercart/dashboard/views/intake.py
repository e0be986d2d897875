"""What the shop's store sent us lately, so a merchant can see when intake goes wrong."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate
from aftercart.integrations.intake import retry_failed
from aftercart.integrations.queries import delivery_counts, recent_deliveries

STATUSES = {
    "pending": _("Waiting"),
    "applied": _("Applied"),
    "ignored": _("Ignored"),
    "failed": _("Failed"),
}


@shop_page
def intake(request, shop):
    status = request.GET.get("status", "")
    if status not in STATUSES:
        status = ""
    counts = delivery_counts(shop)
    context = {
        "deliveries": paginate(request, recent_deliveries(shop, status=status)),
        "status": status,
        "statuses": [(key, label, counts.get(key, 0)) for key, label in STATUSES.items()],
        "status_labels": STATUSES,
        "failed": counts.get("failed", 0),
        "total": sum(counts.values()),
    }
    return page(request, "dashboard/intake.html", context)


@shop_page
@require_POST
def intake_retry(request, shop):
    count = retry_failed(shop)
    messages.success(
        request,
        ngettext(
            "%(count)d failed delivery will be applied again.",
            "%(count)d failed deliveries will be applied again.",
            count,
        )
        % {"count": count},
    )
    return redirect("dashboard:intake", shop_slug=shop.slug)
