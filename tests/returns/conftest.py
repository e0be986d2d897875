from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftercart.customers.services import CustomerData
from aftercart.orders.records import LineData, OrderData, ShipmentData
from aftercart.orders.services import record_order

PLACED = datetime(2026, 11, 2, 10, tzinfo=UTC)
DELIVERED = datetime(2026, 11, 5, 14, tzinfo=UTC)


def order_data(number="1001", lines=None, **more) -> OrderData:
    """A paid order of three lines, delivered in one parcel on 5 November."""
    fields = dict(
        external_id=f"ext-{number}",
        source="api",
        number=number,
        email="anne@example.com",
        customer=CustomerData(email="anne@example.com", first_name="Anne"),
        currency="EUR",
        subtotal=Decimal("100.00"),
        total=Decimal("100.00"),
        placed_at=PLACED,
        locale="en",
        financial_status="paid",
        shipping_country="NL",
        lines=lines
        or [
            LineData(
                external_id="L1",
                title="Linen shirt",
                variant_title="M",
                sku="SHIRT-M",
                quantity=2,
                unit_price=Decimal("30.00"),
            ),
            LineData(
                external_id="L2",
                title="Espresso cup",
                sku="CUP",
                quantity=1,
                unit_price=Decimal("25.00"),
                discount=Decimal("5.00"),
            ),
            LineData(external_id="L3", title="Tea towel", quantity=1, unit_price=Decimal("20.00")),
        ],
        shipments=[
            ShipmentData(
                external_id="f1",
                status="delivered",
                tracking_number="3SABCD1234567",
                shipped_at=datetime(2026, 11, 3, 9, tzinfo=UTC),
                delivered_at=DELIVERED,
                updated_at=DELIVERED,
            )
        ],
    )
    return OrderData(**{**fields, **more})


@pytest.fixture
def order(shop):
    return record_order(shop, order_data()).order


def lines_of(order) -> dict[str, int]:
    """Line external id -> the line's id, as a return form names them."""
    return {line.external_id: line.pk for line in order.lines.all()}
