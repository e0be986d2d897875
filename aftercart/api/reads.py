from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from aftercart.customers import queries as customer_queries
from aftercart.orders import queries as order_queries

router = Router(tags=["read"])


class LineOut(Schema):
    sku: str
    title: str
    variant_title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal


class ShipmentOut(Schema):
    id: str = Field(alias="external_id")
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class RefundOut(Schema):
    id: str = Field(alias="external_id")
    amount: Decimal
    reason: str
    refunded_at: datetime


class EventOut(Schema):
    type: str
    occurred_at: datetime
    source: str


class OrderOut(Schema):
    id: str = Field(alias="external_id")
    number: str
    email: str
    customer_id: int | None
    currency: str
    subtotal: Decimal
    discounts: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    refunded: Decimal
    placed_at: datetime | None
    financial_status: str
    fulfilment_status: str
    cancelled_at: datetime | None
    discount_codes: list[str]
    shipping_country: str
    source: str
    updated_at: datetime


class OrderDetailOut(OrderOut):
    lines: list[LineOut]
    shipments: list[ShipmentOut]
    refunds: list[RefundOut]
    events: list[EventOut]


class CustomerOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    locale: str
    country: str
    accepts_marketing: bool
    marketing_consent_at: datetime | None
    created_at: datetime


class OrderFilters(Schema):
    q: str = ""
    financial_status: str = ""
    fulfilment_status: str = ""
    cancelled: bool | None = None
    customer_id: int | None = None
    updated_since: datetime | None = None


class CustomerFilters(Schema):
    q: str = ""
    accepts_marketing: bool | None = None


@router.get("/orders", response=list[OrderOut], summary="List orders, newest first")
@paginate(PageNumberPagination, page_size=50)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    return order_queries.find_orders(
        request.shop,
        search=filters.q,
        financial_status=filters.financial_status,
        fulfilment_status=filters.fulfilment_status,
        cancelled=filters.cancelled,
        customer_id=filters.customer_id,
        updated_since=filters.updated_since,
    )


@router.get("/orders/{order_id}", response=OrderDetailOut, summary="One order by the store's id")
def get_order(request: HttpRequest, order_id: str):
    order = order_queries.order_detail(request.shop, external_id=order_id)
    if order is None or order.is_placeholder:
        raise HttpError(404, f"no order {order_id!r} in this shop")
    return order


@router.get("/customers", response=list[CustomerOut], summary="List customers, newest first")
@paginate(PageNumberPagination, page_size=50)
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    return customer_queries.find_customers(
        request.shop, search=filters.q, accepts_marketing=filters.accepts_marketing
    )


@router.get("/customers/{customer_id}", response=CustomerOut, summary="One customer")
def get_customer(request: HttpRequest, customer_id: int):
    customer = customer_queries.customer_in_shop(request.shop, customer_id)
    if customer is None:
        raise HttpError(404, f"no customer {customer_id} in this shop")
    return customer
