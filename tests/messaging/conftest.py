from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData
from aftercart.orders.records import LineData, OrderData, ShipmentData
from aftercart.orders.services import record_order


@pytest.fixture
def tricky_order(shop):
    """An order whose every value a template fills is awkward to write: markup, quotes and
    ampersands in names, titles, the address and a tracking link; a discount with a code;
    a variant; a parcel on its way. The shop gets a postal address and an awkward name."""
    Shop.objects.filter(pk=shop.pk).update(
        name="Koffie & Co's", postal_address="Kerkstraat 1, Utrecht"
    )
    shop.refresh_from_db()
    return record_order(
        shop,
        OrderData(
            external_id="ext-1",
            source="api",
            number="#1001",
            email="anne@example.com",
            customer=CustomerData(
                email="anne@example.com", first_name='Anne <b>"&amp;"</b>', accepts_marketing=True
            ),
            currency="EUR",
            subtotal=Decimal("35.00"),
            discounts=Decimal("5.00"),
            discount_codes=["WELCOME"],
            shipping=Decimal("4.95"),
            total=Decimal("34.95"),
            placed_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            financial_status="paid",
            shipping_name="Anne & Co",
            shipping_address={"address1": 'Kerkstraat 1 "achter"'},
            shipping_postcode="3511 AB",
            shipping_city="Utrecht",
            shipping_country="NL",
            lines=[
                LineData(
                    title="Espresso <beans> 1 kg",
                    variant_title="Whole",
                    quantity=2,
                    unit_price=Decimal("12.50"),
                ),
                LineData(
                    title="Mug",
                    variant_title="Blue & white",
                    quantity=1,
                    unit_price=Decimal("10.00"),
                ),
            ],
            shipments=[
                ShipmentData(
                    external_id="s1",
                    carrier="PostNL",
                    tracking_number="3SABCD123",
                    tracking_url="https://postnl.example/track?code=3SABCD123&x=1",
                    status="shipped",
                )
            ],
        ),
    ).order
