"""Read-only views of a shop's outbox, for the dashboard. Always scoped to one shop."""

from django.db.models import Count, QuerySet

from aftercart.core.models import Shop
from aftercart.messaging.models import THREADED_KINDS, Message


def recent_messages(shop: Shop, *, status: str = "", kind: str = "") -> QuerySet[Message]:
    qs = Message.objects.filter(shop=shop).select_related("customer").defer("html", "text")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def message_counts(shop: Shop) -> dict[str, int]:
    rows = Message.objects.filter(shop=shop).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows.order_by()}


def message_in_shop(shop: Shop, pk: int) -> Message | None:
    return Message.objects.filter(shop=shop, pk=pk).select_related("customer").first()


def message_by_header_id(shop: Shop, message_id: str) -> Message | None:
    """The email we sent with this Message-ID header (a reply names it in In-Reply-To)."""
    if not message_id:
        return None
    return Message.objects.filter(shop=shop, kind__in=THREADED_KINDS, message_id=message_id).first()
