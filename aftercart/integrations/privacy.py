"""Raw deliveries hold whatever the store sent, personal data included: they join erasure."""

from aftercart.core import privacy
from aftercart.integrations.models import Delivery


def _deliveries(customer):
    from aftercart.orders.models import Order

    keys = [
        f"order:{ext}"
        for ext in Order.objects.filter(customer=customer).values_list("external_id", flat=True)
    ]
    if customer.external_id:
        keys.append(f"customer:{customer.external_id}")
    keys.append(f"customer:{customer.email}")
    return Delivery.objects.filter(shop_id=customer.shop_id, resource_key__in=keys)


def export(customer) -> dict:
    return {"deliveries_held": _deliveries(customer).count()}


def erase(customer) -> int:
    return _deliveries(customer).update(body="{}")


privacy.register("deliveries", export=export, erase=erase)
