"""Read-only views of what arrived from a shop's store. Always scoped to one shop."""

from django.db.models import Count, QuerySet

from aftercart.core.models import Shop
from aftercart.integrations.models import Delivery


def recent_deliveries(shop: Shop, *, status: str = "") -> QuerySet[Delivery]:
    """The shop's webhook and API deliveries, newest first, without their bodies."""
    qs = Delivery.objects.filter(shop=shop).defer("body")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-received_at", "-id")


def delivery_counts(shop: Shop) -> dict[str, int]:
    """How many of the shop's deliveries are in each status."""
    rows = Delivery.objects.filter(shop=shop).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
