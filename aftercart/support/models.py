"""Tickets: questions and complaints, their conversation, SLA clocks and CSAT. Changed only
through aftercart.support.services."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.orders.models import Order


class SupportSettings(models.Model):
    """A shop's business hours and SLA targets (support.sla reads them), and the secret its
    inbound-mail webhook is signed with. Empty fields mean the defaults."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, primary_key=True, related_name="support_settings"
    )
    # {"0": ["09:00", "17:00"], ...} per weekday, Monday 0; {} is Monday to Friday 9 to 5.
    opening = models.JSONField(default=dict, blank=True)
    country = models.CharField(max_length=2, blank=True)  # its public holidays are closed
    closed_days = models.JSONField(default=list, blank=True)  # ["2026-12-28", ...]
    # {"urgent": [first answer, resolved], ...} in business minutes; {} is sla.TARGETS.
    targets = models.JSONField(default=dict, blank=True)
    inbound_secret = models.TextField(blank=True)  # encrypted
    updated_at = models.DateTimeField(auto_now=True)


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting on customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Category(models.TextChoices):
        QUESTION = "question", _("Question")
        COMPLAINT = "complaint", _("Complaint")
        DELIVERY = "delivery", _("Delivery")
        RETURN = "return", _("Return")
        PRODUCT = "product", _("Product")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Channel(models.TextChoices):
        FORM = "form", _("Contact form")
        EMAIL = "email", _("Email")
        API = "api", _("API")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    number = models.PositiveIntegerField()  # per shop: "#1042" in the subject
    subject = models.CharField(max_length=255)
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    category = models.CharField(max_length=12, choices=Category.choices)
    priority = models.CharField(max_length=8, choices=Priority.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    locale = models.CharField(max_length=10, blank=True)
    # The customer's key to her rating links; never shown to anyone else.
    token = models.CharField(max_length=32, unique=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    created_at = models.DateTimeField()
    first_response_due = models.DateTimeField()
    resolution_due = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # The resolution clock: it starts when the ticket comes in (or is opened again after
    # it was resolved) and stops while waiting on the customer; `paused` is the business
    # time it stood still, so the due time is the target plus that, from the start.
    clock_started_at = models.DateTimeField()
    paused = models.DurationField(default=timedelta(0))
    waiting_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="ticket_number_per_shop")
        ]
        indexes = [
            models.Index(fields=["shop", "status", "first_response_due"]),
            models.Index(fields=["shop", "customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


OPEN = {Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.WAITING}


class TicketMessage(models.Model):
    class Kind(models.TextChoices):
        IN = "in", _("From the customer")
        OUT = "out", _("Reply")
        NOTE = "note", _("Internal note")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    author = models.CharField(max_length=254)  # her address, or the agent's name
    body = models.TextField()
    # An email's Message-ID: the same email delivered twice is kept once, and a reply to
    # it (In-Reply-To) finds its ticket.
    message_id = models.CharField(max_length=255, blank=True)
    attachments = models.JSONField(default=list, blank=True)  # names of what came with it
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "message_id"],
                condition=~models.Q(message_id=""),
                name="one_ticket_message_per_email",
            )
        ]


class SavedReply(models.Model):
    """A reply an agent starts from; {first_name}, {order_number} and the like are filled
    in from the ticket (support.replies)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="saved_replies")
    title = models.CharField(max_length=120)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]


class Rating(models.Model):
    """Her 1–5 after the ticket was resolved; the first click counts, later ones do not."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    # As they were when she rated: who answered, and what it was about.
    agent = models.CharField(max_length=150, blank=True)
    category = models.CharField(max_length=12)
    rated_at = models.DateTimeField()
