"""What the messaging app holds about a person: the mail sent to her, registered with core.privacy."""

from aftercart.core import privacy
from aftercart.messaging.models import Message


def export(customer) -> list[dict]:
    return [
        {
            "kind": m.kind,
            "to": m.to_email,
            "subject": m.subject,
            "status": m.status,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "text": m.text,
        }
        for m in Message.objects.filter(customer=customer).order_by("created_at")
    ]


def erase(customer) -> int:
    """Drop the address and what the mail said; keep that a message of a kind was sent, when."""
    erased = Message.objects.filter(customer=customer)
    # Mail not yet sent is not sent at all: there is no one to send it to any more.
    erased.filter(status=Message.Status.QUEUED).update(
        status=Message.Status.SUPPRESSED, reason="the customer's data was erased"
    )
    return erased.update(to_email="", subject="", html="", text="", extra={})


privacy.register("messages", export=export, erase=erase)
