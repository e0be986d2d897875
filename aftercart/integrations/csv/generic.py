"""The generic order CSV: one row per order line, for any store or script (docs/csv.md).

Rows of one order share its order_id and follow each other. The order's own columns are
read from its first row; later rows may repeat them or leave them empty.
"""

from decimal import Decimal

from aftercart.customers.services import CustomerData
from aftercart.integrations.csv.reading import Context, Layout, Rows, financial_status
from aftercart.orders.history import PastOrder
from aftercart.orders.models import Order
from aftercart.orders.records import LineData

SOURCE = "csv"
ZERO = Decimal("0.00")
FINANCIAL = {value: value for value in Order.Financial.values}
FULFILMENT = {value: value for value in Order.Fulfilment.values}
REQUIRED = ("order_id", "placed_at", "total", "line_title", "quantity", "unit_price")
ORDER_COLUMNS = (
    "order_id",
    "order_number",
    "placed_at",
    "email",
    "first_name",
    "last_name",
    "accepts_marketing",
    "locale",
    "currency",
    "subtotal",
    "shipping",
    "tax",
    "discounts",
    "discount_codes",
    "total",
    "financial_status",
    "paid_at",
    "fulfilment_status",
    "cancelled_at",
    "refunded_amount",
    "refunded_at",
    "shipping_name",
    "shipping_country",
    "shipping_postcode",
    "shipping_city",
    "note",
    "tags",
)
LINE_COLUMNS = (
    "line_id",
    "line_sku",
    "line_title",
    "quantity",
    "unit_price",
    "line_discount",
    "product_id",
    "category",
)


def read_order(ctx: Context, rows: Rows) -> PastOrder | None:
    before = len(ctx.problems)
    c = ctx.cells(*rows[0])
    external_id = c.key("order_id")
    placed_at = c.moment("placed_at", required=True)
    total = c.amount("total", required=True)
    cancelled_at = c.moment("cancelled_at")
    refunded = c.amount("refunded_amount") or None
    email = c.email("email")
    locale = c.text("locale").split("-")[0].lower()[:10] or None
    consent = c.yes_no("accepts_marketing")
    country = c.country("shipping_country")
    lines = [_line(ctx, line, row) for line, row in rows]
    subtotal = c.amount("subtotal")
    if subtotal is None:
        subtotal = sum((ln.unit_price * ln.quantity - ln.discount for ln in lines), ZERO)
    order = PastOrder(
        external_id=external_id,
        source=SOURCE,
        number=c.text("order_number") or external_id,
        email=email,
        customer=CustomerData(
            email=email,
            first_name=c.text("first_name") or None,
            last_name=c.text("last_name") or None,
            locale=locale,
            country=country,
            accepts_marketing=consent,
            consent_at=placed_at,
            consent_source="csv import",
        )
        if email
        else None,
        currency=c.currency("currency"),
        subtotal=subtotal,
        discounts=c.amount("discounts"),
        shipping=c.amount("shipping"),
        tax=c.amount("tax"),
        total=total,
        placed_at=placed_at,
        financial_status=financial_status(
            c.choice("financial_status", FINANCIAL), total, refunded, cancelled_at is not None
        ),
        fulfilment_status=c.choice("fulfilment_status", FULFILMENT) or "unfulfilled",
        cancelled_at=cancelled_at,
        discount_codes=c.words("discount_codes"),
        shipping_name=c.text("shipping_name"),
        shipping_country=country,
        shipping_postcode=c.text("shipping_postcode")[:20],
        shipping_city=c.text("shipping_city"),
        locale=locale,
        note=c.text("note"),
        tags=c.words("tags"),
        paid_at=c.moment("paid_at"),
        refunded_total=refunded,
        refunded_at=c.moment("refunded_at"),
        lines=lines,
    )
    return order if len(ctx.problems) == before else None


def _line(ctx: Context, line: int, row: list[str]) -> LineData:
    c = ctx.cells(line, row)
    return LineData(
        external_id=c.text("line_id"),
        title=c.text("line_title", required=True),
        quantity=c.quantity("quantity") or 0,
        unit_price=c.amount("unit_price", required=True) or ZERO,
        discount=c.amount("line_discount") or ZERO,
        sku=c.text("line_sku"),
        product_external_id=c.text("product_id"),
        category=c.text("category"),
    )


LAYOUT = Layout(
    name="generic",
    key="order_id",
    columns=(*ORDER_COLUMNS, *LINE_COLUMNS),
    required=REQUIRED,
    read_order=read_order,
)
