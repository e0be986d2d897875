from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop


class Customer(models.Model):
    # No index of its own: (shop, email) leads with the shop.
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="customers", db_index=False
    )
    external_id = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)  # normalised: trimmed, lowercase
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    accepts_marketing = models.BooleanField(default=False)
    marketing_consent_at = models.DateTimeField(null=True, blank=True)
    marketing_consent_source = models.CharField(max_length=60, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The store's updated_at of the last applied customer record; older ones change nothing.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # IANA name, e.g. "Europe/Amsterdam"; empty: the shop's. Quiet hours are kept in it.
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("customer")
        constraints = [
            models.UniqueConstraint(fields=["shop", "email"], name="customer_email_per_shop"),
        ]
        indexes = [models.Index(fields=["shop", "external_id"])]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ErasureRecord(models.Model):
    """Proof that an erasure happened: who asked, when, and what was changed. No personal data."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    customer_ref = models.CharField(max_length=64)  # the customer's id, not their email
    requested_by = models.CharField(max_length=200)
    erased_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict)


class DataRequest(models.Model):
    """A customer's request for their data, as received from a store, with the answer kept."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    email = models.EmailField()
    requested_by = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)
    document = models.JSONField(default=dict)  # the export, for the merchant to pass on


class Suppression(models.Model):
    """An address that gets no marketing mail from the shop, and why.

    Kept by address, not by customer: an unsubscribe or a bounce must hold even for an
    address that is not (or no longer) a customer, and survives the customer's erasure.
    """

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Marked as spam")
        MANUAL = "manual", _("Added by the shop")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    email = models.EmailField(max_length=254)  # normalised
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "email"], name="one_suppression_per_address")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
