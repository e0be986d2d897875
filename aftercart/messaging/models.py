"""Templates per shop and kind, and the outbox: every message is a row before it is sent."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.customers.models import Customer


class MessageTemplate(models.Model):
    """A shop's own version of a kind's template in one language (else the default is used).

    Each save makes a new version; the compiled MJML is cached per version.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    kind = models.CharField(max_length=40)
    locale = models.CharField(max_length=10)
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text=_("MJML sections with Django template variables"))
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "locale"], name="one_template_per_kind_and_locale"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.locale}) v{self.version}"


# Emails in a conversation with a person at the shop: her answer to one comes back to us.
THREADED_KINDS = ("ticket_acknowledgement", "ticket_reply", "csat_request")


class Message(models.Model):
    """One email to one customer. The dedupe key makes a second request for it a no-op."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    customer = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL, db_index=False)
    # What the message is about, read again when it is rendered (ids, not copies).
    order_id = models.BigIntegerField(null=True, blank=True)
    shipment_id = models.BigIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # e.g. a discount code, links
    flow_id = models.BigIntegerField(null=True, blank=True)  # the flow that sent it, if one did
    kind = models.CharField(max_length=40)
    marketing = models.BooleanField()
    priority = models.SmallIntegerField(default=50)
    # Deterministic ("order:812:confirmation"): the same message is never queued twice.
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=300, blank=True)  # why suppressed, or the last error
    due_at = models.DateTimeField()  # not before; moved by quiet hours, the cap, retries
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    to_email = models.EmailField(max_length=254)
    locale = models.CharField(max_length=10)
    subject = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)  # our Message-ID header
    provider_id = models.CharField(max_length=200, blank=True)  # the ESP's id, when it gives one
    created_at = models.DateTimeField(auto_now_add=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "dedupe_key"], name="one_message_per_key")
        ]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["status", "-priority", "due_at"], name="messaging_due_in_order"),
            models.Index(fields=["customer", "marketing", "sent_at"]),
            models.Index(fields=["shop", "-created_at"]),
            # A reply to one of these names it in In-Reply-To (support threads by it); only
            # these kinds, so the emails sent by the hundred thousand write no index entry.
            models.Index(
                fields=["shop", "message_id"],
                condition=models.Q(kind__in=THREADED_KINDS),
                name="messaging_threaded_by_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"
