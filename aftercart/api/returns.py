"""Returns through the API: ask for one on a customer's behalf (a store's own returns form,
a phone call), follow them, and take them through their steps from a warehouse system."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from aftercart.orders import queries as order_queries
from aftercart.returns import queries, services
from aftercart.returns.links import label_url, return_url
from aftercart.returns.photos import PhotoProblem
from aftercart.returns.policy import RequestProblem
from aftercart.returns.steps import take_step

router = Router(tags=["returns"])


class ReturnLineOut(Schema):
    id: int
    line: str = Field(alias="line_external_id")
    title: str
    variant_title: str
    sku: str
    unit_paid: Decimal
    quantity: int
    received_quantity: int
    settled_quantity: int = Field(alias="refunded_quantity")
    exchange_variant: str
    exchange_variant_title: str


class SettlementOut(Schema):
    id: int
    kind: str
    status: str
    amount: Decimal
    external_id: str
    error: str
    done_at: datetime | None


class ReturnOut(Schema):
    id: int
    number: str
    order: str = Field(alias="order.external_id")
    status: str
    resolution: str
    reason: str
    reason_label: str
    comment: str
    exchange_for: str
    notes: list[str]
    currency: str
    items_value: Decimal
    restocking_fee: Decimal
    shipping_fee: Decimal
    refund_amount: Decimal
    store_credit_amount: Decimal
    rejection_reason: str
    tracking_number: str
    requested_at: datetime
    decided_at: datetime | None
    received_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    lines: list[ReturnLineOut]


class ReturnDetailOut(ReturnOut):
    settlements: list[SettlementOut]
    page_url: str
    label_url: str


class ItemIn(Schema):
    line: str = Field(description="the store's id of the order line")
    quantity: int = Field(gt=0)
    exchange_for_variant: str = Field(
        "", description="for an exchange: the store's id of another variant of the product"
    )


class ReturnIn(Schema):
    order: str = Field(description="the store's id of the order")
    items: list[ItemIn] = Field(min_length=1)
    reason: str
    resolution: Literal["refund", "exchange", "store_credit"] = "refund"
    comment: str = Field("", max_length=5000)
    exchange_for: str = Field("", max_length=255)
    request_key: str = Field(
        "", max_length=64, description="the same key twice makes one return (safe to retry)"
    )


class VerdictOut(Schema):
    decision: str
    reasons: list[str]
    last_day: str | None
    items_value: Decimal
    restocking_fee: Decimal
    shipping_fee: Decimal
    refund: Decimal
    store_credit: Decimal


class StepIn(Schema):
    action: Literal[
        "approve", "reject", "shipped", "receive", "inspect", "settle", "complete", "cancel"
    ]
    reason: str = ""  # reject
    note: str = ""  # inspect
    tracking_number: str = ""  # shipped
    # receive / settle: per return line id, how many; all when not given
    quantities: dict[int, int] | None = None
    refund_shipping: bool = False  # settle
    by: str = Field("api", max_length=150)


class ReturnFilters(Schema):
    status: str = ""
    order: str = ""
    q: str = ""


def _detail(request, ret):
    """The return with its links: the customer's page and the label, signed."""
    ret.page_url = return_url(request.shop.pk, ret.pk)
    ret.label_url = label_url(request.shop.pk, ret.pk)
    return ret


def _order(request, external_id: str):
    order = order_queries.order_detail(request.shop, external_id=external_id)
    if order is None or order.is_placeholder:
        raise HttpError(404, f"no order {external_id!r} in this shop")
    return order


def _ask(order, payload: ReturnIn) -> services.ReturnAsk:
    by_external = {}
    for line in order.lines.all():
        by_external[line.external_id or queries.line_key(line)] = line.pk
    quantities, variants = {}, {}
    for i, item in enumerate(payload.items):
        if item.line not in by_external:
            raise HttpError(
                422, f"items[{i}].line: order {order.external_id} has no line {item.line!r}"
            )
        quantities[by_external[item.line]] = (
            quantities.get(by_external[item.line], 0) + item.quantity
        )
        if item.exchange_for_variant:
            variants[by_external[item.line]] = item.exchange_for_variant
    return services.ReturnAsk(
        quantities=quantities,
        reason=payload.reason,
        resolution=payload.resolution,
        comment=payload.comment,
        exchange_for=payload.exchange_for,
        request_key=payload.request_key,
        exchange_variants=variants,
    )


@router.post(
    "/returns/preview", response=VerdictOut, summary="What the policy says, changing nothing"
)
def preview(request: HttpRequest, payload: ReturnIn):
    order = _order(request, payload.order)
    try:
        verdict = services.preview_return(request.shop, order, _ask(order, payload))
    except (RequestProblem, services.ReturnProblem) as problem:
        raise HttpError(422, str(problem)) from None
    return {
        **{
            k: getattr(verdict, k)
            for k in (
                "reasons",
                "items_value",
                "restocking_fee",
                "shipping_fee",
                "refund",
                "store_credit",
            )
        },
        "decision": verdict.decision.value,
        "last_day": verdict.last_day.isoformat() if verdict.last_day else None,
    }


@router.post(
    "/returns",
    response={201: ReturnDetailOut, 422: dict},
    summary="Ask for a return on the customer's behalf",
)
def create(request: HttpRequest, payload: ReturnIn):
    order = _order(request, payload.order)
    try:
        ret = services.request_return(
            request.shop, order, _ask(order, payload), source="api", by="api"
        )
    except services.ReturnRefused as refused:
        return 422, {
            "error": "the return policy rejects this return",
            "reasons": refused.verdict.reasons,
        }
    except (RequestProblem, services.ReturnProblem, PhotoProblem) as problem:
        raise HttpError(422, str(problem)) from None
    return 201, _detail(request, queries.return_detail(request.shop, ret.pk))


@router.get("/returns", response=list[ReturnOut], summary="List returns, newest first")
@paginate(PageNumberPagination, page_size=50)
def list_returns(request: HttpRequest, filters: Query[ReturnFilters]):
    returns = queries.find_returns(request.shop, status=filters.status, search=filters.q)
    if filters.order:
        returns = returns.filter(Q(order__external_id=filters.order))
    return returns.prefetch_related("lines")


@router.get("/returns/{return_id}", response=ReturnDetailOut, summary="One return")
def get_return(request: HttpRequest, return_id: int):
    ret = queries.return_detail(request.shop, return_id)
    if ret is None:
        raise HttpError(404, f"no return {return_id} in this shop")
    return _detail(request, ret)


@router.post("/returns/{return_id}/steps", response=ReturnDetailOut, summary="Take a step")
def step(request: HttpRequest, return_id: int, payload: StepIn):
    ret = queries.return_detail(request.shop, return_id)
    if ret is None:
        raise HttpError(404, f"no return {return_id} in this shop")
    try:
        take_step(
            ret,
            payload.action,
            by=payload.by or "api",
            reason=payload.reason,
            note=payload.note,
            tracking_number=payload.tracking_number,
            quantities=payload.quantities,
            refund_shipping=payload.refund_shipping,
        )
    except services.ReturnProblem as problem:
        raise HttpError(409, str(problem)) from None
    return _detail(request, queries.return_detail(request.shop, return_id))
