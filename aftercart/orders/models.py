"""Orders and what happened to them. Changed only through aftercart.orders.services."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.core.money import MoneyField
from aftercart.customers.models import Customer


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=100)
    title = models.CharField(max_length=255)
    category = models.CharField(max_length=120, blank=True)
    vendor = models.CharField(max_length=120, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    returnable = models.BooleanField(default=True)
    # Consumables run out; the replenishment reminder uses the typical interval.
    consumable = models.BooleanField(default=False)
    # Set by the merchant: it always wins over what the history says.
    reorder_interval_days = models.PositiveIntegerField(null=True, blank=True)
    # Learned from the shop's own orders (orders.replenishment), weekly; never typed in.
    learned_reorder_interval_days = models.PositiveIntegerField(
        _("learned reorder interval (days)"),
        null=True,
        blank=True,
        help_text=_("From your orders, weekly; used when you set no interval yourself."),
    )
    reorder_pairs = models.PositiveIntegerField(
        _("reorders learned from"), default=0
    )  # customers' two orders of the product in a row, counted in the learned interval
    reorder_learned_at = models.DateTimeField(_("learned at"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="product_per_shop")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def reorder_interval(self) -> int | None:
        """Days after which a customer typically runs out: the merchant's, else the learned."""
        return self.reorder_interval_days or self.learned_reorder_interval_days

    @property
    def reorder_interval_source(self) -> str:
        if self.reorder_interval_days:
            return "set"
        return "learned" if self.learned_reorder_interval_days else ""


class Variant(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    external_id = models.CharField(max_length=100)
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255, blank=True)
    price = MoneyField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="variant_per_shop")
        ]


class Order(models.Model):
    class Financial(models.TextChoices):
        PENDING = "pending", _("Pending")
        AUTHORIZED = "authorized", _("Authorised")
        PAID = "paid", _("Paid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        VOIDED = "voided", _("Voided")
        FAILED = "failed", _("Failed")

    class Fulfilment(models.TextChoices):
        UNFULFILLED = "unfulfilled", _("Unfulfilled")
        PARTIAL = "partial", _("Partially shipped")
        FULFILLED = "fulfilled", _("Shipped")
        DELIVERED = "delivered", _("Delivered")

    # No index of its own: (shop, external_id) and (shop, placed_at) lead with the shop, and
    # every index costs each of an import's million inserts.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders", db_index=False)
    external_id = models.CharField(max_length=100)
    number = models.CharField(max_length=60, blank=True)  # what the customer sees, e.g. "#1001"
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3)
    subtotal = MoneyField()
    discounts = MoneyField()
    shipping = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    refunded = MoneyField()
    placed_at = models.DateTimeField(null=True, blank=True)
    financial_status = models.CharField(
        max_length=20, choices=Financial.choices, default=Financial.PENDING
    )
    fulfilment_status = models.CharField(
        max_length=20, choices=Fulfilment.choices, default=Fulfilment.UNFULFILLED
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=100, blank=True)
    discount_codes = models.JSONField(default=list, blank=True)
    shipping_name = models.CharField(max_length=200, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)  # street lines: personal data
    shipping_country = models.CharField(max_length=2, blank=True)
    shipping_postcode = models.CharField(max_length=20, blank=True)
    shipping_city = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=20)  # shopify, woocommerce, api, csv
    note = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    # The store's own updated_at of the version applied last; an older version is stale.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    # Made by an event that arrived before its order (a fulfilment first); filled in later.
    is_placeholder = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="order_per_shop")
        ]
        indexes = [
            models.Index(fields=["shop", "-placed_at"]),
            models.Index(fields=["shop", "number"]),
        ]

    def __str__(self) -> str:
        return self.number or self.external_id

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class LineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=100, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL)
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255)
    variant_title = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = MoneyField()
    discount = MoneyField()
    total = MoneyField()

    class Meta:
        ordering = ["id"]


class Shipment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Preparing")
        INFO_RECEIVED = "info_received", _("Label created")
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")
        AVAILABLE_FOR_PICKUP = "available_for_pickup", _("Ready for pickup")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Problem with delivery")
        RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
        CANCELLED = "cancelled", _("Cancelled")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    external_id = models.CharField(max_length=100)
    carrier = models.CharField(max_length=100, blank=True)  # as the store names it
    # Ours (tracking.carriers): the store's name read, else the tracking number's; "" unknown.
    carrier_code = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)  # the store's; else built
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    items = models.JSONField(default=list, blank=True)  # [{"line": external id, "quantity": n}]
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)  # the store's clock
    # The time of the newest carrier scan applied (orders.tracking); once set, the scans
    # lead and the store's word only moves the parcel forward. Never compared with the
    # store's clock: the two are different clocks.
    tracking_status_at = models.DateTimeField(null=True, blank=True)
    # The delivery window promised when it shipped (orders.delivery), in the destination's
    # days; `late_since` is set once it passed without delivery, or trouble was reported.
    expected_from = models.DateField(null=True, blank=True)
    expected_until = models.DateField(null=True, blank=True)
    late_since = models.DateTimeField(null=True, blank=True)
    late_reason = models.CharField(max_length=24, blank=True)

    class Meta:
        ordering = ["shipped_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="shipment_per_order")
        ]
        indexes = [models.Index(fields=["shop", "tracking_number"], name="shipment_by_number")]


class TrackingEvent(models.Model):
    """One scan of a parcel as its carrier reported it ("Sorted in Utrecht", 06:12).

    Kept by tracking number, so an update that arrives before its shipment is known waits
    (shipment empty) and is attached when the shipment comes.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    shipment = models.ForeignKey(
        Shipment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tracking_events",
    )
    tracking_number = models.CharField(max_length=100)
    status = models.CharField(max_length=24, choices=Shipment.Status.choices, blank=True)
    raw_status = models.CharField(max_length=100, blank=True)  # the source's own word
    description = models.CharField(max_length=500, blank=True)
    location = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=20)
    # The same scan reported twice (a redelivered webhook) is kept once.
    key = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "tracking_number", "key"], name="one_tracking_event_per_scan"
            )
        ]


class Refund(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    external_id = models.CharField(max_length=100)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True)
    items = models.JSONField(default=list, blank=True)  # [{"line": external id, "quantity": n}]
    refunded_at = models.DateTimeField()

    class Meta:
        ordering = ["refunded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="refund_per_order")
        ]


class OrderEvent(models.Model):
    """The append-only timeline of an order: one row per real-world event, never edited."""

    class Type(models.TextChoices):
        PLACED = "placed", _("Order placed")
        PAID = "paid", _("Payment received")
        SHIPPED = "shipped", _("Shipped")
        SHIPMENT_UPDATED = "shipment_updated", _("Shipment update")
        DELAYED = "delayed", _("Running late")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")
        NOTE = "note", _("Note")
        # Written by returns.services through record_return_step.
        RETURN_REQUESTED = "return_requested", _("Return requested")
        RETURN_APPROVED = "return_approved", _("Return approved")
        RETURN_REJECTED = "return_rejected", _("Return rejected")
        RETURN_SHIPPED = "return_shipped", _("Return on its way back")
        RETURN_RECEIVED = "return_received", _("Return received")
        RETURN_INSPECTED = "return_inspected", _("Return inspected")
        RETURN_COMPLETED = "return_completed", _("Return completed")
        RETURN_CANCELLED = "return_cancelled", _("Return cancelled")

    # Timelines are read per order, through (order, external_id); separate indexes on the
    # keys would only slow down writing the two or three entries every order gets.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=24, choices=Type.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=20)
    # Names the real event ("paid", "shipment:123:delivered"), so a second delivery of it is dropped.
    external_id = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="one_event_per_fact")
        ]


class DeliveryModel(models.Model):
    """What a shop's own parcels taught about transit times (tracking.estimates), relearned
    daily by orders.delivery: shipped to delivered, and order placed to delivered."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, primary_key=True, related_name="delivery_model"
    )
    learned_at = models.DateTimeField()
    parcels = models.PositiveIntegerField(default=0)  # delivered parcels it was learned from
    transit = models.JSONField(default=dict)
    from_order = models.JSONField(default=dict)
