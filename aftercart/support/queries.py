"""Reading tickets: the inbox with its SLA clocks, one ticket, the CSAT figures."""

from datetime import timedelta

from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.support.models import OPEN, Rating, Ticket

SOON = timedelta(hours=2)


def has_open_complaint(shop: Shop | int, customer_id: int) -> bool:
    return Ticket.objects.filter(
        shop=shop, customer_id=customer_id, category=Ticket.Category.COMPLAINT, status__in=OPEN
    ).exists()


def inbox(shop: Shop, view: str, *, user=None, search: str = "") -> QuerySet[Ticket]:
    """The tickets of a view, the most urgent first: what is overdue, then what is due."""
    now = timezone.now()
    qs = Ticket.objects.filter(shop=shop).select_related("customer", "assignee", "order")
    if search:
        term = search.strip().lstrip("#")
        qs = qs.filter(
            Q(subject__icontains=term)
            | Q(email__iexact=term)
            | (Q(number=int(term)) if term.isdigit() else Q(pk__in=[]))
        )
        return qs.order_by("-last_message_at")
    awaiting = Q(status__in=[Ticket.Status.NEW, Ticket.Status.OPEN])
    if view == "overdue":
        qs = qs.filter(awaiting).filter(_overdue(now))
    elif view == "mine":
        qs = qs.filter(status__in=OPEN, assignee=user)
    elif view == "waiting":
        qs = qs.filter(status=Ticket.Status.WAITING)
    elif view == "resolved":
        return qs.filter(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED]).order_by(
            "-resolved_at"
        )
    else:  # "open": every ticket waiting for us
        qs = qs.filter(awaiting)
    return qs.order_by("first_response_due", "resolution_due")


def _overdue(now) -> Q:
    return Q(first_responded_at__isnull=True, first_response_due__lt=now) | Q(
        resolution_due__lt=now
    )


def counts(shop: Shop, user=None) -> dict[str, int]:
    now = timezone.now()
    tickets = Ticket.objects.filter(shop=shop)
    awaiting = tickets.filter(status__in=[Ticket.Status.NEW, Ticket.Status.OPEN])
    return {
        "open": awaiting.count(),
        "overdue": awaiting.filter(_overdue(now)).count(),
        "mine": tickets.filter(status__in=OPEN, assignee=user).count() if user else 0,
        "waiting": tickets.filter(status=Ticket.Status.WAITING).count(),
        "resolved": tickets.filter(
            status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
        ).count(),
    }


def clock(ticket: Ticket, now=None) -> tuple[str, object]:
    """What the ticket's SLA clock says: ("overdue"|"soon"|"ok"|"met"|"", due moment)."""
    now = now or timezone.now()
    if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        return "", None
    if ticket.status == Ticket.Status.WAITING:
        return "", None  # her turn: no clock runs for us
    due = ticket.first_response_due if ticket.first_responded_at is None else ticket.resolution_due
    if due < now:
        return "overdue", due
    return ("soon" if due - now < SOON else "ok"), due


def ticket_detail(shop: Shop, pk: int) -> Ticket | None:
    return (
        Ticket.objects.filter(shop=shop, pk=pk)
        .select_related("customer", "order", "assignee")
        .prefetch_related("messages")
        .first()
    )


def ticket_by_token(token: str) -> Ticket | None:
    if not token or len(token) > 32:
        return None
    return Ticket.objects.filter(token=token).select_related("shop").first()


def csat(shop: Shop, days: int = 90) -> dict:
    """Ratings of the last `days`: overall, per agent, per category. CSAT is the share of
    4s and 5s, as the industry counts it."""
    ratings = Rating.objects.filter(shop=shop, rated_at__gte=timezone.now() - timedelta(days=days))

    def summary(qs) -> dict:
        found = qs.aggregate(
            n=Count("id"), happy=Count("id", filter=Q(score__gte=4)), avg=Avg("score")
        )
        found["csat"] = found["happy"] / found["n"] if found["n"] else None
        return found

    def grouped(field: str) -> list[dict]:
        rows = (
            ratings.values(field)
            .annotate(n=Count("id"), happy=Count("id", filter=Q(score__gte=4)), avg=Avg("score"))
            .order_by("-n")
        )
        labels = dict(Ticket.Category.choices) if field == "category" else {}
        return [
            {
                **row,
                "name": row[field],
                "label": labels.get(row[field], row[field]),
                "csat": row["happy"] / row["n"],
            }
            for row in rows
        ]

    asked = Ticket.objects.filter(
        shop=shop, resolved_at__gte=timezone.now() - timedelta(days=days)
    ).count()
    first = Ticket.objects.filter(
        shop=shop,
        created_at__gte=timezone.now() - timedelta(days=days),
        first_responded_at__isnull=False,
    )
    on_time = first.filter(first_responded_at__lte=F("first_response_due")).count()
    return {
        "days": days,
        "all": summary(ratings),
        "agents": grouped("agent"),
        "categories": grouped("category"),
        "resolved": asked,
        "answered": first.count(),
        "answered_on_time": on_time,
        "recent": list(ratings.select_related("ticket").order_by("-rated_at")[:20]),
    }
