"""Read-only views of a shop's webhooks, for the dashboard. Always scoped to one shop."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.webhooks.models import Delivery, Endpoint

RECENT = timedelta(days=7)


def endpoints_with_rates(shop: Shop) -> list[dict]:
    """Each endpoint with its last week: deliveries settled, and the share that succeeded."""
    since = timezone.now() - RECENT
    rows = (
        Delivery.objects.filter(shop=shop, created_at__gte=since)
        .values("endpoint_id")
        .annotate(
            succeeded=Count("id", filter=Q(status=Delivery.Status.SUCCEEDED)),
            failing=Count(
                "id", filter=Q(status__in=[Delivery.Status.FAILED, Delivery.Status.ABANDONED])
            ),
        )
        .order_by()
    )
    numbers = {r["endpoint_id"]: r for r in rows}
    result = []
    for endpoint in Endpoint.objects.filter(shop=shop).order_by("-active", "url", "id"):
        n = numbers.get(endpoint.pk, {"succeeded": 0, "failing": 0})
        settled = n["succeeded"] + n["failing"]
        rate = round(100 * n["succeeded"] / settled) if settled else None
        result.append({"endpoint": endpoint, **n, "settled": settled, "rate": rate})
    return result


def endpoint_in_shop(shop: Shop, pk: int) -> Endpoint | None:
    return Endpoint.objects.filter(shop=shop, pk=pk).first()


def deliveries(endpoint: Endpoint, *, status: str = "") -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(endpoint=endpoint).defer("payload")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def delivery_counts(endpoint: Endpoint) -> dict[str, int]:
    rows = Delivery.objects.filter(endpoint=endpoint).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows.order_by()}


def delivery_in_shop(shop: Shop, endpoint_pk: int, pk: int) -> Delivery | None:
    return (
        Delivery.objects.filter(shop=shop, endpoint_id=endpoint_pk, pk=pk)
        .select_related("endpoint")
        .prefetch_related("attempt_log")
        .first()
    )
