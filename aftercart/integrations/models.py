from django.db import models

from aftercart.core.models import Shop


class StoreConnection(models.Model):
    """How a shop's store platform talks to us and we to it. Secrets are encrypted at rest."""

    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        AFTERSHIP = "aftership", "AfterShip (tracking)"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="connections")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    store_url = models.URLField(blank=True)
    webhook_secret = models.TextField()  # encrypted
    access_token = models.TextField(blank=True)  # encrypted; Shopify Admin API
    consumer_key = models.TextField(blank=True)  # encrypted; WooCommerce REST API
    consumer_secret = models.TextField(blank=True)  # encrypted
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform"], name="one_connection_per_platform")
        ]


class Delivery(models.Model):
    """One webhook or API event exactly as it arrived, kept until applied (and after, for audit)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        IGNORED = "ignored"
        FAILED = "failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="deliveries")
    source = models.CharField(max_length=20)  # shopify, woocommerce, api, sync
    topic = models.CharField(max_length=60)
    # The sender's id for this delivery; a second delivery with the same id is dropped.
    event_id = models.CharField(max_length=200)
    resource_key = models.CharField(max_length=120, blank=True)  # "order:820982911946154508"
    resource_updated_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "event_id"], name="one_delivery_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "resource_updated_at", "id"]),
            models.Index(fields=["shop", "resource_key"]),
        ]


class IntakeDrain(models.Model):
    """One row: whether a task to apply pending deliveries is already queued.

    Deliveries arrive far faster than one task each could run, so a delivery enqueues
    the drain task only when none is waiting; the task clears the flag before it reads.
    """

    name = models.CharField(max_length=20, primary_key=True)
    queued = models.BooleanField(default=False)
