"""What the customers app holds about a person, registered with core.privacy."""

from django.utils import timezone

from aftercart.core import privacy
from aftercart.customers.models import Customer


def export(customer: Customer) -> dict:
    return {
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "country": customer.country,
        "phone": customer.phone,
        "accepts_marketing": customer.accepts_marketing,
        "marketing_consent_at": (
            customer.marketing_consent_at.isoformat() if customer.marketing_consent_at else None
        ),
        "marketing_consent_source": customer.marketing_consent_source,
        "tags": customer.tags,
        "created_at": customer.created_at.isoformat(),
    }


def erase(customer: Customer) -> int:
    from aftercart.customers.services import anonymous_email

    customer.email = anonymous_email(customer)
    customer.first_name = customer.last_name = customer.phone = ""
    customer.external_id = ""
    customer.tags = []
    customer.accepts_marketing = False
    customer.marketing_consent_at = None
    customer.marketing_consent_source = ""
    customer.erased_at = timezone.now()
    customer.save()
    return 1


privacy.register("customer", export=export, erase=erase)
