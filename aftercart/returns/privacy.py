"""What the returns app holds about a person, registered with core.privacy."""

from aftercart.core import privacy
from aftercart.returns.models import ReturnPhoto, ReturnRequest


def export(customer) -> list[dict]:
    return [
        {
            "number": r.number,
            "status": r.status,
            "reason": r.reason_label,
            "comment": r.comment,
            "resolution": r.resolution,
            "requested_at": r.requested_at.isoformat(),
            "items": [{"title": ln.title, "quantity": ln.quantity} for ln in r.lines.all()],
            "photos": r.photos.count(),
        }
        for r in ReturnRequest.objects.filter(customer=customer).prefetch_related("lines")
    ]


def erase(customer) -> int:
    """Keep what came back and what it cost, for the books; drop her words and photos."""
    returns = ReturnRequest.objects.filter(customer=customer)
    ReturnPhoto.objects.filter(request__in=returns).delete()
    return returns.update(comment="", exchange_for="", tracking_number="")


privacy.register("returns", export=export, erase=erase)
