"""The customers list, the customer page, and the customer's privacy rights."""

import json
from datetime import UTC, datetime
from decimal import Decimal

from aftercart.customers.models import Customer, ErasureRecord
from aftercart.orders.records import RefundData
from tests.dashboard.conftest import place_order


def test_search_narrows_the_customer_list(staff_client, shop):
    place_order(shop, "1001", email="jon@example.com", first_name="Jon", last_name="Snow")
    place_order(shop, "1002", email="arya@example.com", first_name="Arya", last_name="Stark")
    url = f"/shops/{shop.slug}/customers/"
    page = staff_client.get(url, {"q": "stark"}).content.decode()
    assert "arya@example.com" in page and "jon@example.com" not in page
    page = staff_client.get(url, {"q": "jon@"}).content.decode()
    assert "jon@example.com" in page and "arya@example.com" not in page


def test_marketing_filter(staff_client, shop):
    place_order(shop, "1001", email="jon@example.com", accepts_marketing=True)
    place_order(shop, "1002", email="arya@example.com", accepts_marketing=False)
    page = staff_client.get(f"/shops/{shop.slug}/customers/", {"marketing": "yes"}).content
    assert b"jon@example.com" in page and b"arya@example.com" not in page


def test_customer_page_shows_totals_orders_and_consent(staff_client, shop):
    place_order(
        shop,
        "1001",
        total="30.00",
        placed_at=datetime(2026, 2, 1, 10, 0, tzinfo=UTC),
        accepts_marketing=True,
    )
    last = place_order(
        shop,
        "1002",
        total="12.50",
        placed_at=datetime(2026, 3, 14, 10, 0, tzinfo=UTC),
        refunds=[
            RefundData(
                external_id="r1",
                amount=Decimal("2.50"),
                refunded_at=datetime(2026, 3, 20, tzinfo=UTC),
            )
        ],
    )
    page = staff_client.get(f"/shops/{shop.slug}/customers/{last.customer_id}/").content.decode()
    stats = page[
        page.index('class="stats"') : page.index("</section>", page.index('class="stats"'))
    ]
    assert ">2<" in stats  # orders
    assert "€ 42,50" in stats  # spent
    assert "€ 2,50" in stats  # refunded
    assert "14 Mar 2026" in stats  # last order
    assert "#1001" in page and "#1002" in page
    assert "Subscribed" in page
    assert "5 Jan 2026" in page and "shopify" in page  # consent time and source


def test_download_data_is_a_json_file_with_the_customers_email(staff_client, shop):
    order = place_order(shop, "1001", email="jon@example.com")
    response = staff_client.get(f"/shops/{shop.slug}/customers/{order.customer_id}/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    document = json.loads(response.content)
    assert document["shop"] == shop.slug
    assert document["data"]["customer"]["email"] == "jon@example.com"


def test_erase_asks_for_confirmation_then_removes_the_email(staff_client, shop, staff):
    order = place_order(shop, "1001", email="jon@example.com")
    url = f"/shops/{shop.slug}/customers/{order.customer_id}/"

    confirm = staff_client.get(url + "erase/")
    assert confirm.status_code == 200 and b'name="confirm"' in confirm.content
    # Without ticking the box nothing happens.
    unconfirmed = staff_client.post(url + "erase/", {})
    assert unconfirmed.status_code == 200
    assert not ErasureRecord.objects.exists()

    response = staff_client.post(url + "erase/", {"confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    page = response.content.decode()
    assert "jon@example.com" not in page
    assert "personal data has been erased" in page
    record = ErasureRecord.objects.get()
    assert record.shop == shop
    assert record.customer_ref == str(order.customer_id)
    assert record.requested_by == staff.username
    assert Customer.objects.get(pk=order.customer_id).erased_at is not None
    # The order page no longer shows it either.
    order_page = staff_client.get(f"/shops/{shop.slug}/orders/{order.pk}/").content.decode()
    assert "jon@example.com" not in order_page


def test_erase_is_post_only_in_effect(staff_client, shop):
    order = place_order(shop, "1001", email="jon@example.com")
    staff_client.get(f"/shops/{shop.slug}/customers/{order.customer_id}/erase/?confirm=on")
    assert not ErasureRecord.objects.exists()


def test_a_customer_whose_only_order_was_cancelled_is_listed_with_zero_spent(staff_client, shop):
    place_order(
        shop, "1003", email="sansa@example.com", cancelled_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    response = staff_client.get(f"/shops/{shop.slug}/customers/")
    assert response.status_code == 200
    assert b"sansa@example.com" in response.content
    assert "€ 0,00" in response.content.decode()  # the shop's locale is Dutch
