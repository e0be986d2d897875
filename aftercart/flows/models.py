"""Flows, their versions, and the customers going through them (enrolments)."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercart.core.models import Shop
from aftercart.customers.models import Customer


class Flow(models.Model):
    """A trigger and its steps. Editing makes a new version; enrolments keep theirs."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    key = models.SlugField(max_length=60)  # "after-delivery": stable, for export and import
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    trigger = models.CharField(max_length=60, db_index=True)  # a domain event name
    version = models.ForeignKey(
        "FlowVersion", null=True, on_delete=models.PROTECT, related_name="+"
    )  # the current one
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="one_flow_per_key")]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()  # see flows.definitions
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="one_version_number_per_flow")
        ]


class Enrolment(models.Model):
    """One customer going through one flow, for one trigger (an order, a shipment)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In the flow")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Left the flow")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, db_index=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, db_index=False)
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT)
    customer = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL)
    order_id = models.BigIntegerField(null=True, blank=True)
    shipment_id = models.BigIntegerField(null=True, blank=True)
    # The trigger that enrolled it ("shipment.delivered:812:77"): a redelivery enrols no one.
    trigger_key = models.CharField(max_length=200)
    control = models.BooleanField(default=False)  # holdout: tracked, never sent to
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    step = models.PositiveSmallIntegerField(default=0)  # the next step to run
    waiting = models.BooleanField(default=False)  # the current step is a wait under way
    waiting_for = models.CharField(max_length=60, blank=True)  # an event that ends the wait
    next_run_at = models.DateTimeField(null=True, blank=True)
    # When the current wait began: a hold's timeout counts from here, whatever its re-checks.
    waiting_since = models.DateTimeField(null=True, blank=True)
    # The trigger event's own data beyond the ids above (a review's rating), for filters
    # and later steps; {} for order and shipment events, which carry only ids.
    context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    exit_reason = models.CharField(max_length=200, blank=True)
    # What happened, step by step: [{"at": ..., "step": 2, "what": "sent review_request"}].
    history = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "trigger_key"], name="one_enrolment_per_trigger"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_run_at"]),
            models.Index(fields=["customer", "status"]),
        ]
