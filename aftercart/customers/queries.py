"""Read-only views of a shop's customers. Always scoped to one shop."""

from django.db.models import Q, QuerySet

from aftercart.core.models import Shop
from aftercart.customers.models import Customer


def find_customers(
    shop: Shop, *, search: str = "", accepts_marketing: bool | None = None
) -> QuerySet[Customer]:
    qs = Customer.objects.filter(shop=shop, erased_at=None)
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(email__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
        )
    if accepts_marketing is not None:
        qs = qs.filter(accepts_marketing=accepts_marketing)
    return qs.order_by("-created_at", "-id")


def customer_in_shop(shop: Shop, pk: int) -> Customer | None:
    return Customer.objects.filter(shop=shop, pk=pk).first()


def customer_by_email(shop: Shop, email: str) -> Customer | None:
    return Customer.objects.filter(shop=shop, email=email.strip().lower()).first()
