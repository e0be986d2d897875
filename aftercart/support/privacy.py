"""What the support app holds about a person, registered with core.privacy."""

from aftercart.core import privacy
from aftercart.support.models import Ticket, TicketMessage


def export(customer) -> list[dict]:
    return [
        {
            "number": t.number,
            "subject": t.subject,
            "status": t.status,
            "created_at": t.created_at.isoformat(),
            "messages": [
                {"from": m.author, "at": m.created_at.isoformat(), "text": m.body}
                for m in t.messages.exclude(kind=TicketMessage.Kind.NOTE)
            ],
        }
        for t in Ticket.objects.filter(customer=customer).prefetch_related("messages")
    ]


def erase(customer) -> int:
    """Keep that there was a ticket, when and what about, for the figures; drop the words."""
    tickets = Ticket.objects.filter(customer=customer)
    TicketMessage.objects.filter(ticket__in=tickets).update(body="", author="", attachments=[])
    return tickets.update(subject="", email="erased@invalid", name="")


privacy.register("support", export=export, erase=erase)
