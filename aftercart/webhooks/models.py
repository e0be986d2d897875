"""Outgoing webhooks: the URLs a shop subscribed to its events, and every delivery to them.

Changed only through aftercart.webhooks.services.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.crypto import decrypt
from aftercart.core.models import Shop


class Endpoint(models.Model):
    """A URL of the shop's that wants some of its events, signed with its own secret."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Exact names ("order.placed") or wildcards ("order.*", "*"); see event_types.matches.
    event_types = models.JSONField(default=list)
    # "whsec_…", encrypted at rest: the shop's developers must be able to read it again.
    secret = models.TextField()
    # After a rotation the old secret signs too for a day, so the receiver can switch over.
    previous_secret = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        indexes = [models.Index(fields=["shop", "active"])]

    def __str__(self) -> str:
        return self.url

    @property
    def signing_secret(self) -> str:
        return decrypt(self.secret)


class Delivery(models.Model):
    """One event for one endpoint: a row before it is sent, kept with every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed, will retry")
        ABANDONED = "abandoned", _("Abandoned")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The webhook-id header: the same for every attempt, so receivers can drop repeats.
    message_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=80)
    payload = models.JSONField()
    # Whose personal data the payload holds, so erasure finds it without reading every payload.
    customer_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # None once it is settled
    # Set while a worker sends it, so no other sends it at the same time; a worker that
    # died mid-send leaves it set, and after SENDING_LEASE the delivery is due again.
    sending_since = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "message_id"], name="one_delivery_per_endpoint_and_message"
            )
        ]
        indexes = [
            # The sender's question: what is due now? Settled rows have no next_attempt_at.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(next_attempt_at__isnull=False),
            ),
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["shop", "customer_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class Attempt(models.Model):
    """One HTTP request of a delivery, as the receiver answered it (or did not)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    by_hand = models.BooleanField(default=False)  # a resend from the dashboard

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [models.Index(fields=["delivery", "attempted_at"])]
