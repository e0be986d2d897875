"""Return requests, what they hold, and how they are settled. Changed only by returns.services."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.core.money import MoneyField
from aftercart.customers.models import Customer
from aftercart.orders.models import Order


class ReturnPolicy(models.Model):
    """A shop's policy as the merchant set it; returns.policies turns it into a policy.Policy.

    Reasons and exclusions are lists a merchant edits as a whole (and exports), so they
    are kept as JSON, checked by returns.policies before they are saved."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, primary_key=True, related_name="return_policy"
    )
    window_days = models.PositiveSmallIntegerField(_("return window (days)"), default=30)
    reasons = models.JSONField(default=list, blank=True)  # [] means the default reasons
    exclusions = models.JSONField(default=list, blank=True)
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    store_credit_bonus_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    return_shipping_fee = MoneyField()
    review_after = models.PositiveSmallIntegerField(null=True, blank=True, default=3)
    # Printed on the label and in the emails: where the parcel goes, and how to pack it.
    return_address = models.TextField(blank=True)
    instructions = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class ReturnRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        IN_TRANSIT = "in_transit", _("On its way back")
        RECEIVED = "received", _("Received")
        INSPECTED = "inspected", _("Inspected")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Resolution(models.TextChoices):
        REFUND = "refund", _("Refund")
        EXCHANGE = "exchange", _("Exchange")
        STORE_CREDIT = "store_credit", _("Store credit")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="returns"
    )
    number = models.CharField(max_length=40)  # "R1001-2": the order's number and a count
    status = models.CharField(max_length=12, choices=Status.choices)
    resolution = models.CharField(max_length=12, choices=Resolution.choices)
    reason = models.CharField(max_length=40)  # the policy's code
    reason_label = models.CharField(max_length=200)  # as she read it when she asked
    comment = models.TextField(blank=True)
    exchange_for = models.CharField(max_length=255, blank=True)  # what she would like instead
    # Why a person looks first, or why it was rejected; in her language.
    notes = models.JSONField(default=list, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3)
    items_value = MoneyField()
    restocking_fee = MoneyField()
    shipping_fee = MoneyField()
    refund_amount = MoneyField()  # what the policy promised when she asked
    store_credit_amount = MoneyField()
    credit_bonus_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    source = models.CharField(max_length=20)  # portal, dashboard, api
    # A form sent twice (a double click, a retried request) makes one return.
    request_key = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)  # "auto" or the agent
    rejection_reason = models.TextField(blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_back_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    inspection_note = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="return_number_per_shop"),
            models.UniqueConstraint(
                fields=["shop", "request_key"],
                condition=~models.Q(request_key=""),
                name="one_return_per_request_key",
            ),
        ]
        indexes = [models.Index(fields=["shop", "status", "-requested_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


OPEN = {
    ReturnRequest.Status.REQUESTED,
    ReturnRequest.Status.APPROVED,
    ReturnRequest.Status.IN_TRANSIT,
    ReturnRequest.Status.RECEIVED,
    ReturnRequest.Status.INSPECTED,
}
# Their items count as returned already: a second return cannot ask for them again.
HOLDING = OPEN | {ReturnRequest.Status.COMPLETED}


class ReturnLine(models.Model):
    """An order line coming back, copied: the store may replace the order's lines
    (orders.services._replace_lines), and a return must outlive that."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    line_external_id = models.CharField(max_length=100)  # the store's id of the order line
    title = models.CharField(max_length=255)
    variant_title = models.CharField(max_length=255, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    product_external_id = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=120, blank=True)
    unit_paid = MoneyField()  # one unit, after its share of the order's discounts
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)
    refunded_quantity = models.PositiveIntegerField(
        default=0
    )  # settled: refunded, credited or exchanged
    # An exchange for another variant of the same product (the store's id and its name).
    exchange_variant = models.CharField(max_length=100, blank=True)
    exchange_variant_title = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]


class ReturnPhoto(models.Model):
    """A photo the customer added, re-encoded as JPEG: checked to be an image, made
    smaller, and without its metadata (where and when it was taken)."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="photos")
    image = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Settlement(models.Model):
    """What a return gives back: a refund, an exchange order or store credit.

    A refund or an exchange goes to the store through its adapter (integrations) and is
    done when the store confirms it; without a connected store, an agent does it in the
    store and marks it done here."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        EXCHANGE = "exchange", _("Exchange order")
        STORE_CREDIT = "store_credit", _("Store credit")

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent to the store")
        SENDING = "sending", _("Being sent to the store")  # claimed by a worker
        MANUAL = "manual", _("To be done in the store")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="settlements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    amount = MoneyField()  # what she gets: with the bonus, for store credit
    order_amount = MoneyField()  # what of the order's money it gives back (before any bonus)
    currency = models.CharField(max_length=3)
    items = models.JSONField(default=list)  # [{"line": external id, "quantity": n}]
    refund_shipping = models.BooleanField(default=False)  # the return shipping fee not taken
    external_id = models.CharField(max_length=100, blank=True)  # the store's refund or order id
    # What the store made on the way to it (a Shopify draft order), kept the moment it is
    # made: a try after a lost answer finishes that one instead of making another.
    store_ref = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A pending one waits until then after the store could not be reached; a sending one
    # was claimed then (a worker that died mid-call leaves it; it is looked at again).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


# Given to the store or an agent and not done yet: its items are held, and the return
# is not complete while one is.
UNDER_WAY = [Settlement.Status.PENDING, Settlement.Status.SENDING, Settlement.Status.MANUAL]


class CreditEntry(models.Model):
    """A movement of a customer's store credit. Entries are only added; the balance is
    their sum, and the source key makes each one happen once."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit")
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    source_key = models.CharField(max_length=120)  # "return:12"
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "source_key"], name="one_credit_per_source")
        ]
