from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from aftercart.core.services import add_member
from aftercart.customers.services import CustomerData
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.orders.services import record_order

PASSWORD = "correct horse battery staple"


def place_order(
    shop,
    number: str,
    *,
    email: str = "jon@example.com",
    first_name: str = "Jon",
    last_name: str = "Snow",
    placed_at: datetime | None = None,
    total: str = "42.50",
    financial_status: str = "paid",
    shipments: list[ShipmentData] | None = None,
    refunds: list[RefundData] | None = None,
    cancelled_at: datetime | None = None,
    accepts_marketing: bool | None = None,
):
    """An order as a store would send it, applied through the order services."""
    amount = Decimal(total)
    change = record_order(
        shop,
        OrderData(
            external_id=f"ext-{number}",
            source="shopify",
            number=f"#{number}",
            email=email,
            customer=CustomerData(
                email=email,
                first_name=first_name,
                last_name=last_name,
                accepts_marketing=accepts_marketing,
                consent_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC) if accepts_marketing else None,
                consent_source="shopify" if accepts_marketing is not None else "",
            ),
            currency=shop.currency,
            subtotal=amount,
            total=amount,
            placed_at=placed_at or datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            financial_status=financial_status,
            shipping_name=f"{first_name} {last_name}",
            shipping_city="Utrecht",
            shipping_country="NL",
            cancelled_at=cancelled_at,
            lines=[
                LineData(
                    title="Ethiopia Yirgacheffe 500 g",
                    quantity=1,
                    unit_price=amount,
                    external_id=f"line-{number}",
                    sku="COF-ETH-500",
                )
            ],
            shipments=shipments,
            refunds=refunds,
        ),
    )
    return change.order


def make_user(username: str, *, shops=(), superuser: bool = False):
    user = get_user_model().objects.create_user(
        username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    for shop in shops:
        add_member(shop, user)
    return user


@pytest.fixture
def staff(shop):
    return make_user("anna", shops=[shop])


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
