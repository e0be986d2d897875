"""Read-only views of a shop's flows, for the dashboard. Always scoped to one shop."""

from django.db.models import Count, Q

from aftercart.core.models import Shop
from aftercart.flows.definitions import parse
from aftercart.flows.models import Enrolment, Flow
from aftercart.messaging.models import Message


def flows_with_numbers(shop: Shop) -> list[dict]:
    flows = list(Flow.objects.filter(shop=shop).select_related("version").order_by("id"))
    counts = {
        row["flow_id"]: row
        for row in Enrolment.objects.filter(shop=shop)
        .values("flow_id")
        .annotate(
            enrolled=Count("id"),
            active=Count("id", filter=Q(status=Enrolment.Status.ACTIVE)),
            control=Count("id", filter=Q(control=True)),
        )
        .order_by()
    }
    sent = dict(
        Message.objects.filter(shop=shop, flow_id__isnull=False, status=Message.Status.SENT)
        .values_list("flow_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {
            "flow": flow,
            "definition": parse(flow.version.definition),
            "enrolled": counts.get(flow.id, {}).get("enrolled", 0),
            "active": counts.get(flow.id, {}).get("active", 0),
            "control": counts.get(flow.id, {}).get("control", 0),
            "sent": sent.get(flow.id, 0),
        }
        for flow in flows
    ]


def flow_in_shop(shop: Shop, pk: int) -> Flow | None:
    return Flow.objects.filter(shop=shop, pk=pk).select_related("version").first()


def waiting_per_step(flow: Flow) -> dict[int, int]:
    """How many customers are at each step of the flow now (any version)."""
    rows = (
        Enrolment.objects.filter(flow=flow, status=Enrolment.Status.ACTIVE)
        .values("step")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["step"]: row["n"] for row in rows}


def customer_journey(shop: Shop, customer_id: int) -> dict:
    """For the inspector: the customer's enrolments, step by step, and every email to her."""
    enrolments = (
        Enrolment.objects.filter(shop=shop, customer_id=customer_id)
        .select_related("flow")
        .order_by("-started_at")
    )
    emails = (
        Message.objects.filter(shop=shop, customer_id=customer_id)
        .defer("html", "text")
        .order_by("-created_at")
    )
    return {"enrolments": list(enrolments[:50]), "emails": list(emails[:100])}
