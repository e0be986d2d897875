"""The shop every row belongs to, the people who work on it, and its API keys."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Shop(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="EUR")
    locale = models.CharField(max_length=10, default="en")
    timezone = models.CharField(max_length=64, default="Europe/Amsterdam")
    # Brand, used by emails and the customer-facing pages.
    logo_url = models.URLField(blank=True)
    brand_colour = models.CharField(max_length=7, default="#2f6f5e")
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.EmailField(blank=True)
    reply_to = models.EmailField(blank=True)
    public_base_url = models.URLField(blank=True)
    postal_address = models.CharField(max_length=300, blank=True)  # in every email's footer
    # Marketing mail, whichever capability sends it: at most `marketing_cap` messages per
    # customer in `marketing_cap_days` days, and none between the quiet hours (the
    # customer's local time; equal hours: no quiet hours).
    marketing_cap = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    marketing_cap_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    quiet_hours_start = models.PositiveSmallIntegerField(
        default=21, validators=[MaxValueValidator(23)]
    )
    quiet_hours_end = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(23)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ShopMembership", related_name="shops", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("shop")

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The shop's clock: what "today" and "10:00" mean for it."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class ShopMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MARKETER = "marketer", _("Marketer")
        AGENT = "agent", _("Customer care")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OWNER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="one_membership")]


class ApiKey(models.Model):
    """A shop's key for the REST API. Only a hash is kept; the key is shown once."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.shop.slug}:{self.prefix}"


class WorkerHeartbeat(models.Model):
    """A background worker says it is alive; a task held by a silent worker is run again."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()


class ScheduledJob(models.Model):
    """When a periodic job is next due; workers claim a run with a compare-and-set on it."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()


class RateLimit(models.Model):
    """How often a key ("status-lookup:address:<hash>") was used in its current window.

    In the database, not a process's memory: every web process must count the same hits.
    """

    key = models.CharField(max_length=120, primary_key=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)
