"""The only code that changes tickets. One transaction per call; events published on commit.

A ticket's life: new → open (an agent answered, or took it) → waiting on customer (after
a reply) → open again (she answered) → resolved (she gets a 1–5 rating email) → closed.
Its clocks run in the shop's business hours (support.sla): a first answer is due so long
after it came in, the resolution so long after, minus the business time it spent waiting
on her. Every message that comes in by email finds its ticket by the email it answers
(In-Reply-To / References), else by "[#1042]" in the subject from the same address, else
it opens a new ticket, linked to her and, where it names one of her orders, to that order.
"""

import contextlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from aftercart.core.crypto import encrypt
from aftercart.core.events import publish
from aftercart.core.models import Shop
from aftercart.customers.queries import customer_by_email
from aftercart.messaging.queries import message_by_header_id
from aftercart.messaging.services import queue_message
from aftercart.orders.queries import find_orders
from aftercart.support.inbound import InboundEmail
from aftercart.support.models import Rating, Ticket, TicketMessage
from aftercart.support.sla import sla_for, stored_settings

Status = Ticket.Status
_REF = re.compile(r"\[#(\d{1,9})\]")
_ORDER_NUMBER = re.compile(r"#?\b(\d{3,12})\b")


class TicketProblem(ValueError):
    """A change the ticket cannot take, or input that is not right; says what and where."""


@dataclass
class NewTicket:
    email: str
    subject: str
    body: str
    name: str = ""
    category: str = Ticket.Category.QUESTION
    priority: str = Ticket.Priority.NORMAL
    channel: str = Ticket.Channel.FORM
    order_id: int | None = None  # known already (the form on her order's page)
    locale: str = ""
    message_id: str = ""
    attachments: list[str] = field(default_factory=list)
    # An out-of-office reply gets no acknowledgement: two auto-replies would answer each
    # other for ever.
    acknowledge: bool = True


def priority_for(category: str) -> str:
    """The priority a customer's own message gets: a complaint is answered first."""
    return Ticket.Priority.HIGH if category == Ticket.Category.COMPLAINT else Ticket.Priority.NORMAL


def open_ticket(shop: Shop, new: NewTicket) -> Ticket:
    """A new ticket and its first message; she gets an acknowledgement with the time she
    can expect an answer by."""
    _check(new)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return _open(shop, new)
        except IntegrityError:
            # Two tickets took the same number at once (the loser tries the next), or the
            # email was delivered twice (then its first delivery made the ticket).
            if new.message_id:
                known = _message(shop, new.message_id)
                if known is not None:
                    return known.ticket
    raise TicketProblem("could not number the ticket; try again")


def _check(new: NewTicket) -> None:
    if "@" not in new.email or len(new.email) > 254:
        raise TicketProblem("email: an email address to answer to")
    if not new.body.strip():
        raise TicketProblem("message: write what it is about")
    if new.category not in Ticket.Category.values:
        raise TicketProblem(f"category: one of {', '.join(Ticket.Category.values)}")
    if new.priority not in Ticket.Priority.values:
        raise TicketProblem(f"priority: one of {', '.join(Ticket.Priority.values)}")


def _open(shop: Shop, new: NewTicket) -> Ticket:
    now = timezone.now()
    email = new.email.strip().lower()
    customer = customer_by_email(shop, email)
    order_id = new.order_id or _order_named(shop, customer, f"{new.subject}\n{new.body}")
    sla = sla_for(shop)
    number = (Ticket.objects.filter(shop=shop).aggregate(n=Max("number"))["n"] or 1000) + 1
    ticket = Ticket.objects.create(
        shop=shop,
        number=number,
        subject=(new.subject.strip() or new.body.strip().split("\n")[0])[:255],
        email=email,
        name=new.name.strip()[:200] or (customer.first_name if customer else ""),
        customer=customer,
        order_id=order_id,
        category=new.category,
        priority=new.priority,
        channel=new.channel,
        locale=new.locale or (customer.locale if customer else ""),
        token=secrets.token_urlsafe(16)[:22],
        created_at=now,
        clock_started_at=now,
        first_response_due=sla.first_response_due(now, new.priority),
        resolution_due=sla.resolution_due(now, new.priority),
        last_message_at=now,
    )
    TicketMessage.objects.create(
        shop=shop,
        ticket=ticket,
        kind=TicketMessage.Kind.IN,
        author=email,
        body=new.body.strip(),
        message_id=new.message_id,
        attachments=new.attachments,
        created_at=now,
    )
    if new.acknowledge:
        queue_message(
            shop,
            "ticket_acknowledgement",
            customer=customer or _customer_for(ticket),
            dedupe_key=f"ticket:{ticket.pk}:acknowledgement",
            order_id=order_id,
            order_locale=ticket.locale,
            extra={"ticket_id": ticket.pk},
            to_email=email,
        )
    publish("ticket.opened", shop.pk, **_ids(ticket), category=ticket.category)
    return ticket


def _ids(ticket: Ticket) -> dict:
    return {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "customer_id": ticket.customer_id,
        "order_id": ticket.order_id,
    }


def _order_named(shop: Shop, customer, text: str) -> int | None:
    """One of her orders whose number the message names ("my order #1042")."""
    if customer is None:
        return None
    numbers = set(_ORDER_NUMBER.findall(text))
    if not numbers:
        return None
    orders = find_orders(shop, customer_id=customer.pk)
    for order in orders.select_related(None).only("pk", "number")[:200]:
        if order.number.lstrip("#") in numbers:
            return order.pk
    return None


def _message(shop: Shop, message_id: str) -> TicketMessage | None:
    return (
        TicketMessage.objects.filter(shop=shop, message_id=message_id)
        .select_related("ticket")
        .first()
    )


def receive_email(shop: Shop, mail: InboundEmail) -> tuple[Ticket, bool]:
    """An email to the shop's support address: (its ticket, whether it opened one). The
    same email twice is kept once."""
    if mail.message_id:
        known = _message(shop, mail.message_id)
        if known is not None:
            return known.ticket, False
    ticket = _thread(shop, mail)
    if ticket is None or ticket.status == Status.CLOSED:
        opened = open_ticket(
            shop,
            NewTicket(
                email=mail.sender,
                name=mail.name,
                subject=mail.subject or "(no subject)",
                body=mail.text or "(empty message)",
                channel=Ticket.Channel.EMAIL,
                message_id=mail.message_id,
                attachments=mail.attachments,
                acknowledge=not mail.auto_reply,
                category=Ticket.Category.COMPLAINT
                if _sounds_like_complaint(mail)
                else Ticket.Category.QUESTION,
            ),
        )
        return opened, True
    # Delivered twice at the same moment: the other delivery kept it.
    with contextlib.suppress(IntegrityError):
        add_customer_message(
            ticket,
            mail.text or "(empty message)",
            author=mail.sender,
            message_id=mail.message_id,
            attachments=mail.attachments,
            reopens=not mail.auto_reply,
        )
    return ticket, False


def _thread(shop: Shop, mail: InboundEmail) -> Ticket | None:
    for header_id in mail.in_reply_to:
        known = _message(shop, header_id)
        if known is not None:
            return known.ticket
        sent = message_by_header_id(shop, header_id)
        if sent is not None and (sent.extra or {}).get("ticket_id"):
            return Ticket.objects.filter(shop=shop, pk=sent.extra["ticket_id"]).first()
    found = _REF.search(mail.subject)
    if found:
        # The number alone is guessable: only the ticket's own address may join it so.
        return Ticket.objects.filter(
            shop=shop, number=int(found.group(1)), email=mail.sender
        ).first()
    return None


_COMPLAINT_WORDS = re.compile(
    r"\b(complain\w*|klacht\w*|unacceptable|onacceptabel|disappointed|teleurgesteld"
    r"|broken|kapot|damaged|beschadigd|refund|geld terug)\b",
    re.IGNORECASE,
)


def _sounds_like_complaint(mail: InboundEmail) -> bool:
    return bool(_COMPLAINT_WORDS.search(f"{mail.subject}\n{mail.text[:2000]}"))


@transaction.atomic
def add_customer_message(
    ticket: Ticket,
    body: str,
    *,
    author: str,
    message_id: str = "",
    attachments: list[str] | None = None,
    reopens: bool = True,
) -> TicketMessage:
    """She wrote again. Waiting on her: open again, and the resolution clock moves on by
    the business time she took. Resolved: open again, with a clock of its own."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    message = TicketMessage.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        kind=TicketMessage.Kind.IN,
        author=author[:254],
        body=body.strip(),
        message_id=message_id,
        attachments=attachments or [],
        created_at=now,
    )
    ticket.last_message_at = now
    if reopens and ticket.status in (Status.WAITING, Status.RESOLVED, Status.CLOSED):
        _reopen(ticket, now)
    ticket.save()
    publish("ticket.customer_replied", ticket.shop_id, **_ids(ticket))
    return message


def _reopen(ticket: Ticket, now: datetime) -> None:
    """Open again. After waiting on her, the resolution clock goes on (the wait added to
    its pauses); after it was resolved or closed, a clock of its own starts."""
    sla = sla_for(ticket.shop)
    if ticket.status == Status.WAITING and ticket.waiting_since:
        ticket.paused += sla.waited(ticket.waiting_since, now)
    elif ticket.status in (Status.RESOLVED, Status.CLOSED):
        ticket.clock_started_at, ticket.paused = now, timedelta(0)
    ticket.resolution_due = sla.resolution_due(
        ticket.clock_started_at, ticket.priority, ticket.paused
    )
    ticket.status, ticket.waiting_since = Status.OPEN, None
    ticket.resolved_at = ticket.closed_at = None


@transaction.atomic
def reply(ticket: Ticket, body: str, *, agent, resolve: bool = False) -> TicketMessage:
    """An agent's answer, emailed to her in the thread of her own emails; the ticket then
    waits on her (or is resolved, when the agent says this settles it)."""
    if not body.strip():
        raise TicketProblem("reply: write something to send")
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("shop").get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        raise TicketProblem(f"ticket #{ticket.number} is closed: open it again first")
    now = timezone.now()
    name = agent_name(agent)
    message = TicketMessage.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        kind=TicketMessage.Kind.OUT,
        author=name,
        body=body.strip(),
        created_at=now,
    )
    customer = ticket.customer or _customer_for(ticket)
    thread = [
        m for m in ticket.messages.exclude(message_id="").values_list("message_id", flat=True)
    ]
    queue_message(
        ticket.shop,
        "ticket_reply",
        customer=customer,
        dedupe_key=f"ticket:{ticket.pk}:reply:{message.pk}",
        order_id=ticket.order_id,
        order_locale=ticket.locale,
        extra={
            "ticket_id": ticket.pk,
            "ticket_message_id": message.pk,
            "thread": {"in_reply_to": thread[-1], "references": " ".join(thread[-20:])}
            if thread
            else {},
        },
        to_email=ticket.email,
    )
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if ticket.assignee_id is None and getattr(agent, "pk", None):
        ticket.assignee = agent
    ticket.last_message_at = now
    if ticket.status == Status.RESOLVED:  # a follow-up after it was settled: a new clock
        _reopen(ticket, now)
    if resolve:
        _resolve(ticket, now)
    elif ticket.status != Status.WAITING:  # a second reply: she has waited since the first
        ticket.status, ticket.waiting_since = Status.WAITING, now
    ticket.save()
    publish("ticket.replied", ticket.shop_id, **_ids(ticket))
    return message


def agent_name(agent) -> str:
    """How a reply is signed: the agent's full name, else the username (or the name given)."""
    if isinstance(agent, str):
        return agent[:150]
    return (agent.get_full_name() or agent.get_username())[:150]


def _customer_for(ticket: Ticket):
    """Messages go to a customer row: one is made for an address we did not know."""
    from aftercart.customers.services import CustomerData, upsert_customer

    customer, _ = upsert_customer(ticket.shop, CustomerData(email=ticket.email))
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    ticket.customer = customer
    return customer


@transaction.atomic
def add_note(ticket: Ticket, body: str, *, agent) -> TicketMessage:
    if not body.strip():
        raise TicketProblem("note: write something")
    return TicketMessage.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        kind=TicketMessage.Kind.NOTE,
        author=agent_name(agent),
        body=body.strip(),
        created_at=timezone.now(),
    )


def _resolve(ticket: Ticket, now: datetime) -> None:
    ticket.status, ticket.resolved_at, ticket.waiting_since = Status.RESOLVED, now, None
    customer = ticket.customer or _customer_for(ticket)
    queue_message(
        ticket.shop,
        "csat_request",
        customer=customer,
        # Once per ticket: resolved again after she wrote back, she is not asked twice.
        dedupe_key=f"ticket:{ticket.pk}:csat",
        order_id=ticket.order_id,
        order_locale=ticket.locale,
        extra={"ticket_id": ticket.pk},
        to_email=ticket.email,
    )
    publish("ticket.resolved", ticket.shop_id, **_ids(ticket), category=ticket.category)


@transaction.atomic
def set_status(ticket: Ticket, status: str, *, agent) -> Ticket:
    """Resolve (she is asked to rate the answer), close, or open again."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("shop").get(pk=ticket.pk)
    now = timezone.now()
    if status == Status.RESOLVED:
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            raise TicketProblem(
                f"ticket #{ticket.number} is {ticket.get_status_display().lower()} already"
            )
        _resolve(ticket, now)
    elif status == Status.CLOSED:
        ticket.status, ticket.closed_at = Status.CLOSED, now
        ticket.resolved_at = ticket.resolved_at or now
    elif status == Status.OPEN:
        if ticket.status != Status.OPEN:
            _reopen(ticket, now)
    else:
        raise TicketProblem(f"status: resolved, closed or open, not {status!r}")
    ticket.save()
    return ticket


@transaction.atomic
def change(ticket: Ticket, *, category: str = "", priority: str = "", assignee=False) -> Ticket:
    """Category, priority (its clocks are counted again from when it came in) or who has it."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("shop").get(pk=ticket.pk)
    if category:
        if category not in Ticket.Category.values:
            raise TicketProblem(f"category: one of {', '.join(Ticket.Category.values)}")
        ticket.category = category
    if priority and priority != ticket.priority:
        if priority not in Ticket.Priority.values:
            raise TicketProblem(f"priority: one of {', '.join(Ticket.Priority.values)}")
        sla = sla_for(ticket.shop)
        ticket.priority = priority
        ticket.first_response_due = sla.first_response_due(ticket.created_at, priority)
        if ticket.is_open:
            # From when its clock started, with the time it stood still, as before.
            paused = ticket.paused
            if ticket.status == Status.WAITING and ticket.waiting_since:
                paused += sla.waited(ticket.waiting_since, timezone.now())
            ticket.resolution_due = sla.resolution_due(ticket.clock_started_at, priority, paused)
    if assignee is not False:
        ticket.assignee = assignee
    ticket.save()
    return ticket


def rate(ticket: Ticket, score: int) -> tuple[Rating, bool]:
    """Her 1–5 from the rating email. The first click counts; a second one (the same link
    again, or another score) changes nothing and says so."""
    if not 1 <= score <= 5:
        raise TicketProblem("score: 1 to 5")
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise TicketProblem(f"ticket #{ticket.number} is not resolved: nothing to rate yet")
    answered_by = (
        ticket.messages.filter(kind=TicketMessage.Kind.OUT)
        .order_by("-created_at")
        .values_list("author", flat=True)
        .first()
        or ""
    )
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                ticket=ticket,
                shop_id=ticket.shop_id,
                score=score,
                agent=answered_by,
                category=ticket.category,
                rated_at=timezone.now(),
            )
    except IntegrityError:
        return Rating.objects.get(ticket=ticket), False
    publish("ticket.rated", ticket.shop_id, **_ids(ticket), score=score)
    return rating, True


def comment_on_rating(rating: Rating, comment: str) -> Rating:
    Rating.objects.filter(pk=rating.pk).update(comment=comment.strip()[:2000])
    rating.refresh_from_db()
    return rating


def new_inbound_secret(shop: Shop) -> str:
    """A new secret for the shop's inbound-mail webhook; shown once, kept encrypted. The
    old one stops working at once."""
    secret = secrets.token_urlsafe(32)
    row = stored_settings(shop)
    row.inbound_secret = encrypt(secret)
    row.save()
    return secret
