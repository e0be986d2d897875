"""Tickets through the API: open one from a store's own contact form or a chat tool, read
the inbox, answer from a helpdesk integration."""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from aftercart.orders import queries as order_queries
from aftercart.support import queries, services
from aftercart.support.models import Ticket

router = Router(tags=["customer care"])


class TicketMessageOut(Schema):
    kind: str
    author: str
    body: str
    created_at: datetime


class TicketOut(Schema):
    id: int
    number: int
    subject: str
    email: str
    name: str
    customer_id: int | None
    order: str | None = Field(None, alias="order.external_id")
    category: str
    priority: str
    status: str
    channel: str
    created_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None


class TicketDetailOut(TicketOut):
    messages: list[TicketMessageOut]


class TicketIn(Schema):
    email: str = Field(max_length=254)
    name: str = Field("", max_length=200)
    subject: str = Field("", max_length=255)
    message: str = Field(min_length=1, max_length=20_000)
    category: Literal["question", "complaint", "delivery", "return", "product"] = "question"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    order: str = Field("", description="the store's id of the order it is about")
    locale: str = Field("", max_length=10)


class MessageIn(Schema):
    kind: Literal["reply", "note", "customer"] = Field(
        description="reply: emailed to her; note: for the team; customer: she wrote (a chat)"
    )
    body: str = Field(min_length=1, max_length=20_000)
    author: str = Field("api", max_length=150)
    resolve: bool = False


class TicketFilters(Schema):
    view: Literal["open", "overdue", "waiting", "resolved"] = "open"
    q: str = ""


def _ticket(request, ticket_id: int) -> Ticket:
    ticket = queries.ticket_detail(request.shop, ticket_id)
    if ticket is None:
        raise HttpError(404, f"no ticket {ticket_id} in this shop")
    return ticket


@router.post("/tickets", response={201: TicketDetailOut}, summary="Open a ticket")
def create(request: HttpRequest, payload: TicketIn):
    order_id = None
    if payload.order:
        order = order_queries.order_detail(request.shop, external_id=payload.order)
        if order is None:
            raise HttpError(422, f"order: no order {payload.order!r} in this shop")
        order_id = order.pk
    try:
        ticket = services.open_ticket(
            request.shop,
            services.NewTicket(
                email=payload.email,
                name=payload.name,
                subject=payload.subject,
                body=payload.message,
                category=payload.category,
                priority=payload.priority,
                channel=Ticket.Channel.API,
                order_id=order_id,
                locale=payload.locale,
            ),
        )
    except services.TicketProblem as problem:
        raise HttpError(422, str(problem)) from None
    return 201, queries.ticket_detail(request.shop, ticket.pk)


@router.get("/tickets", response=list[TicketOut], summary="The inbox, most urgent first")
@paginate(PageNumberPagination, page_size=50)
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]):
    return queries.inbox(request.shop, filters.view, search=filters.q)


@router.get("/tickets/{ticket_id}", response=TicketDetailOut, summary="One ticket")
def get_ticket(request: HttpRequest, ticket_id: int):
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/messages", response={201: TicketDetailOut}, summary="Add a message"
)
def add_message(request: HttpRequest, ticket_id: int, payload: MessageIn):
    ticket = _ticket(request, ticket_id)
    try:
        if payload.kind == "reply":
            services.reply(ticket, payload.body, agent=payload.author, resolve=payload.resolve)
        elif payload.kind == "note":
            services.add_note(ticket, payload.body, agent=payload.author)
        else:
            services.add_customer_message(ticket, payload.body, author=ticket.email)
    except services.TicketProblem as problem:
        raise HttpError(409, str(problem)) from None
    return 201, queries.ticket_detail(request.shop, ticket.pk)
