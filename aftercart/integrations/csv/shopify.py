"""Shopify's order export (Orders > Export > CSV), mapped onto past orders.

One order spans several rows: the first row of an order carries the order's columns and its
first line item; each further row with the same Name carries another line item (Shopify
repeats a few order columns there, which are ignored). Column names are Shopify's own.
The Id column is Shopify's order id, the same id its webhooks carry, so an order that
came in live is recognised and left as the live feed wrote it.
"""

from decimal import Decimal

from aftercart.customers.services import CustomerData
from aftercart.integrations.csv.reading import Context, Layout, Rows, financial_status
from aftercart.integrations.shopify.mapping import FINANCIAL
from aftercart.orders.history import PastOrder
from aftercart.orders.records import LineData

SOURCE = "csv"
ZERO = Decimal("0.00")
FULFILMENT = {
    "fulfilled": "fulfilled",
    "partial": "partial",
    "unfulfilled": "unfulfilled",
    "pending": "unfulfilled",
    "restocked": "unfulfilled",
    "scheduled": "unfulfilled",
    "on_hold": "unfulfilled",
}
REQUIRED = (
    "Name",
    "Id",
    "Created at",
    "Currency",
    "Total",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
)
COLUMNS = (
    *REQUIRED,
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Accepts Marketing",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Discount Code",
    "Discount Amount",
    "Lineitem sku",
    "Lineitem discount",
    "Billing Name",
    "Billing Country",
    "Shipping Name",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Notes",
    "Cancelled at",
    "Refunded Amount",
    "Tags",
    "Phone",
)


def read_order(ctx: Context, rows: Rows) -> PastOrder | None:
    before = len(ctx.problems)
    c = ctx.cells(*rows[0])
    placed_at = c.moment("Created at", required=True)
    total = c.amount("Total", required=True)
    cancelled_at = c.moment("Cancelled at")
    refunded = c.amount("Refunded Amount") or None  # Shopify writes 0.00 for "none"
    email = c.email("Email")
    address = {
        key: value
        for key, column in (
            ("address1", "Shipping Address1"),
            ("address2", "Shipping Address2"),
            ("province", "Shipping Province"),
        )
        if (value := c.text(column))
    }
    order = PastOrder(
        external_id=c.key("Id"),
        source=SOURCE,
        number=c.text("Name"),
        email=email,
        customer=_customer(ctx, rows, email, placed_at),
        currency=c.currency("Currency"),
        subtotal=c.amount("Subtotal"),
        discounts=c.amount("Discount Amount"),
        shipping=c.amount("Shipping"),
        tax=c.amount("Taxes"),
        total=total,
        placed_at=placed_at,
        financial_status=financial_status(
            c.choice("Financial Status", FINANCIAL), total, refunded, cancelled_at is not None
        ),
        fulfilment_status=c.choice("Fulfillment Status", FULFILMENT) or "unfulfilled",
        cancelled_at=cancelled_at,
        discount_codes=c.words("Discount Code"),
        shipping_name=c.text("Shipping Name"),
        shipping_address=address,
        shipping_country=c.country("Shipping Country"),
        # Shopify quotes postcodes with an apostrophe so spreadsheets keep leading zeros.
        shipping_postcode=c.text("Shipping Zip").lstrip("'")[:20],
        shipping_city=c.text("Shipping City"),
        note=c.text("Notes"),
        tags=c.words("Tags"),
        paid_at=c.moment("Paid at"),
        refunded_total=refunded,
        lines=[_line(ctx, line, row) for line, row in rows],
    )
    return order if len(ctx.problems) == before else None


def _line(ctx: Context, line: int, row: list[str]) -> LineData:
    c = ctx.cells(line, row)
    return LineData(
        title=c.text("Lineitem name", required=True),
        quantity=c.quantity("Lineitem quantity") or 0,
        unit_price=c.amount("Lineitem price", required=True) or ZERO,
        discount=c.amount("Lineitem discount") or ZERO,
        sku=c.text("Lineitem sku"),
    )


def _customer(ctx: Context, rows: Rows, email: str | None, placed_at) -> CustomerData | None:
    c = ctx.cells(*rows[0])
    consent = c.yes_no("Accepts Marketing")
    if not email:
        return None
    first, _, last = c.text("Billing Name").partition(" ")
    country = c.text("Billing Country").upper()
    return CustomerData(
        email=email,
        first_name=first or None,
        last_name=last.strip() or None,
        country=country if len(country) == 2 else None,
        phone=c.text("Phone") or None,
        accepts_marketing=consent,
        consent_at=placed_at,
        consent_source="shopify order export",
    )


LAYOUT = Layout(
    name="shopify",
    key="Name",
    columns=COLUMNS,
    required=REQUIRED,
    read_order=read_order,
    id_column="Id",
)
