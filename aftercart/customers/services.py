"""Customers: found by normalised email per shop, updated only by newer data."""

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core import bulk, privacy
from aftercart.core.events import publish
from aftercart.core.models import Shop
from aftercart.customers.models import Customer, ErasureRecord, Suppression


@dataclass
class CustomerData:
    """A customer as any source describes them; None means "not said", so it changes nothing."""

    email: str
    external_id: str = ""
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    country: str | None = None
    phone: str | None = None
    accepts_marketing: bool | None = None
    consent_at: datetime | None = None
    consent_source: str = ""
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def normalise_email(email: str) -> str:
    """Trim and lowercase; the address is what identifies a customer within a shop."""
    value = (email or "").strip().lower()
    if not _is_address(value):
        raise ValueError(f"email: {email!r} is not an email address")
    return value


# Addresses of the plainest shape (nearly all of them) pass without Django's full check,
# which costs microseconds a time on a million-line import. Everything this accepts,
# Django's validate_email accepts too; everything else goes through it.
_PLAIN_ADDRESS = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def _is_address(value: str) -> bool:
    if len(value) <= 320 and _PLAIN_ADDRESS.fullmatch(value):
        return True
    return _is_unusual_address(value)


@lru_cache(maxsize=1 << 12)
def _is_unusual_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def upsert_customer(shop: Shop, data: CustomerData) -> tuple[Customer, bool]:
    """Create or update the shop's customer with this email. Stale data (older updated_at) changes nothing.

    Returns (customer, changed).
    """
    email = normalise_email(data.email)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(shop=shop, email=email).first()
        if customer is None:
            customer = Customer(shop=shop, email=email)
            _apply(customer, data)
            try:
                with transaction.atomic():
                    customer.save(force_insert=True)
            except IntegrityError:
                # Another process created the same customer a moment ago: update theirs.
                customer = Customer.objects.select_for_update().get(shop=shop, email=email)
            else:
                publish("customer.created", shop.id, customer_id=customer.id)
                return customer, True
        if (
            data.updated_at
            and customer.source_updated_at
            and data.updated_at < customer.source_updated_at
        ):
            return customer, False
        changed = _apply(customer, data)
        if changed:
            customer.save()
            publish("customer.updated", shop.id, customer_id=customer.id)
    return customer, changed


def _apply(customer: Customer, data: CustomerData) -> bool:
    changed = False
    for attr in ("external_id", "first_name", "last_name", "locale", "country", "phone"):
        value = getattr(data, attr)
        if value is None or value == "":
            continue
        value = str(value)[: Customer._meta.get_field(attr).max_length]
        if attr == "country":
            value = value.upper()
        if getattr(customer, attr) != value:
            setattr(customer, attr, value)
            changed = True
    if data.accepts_marketing is not None and data.accepts_marketing != customer.accepts_marketing:
        customer.accepts_marketing = data.accepts_marketing
        customer.marketing_consent_at = data.consent_at or data.updated_at or timezone.now()
        customer.marketing_consent_source = data.consent_source[:60]
        changed = True
    if data.updated_at and (
        customer.source_updated_at is None or data.updated_at > customer.source_updated_at
    ):
        customer.source_updated_at = data.updated_at
        changed = True
    return changed


_WEIGHT = {Suppression.Reason.BOUNCED: 3, Suppression.Reason.COMPLAINED: 2}


def suppress(shop: Shop, email: str, reason: str, *, detail: str = "") -> Suppression:
    """Stop marketing mail to this address (unsubscribed, bounced, marked as spam).

    By address, so it holds whether or not the address belongs to a customer. Suppressing
    an address twice keeps the weightier reason: a bounce (no mail at all goes to an
    address that does not exist), then a complaint, then the rest.
    """
    email = (email or "").strip().lower()
    with transaction.atomic():
        row, created = Suppression.objects.select_for_update().get_or_create(
            shop=shop, email=email, defaults={"reason": reason, "detail": detail[:300]}
        )
        if not created and _WEIGHT.get(reason, 0) > _WEIGHT.get(row.reason, 0):
            row.reason, row.detail = reason, detail[:300]
            row.save(update_fields=["reason", "detail"])
    if created:
        publish("customer.suppressed", shop.id, email=email, reason=reason)
    return row


def suppression_reason(shop: Shop, email: str) -> str | None:
    """Why marketing mail may not go to this address, or None when it may."""
    email = (email or "").strip().lower()
    return (
        Suppression.objects.filter(shop=shop, email=email).values_list("reason", flat=True).first()
    )


def set_marketing_consent(customer: Customer, accepts: bool, *, source: str) -> bool:
    """Record the customer's own yes or no to marketing mail; returns whether it changed.

    A no also puts the address on the suppression list, so no marketing reaches it even
    if the store later sends an old "accepts marketing" flag. A yes given by the
    customer lifts an unsubscribe or a spam complaint, never a bounce (the address does
    not work).
    """
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        changed = customer.accepts_marketing != accepts
        customer.accepts_marketing = accepts
        customer.marketing_consent_at = now
        customer.marketing_consent_source = source[:60]
        customer.save(
            update_fields=[
                "accepts_marketing",
                "marketing_consent_at",
                "marketing_consent_source",
                "updated_at",
            ]
        )
        if accepts:
            Suppression.objects.filter(
                shop_id=customer.shop_id,
                email=customer.email,
                reason__in=[Suppression.Reason.UNSUBSCRIBED, Suppression.Reason.COMPLAINED],
            ).delete()
        else:
            suppress(customer.shop, customer.email, Suppression.Reason.UNSUBSCRIBED, detail=source)
        publish(
            "customer.consent_changed",
            customer.shop_id,
            customer_id=customer.id,
            accepts_marketing=accepts,
        )
    return changed


def unsubscribe_address(shop: Shop, email: str, *, source: str) -> None:
    """The address's owner said no to marketing mail (a link, a mail app's button)."""
    email = normalise_email(email)
    customer = Customer.objects.filter(shop=shop, email=email).first()
    if customer is not None:
        set_marketing_consent(customer, False, source=source)
    else:
        suppress(shop, email, Suppression.Reason.UNSUBSCRIBED, detail=source)


def receives_marketing(shop: Shop, email: str) -> bool:
    email = normalise_email(email)
    customer = Customer.objects.filter(shop=shop, email=email).first()
    return bool(customer and customer.accepts_marketing) and not suppression_reason(shop, email)


def choose_marketing(shop: Shop, email: str, wants: bool, *, source: str) -> bool:
    """The preferences page: yes or no to marketing mail; returns whether it was recorded.

    A yes needs a customer to record it on (an address that never ordered has no
    relationship with the shop to consent to).
    """
    if not wants:
        unsubscribe_address(shop, email, source=source)
        return True
    customer = Customer.objects.filter(shop=shop, email=normalise_email(email)).first()
    if customer is None:
        return False
    set_marketing_consent(customer, True, source=source)
    return True


def tag_customer(customer: Customer, tag: str) -> bool:
    """Add a tag (a flow's action, the shop's own label); returns whether it was new."""
    tag = tag.strip()[:60]
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if tag in customer.tags:
            return False
        customer.tags = [*customer.tags, tag]
        customer.save(update_fields=["tags", "updated_at"])
    return True


def local_zone(shop: Shop, customer: Customer | None) -> ZoneInfo:
    """The customer's time zone (quiet hours, "at 10:00"), else the shop's, else UTC."""
    for name in (customer.time_zone if customer else "", shop.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder
                continue
    return ZoneInfo("UTC")


def export_customer(customer: Customer) -> dict[str, Any]:
    """Everything every app holds about one customer, as one JSON-able document."""
    return {
        "shop": customer.shop.slug,
        "exported_at": timezone.now().isoformat(),
        "data": {holder.name: holder.export(customer) for holder in privacy.holders()},
    }


def erase_customer(customer: Customer, *, requested_by: str) -> ErasureRecord:
    """Remove or anonymise personal data everywhere; order totals stay for the books.

    Every erasure is recorded, without the personal data it removed.
    """
    with transaction.atomic():
        # Later apps find their rows through the customer, so they go first and the
        # customer record itself (registered first) is anonymised last.
        summary = {h.name: h.erase(customer) for h in reversed(privacy.holders())}
        record = ErasureRecord.objects.create(
            shop=customer.shop,
            customer_ref=str(customer.pk),
            requested_by=requested_by[:200],
            summary=summary,
        )
        publish("customer.erased", customer.shop_id, customer_id=customer.pk)
    return record


def anonymous_email(customer: Customer) -> str:
    digest = hashlib.sha256(f"{customer.shop_id}:{customer.pk}".encode()).hexdigest()[:16]
    return f"erased-{digest}@invalid.example"


def answer_data_request(shop: Shop, email: str, *, requested_by: str):
    """A store asks for a customer's data: build the export and keep it for the merchant."""
    from aftercart.customers.models import DataRequest

    customer = Customer.objects.filter(shop=shop, email=email.strip().lower()).first()
    document = export_customer(customer) if customer else {"shop": shop.slug, "data": {}}
    return DataRequest.objects.create(
        shop=shop, email=email[:254], requested_by=requested_by[:200], document=document
    )


def redact_by_email(shop: Shop, email: str, *, requested_by: str) -> ErasureRecord | None:
    customer = Customer.objects.filter(shop=shop, email=email.strip().lower()).first()
    if customer is None:
        return None  # nothing held, nothing to erase
    return erase_customer(customer, requested_by=requested_by)


def redact_shop(shop: Shop, *, requested_by: str) -> int:
    """The store uninstalled us: erase every customer the shop holds."""
    count = 0
    for customer in Customer.objects.filter(shop=shop, erased_at=None).iterator():
        erase_customer(customer, requested_by=requested_by)
        count += 1
    return count


HELD = (
    "external_id",
    "first_name",
    "last_name",
    "locale",
    "country",
    "phone",
    "accepts_marketing",
    "marketing_consent_at",
    "marketing_consent_source",
    "source_updated_at",
)


def import_customers(shop: Shop, records: list[CustomerData]) -> dict[str, int]:
    """Find or create the shop's customers for a batch of historical records, in bulk.

    The rules of upsert_customer hold: customers are found by normalised email, and a record
    older than the one applied last changes nothing (each email's records are applied oldest
    first). One rule more for history: an old "accepts marketing" answer never overrides a
    consent decision recorded after it, so an import cannot re-subscribe someone who
    unsubscribed since. Nothing is published: old customers are not news, and a
    customer.created event would start welcome flows for them. Runs in the caller's
    transaction; returns {normalised email: customer id}.
    """
    by_email: dict[str, list[CustomerData]] = {}
    for record in records:
        by_email.setdefault(record.email.strip().lower(), []).append(record)
    # Plain rows, not model instances: an import reads thousands of customers per batch.
    existing = bulk.find_ids(Customer, "email", by_email, same={"shop": shop})
    found = (
        {
            row["email"]: SimpleNamespace(**row)
            for row in Customer.objects.filter(id__in=existing.values()).values(
                "id", "email", *HELD
            )
        }
        if existing
        else {}
    )
    new, changed = [], []
    for email, group in by_email.items():
        customer = found.get(email)
        if customer is None:
            normalise_email(email)  # a stored address was checked when it was stored
            blank = {f: Customer._meta.get_field(f).get_default() for f in HELD}
            customer = found[email] = SimpleNamespace(id=None, email=email, **blank)
            new.append(customer)
        dirty = False
        group.sort(key=lambda r: r.updated_at.timestamp() if r.updated_at else float("-inf"))
        for record in group:
            stored_at = customer.source_updated_at
            if record.updated_at and stored_at and record.updated_at < stored_at:
                continue
            said_at = record.consent_at or record.updated_at
            if (
                record.accepts_marketing is not None
                and said_at
                and customer.marketing_consent_at
                and said_at < customer.marketing_consent_at
            ):
                record = replace(record, accepts_marketing=None)
            dirty = _apply(customer, record) or dirty
        if dirty and customer.id:
            changed.append(customer)
    now = timezone.now()
    created = bulk.insert_rows(
        Customer,
        ["email", *HELD],
        [(c.email, *(getattr(c, f) for f in HELD)) for c in new],
        same={"shop": shop.id, "created_at": now, "updated_at": now},
        ids=True,
    )
    for customer, pk in zip(new, created, strict=True):
        customer.id = pk
    bulk.update_rows(
        Customer,
        [*HELD, "updated_at"],
        [(*(getattr(c, f) for f in HELD), now, c.id) for c in changed],
    )
    return {email: c.id for email, c in found.items()}


def upsert_customers(shop: Shop, records: list[CustomerData]) -> dict[str, Customer]:
    """upsert_customer for many at once, in a few queries; returns customers by email.

    The same rules: normalised email per shop, stale data changes nothing, an event per
    created or changed customer. Raises IntegrityError if another process creates one
    of them meanwhile; the caller then falls back to upsert_customer one by one.
    """
    by_email: dict[str, list[CustomerData]] = {}
    for data in records:
        by_email.setdefault(normalise_email(data.email), []).append(data)
    existing = {
        c.email: c
        for c in Customer.objects.select_for_update().filter(shop=shop, email__in=list(by_email))
    }
    created, changed = [], []
    for email, versions in by_email.items():
        customer = existing.get(email)
        is_new = customer is None
        if is_new:
            customer = existing[email] = Customer(shop=shop, email=email)
        dirty = False
        for data in versions:
            stale = (
                data.updated_at
                and customer.source_updated_at
                and data.updated_at < customer.source_updated_at
            )
            if not stale:
                dirty = _apply(customer, data) or dirty
        if is_new:
            created.append(customer)
        elif dirty:
            changed.append(customer)
    Customer.objects.bulk_create(created)
    if changed:
        fields = [f.name for f in Customer._meta.concrete_fields if not f.primary_key]
        for customer in changed:
            customer.updated_at = timezone.now()
        Customer.objects.bulk_update(changed, fields)
    for customer in created:
        publish("customer.created", shop.id, customer_id=customer.id)
    for customer in changed:
        publish("customer.updated", shop.id, customer_id=customer.id)
    return existing
