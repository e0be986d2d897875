"""What the ticket emails show: the ticket, the reply, when to expect an answer, the
rating links."""

from django.utils import formats, translation

from aftercart.messaging import context
from aftercart.messaging.models import THREADED_KINDS
from aftercart.support.links import rating_url
from aftercart.support.models import Ticket, TicketMessage


def ticket_context(message, shop, order) -> dict:
    ticket_id = (message.extra or {}).get("ticket_id")
    ticket = Ticket.objects.filter(shop=shop, pk=ticket_id).first() if ticket_id else None
    if ticket is None:  # a preview: the shop's latest ticket, if any
        ticket = Ticket.objects.filter(shop=shop).order_by("-id").first()
    if ticket is None:
        return {"ticket": None}
    reply = None
    reply_id = (message.extra or {}).get("ticket_message_id")
    if reply_id:
        reply = TicketMessage.objects.filter(pk=reply_id, ticket=ticket).first()
    elif message.kind == "ticket_reply":
        reply = ticket.messages.filter(kind=TicketMessage.Kind.OUT).last()
    asked = ticket.messages.filter(kind=TicketMessage.Kind.IN).first()
    with translation.override(message.locale):
        due = ticket.first_response_due.astimezone(shop.zone)
        expected = formats.date_format(due, "l j F, H:i")
    return {
        "ticket": {
            "number": ticket.number,
            "ref": f"[#{ticket.number}]",
            "subject": ticket.subject,
            "category": str(ticket.get_category_display()),
            "question": asked.body if asked else "",
            "expected_reply": expected,
        },
        "reply": {"body": reply.body, "author": reply.author} if reply else None,
        "links": {
            "rate": {score: rating_url(ticket.token, score) for score in range(1, 6)},
        },
    }


context.provide(THREADED_KINDS, ticket_context)
