"""What outgoing webhooks hold about a person: the payloads sent about her.

Registered with core.privacy. Erasure blanks her name and address in every stored payload
(what was already delivered is the receiver's to erase); a delivery still to be sent goes
without them.
"""

from aftercart.core import privacy
from aftercart.webhooks.models import Delivery
from aftercart.webhooks.payloads import scrub


def _hers(customer):
    return Delivery.objects.filter(shop_id=customer.shop_id, customer_id=customer.pk)


def export(customer) -> list[dict]:
    return [
        {
            "event": d.event_type,
            "sent_to": d.endpoint.url,
            "status": d.status,
            "created_at": d.created_at.isoformat(),
            "payload": d.payload,
        }
        for d in _hers(customer).select_related("endpoint").order_by("created_at", "id")
    ]


def erase(customer) -> int:
    changed = []
    for delivery in _hers(customer).only("pk", "payload").iterator():
        cleaned = scrub(delivery.payload)
        if cleaned != delivery.payload:
            delivery.payload = cleaned
            changed.append(delivery)
    Delivery.objects.bulk_update(changed, ["payload"], batch_size=500)
    return len(changed)


privacy.register("webhooks", export=export, erase=erase)
