"""The orders list (search, filters, paging) and the order page."""

from datetime import UTC, datetime
from decimal import Decimal

from aftercart.orders.records import RefundData, ShipmentData
from aftercart.orders.services import record_shipment
from tests.dashboard.conftest import place_order


def numbers(response) -> list[str]:
    page = response.content.decode()
    return sorted(n for n in ["#1001", "#1002", "#1003", "#1004"] if n in page)


def seed(shop):
    place_order(shop, "1001", email="jon@example.com", first_name="Jon", last_name="Snow")
    place_order(
        shop,
        "1002",
        email="arya@example.com",
        first_name="Arya",
        last_name="Stark",
        financial_status="pending",
        placed_at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
    )
    place_order(
        shop,
        "1003",
        email="sansa@example.com",
        first_name="Sansa",
        last_name="Stark",
        placed_at=datetime(2026, 4, 2, 9, 0, tzinfo=UTC),
        shipments=[ShipmentData(external_id="s1", status="delivered", carrier="PostNL")],
    )
    place_order(
        shop,
        "1004",
        email="bran@example.com",
        first_name="Bran",
        last_name="Stark",
        cancelled_at=datetime(2026, 4, 3, 9, 0, tzinfo=UTC),
        placed_at=datetime(2026, 4, 3, 8, 0, tzinfo=UTC),
    )


def test_search_narrows_by_number_email_and_name(staff_client, shop):
    seed(shop)
    url = f"/shops/{shop.slug}/orders/"
    assert numbers(staff_client.get(url)) == ["#1001", "#1002", "#1003", "#1004"]
    assert numbers(staff_client.get(url, {"q": "1002"})) == ["#1002"]
    assert numbers(staff_client.get(url, {"q": "sansa@"})) == ["#1003"]
    assert numbers(staff_client.get(url, {"q": "Stark"})) == ["#1002", "#1003", "#1004"]


def test_filters_narrow_the_list(staff_client, shop):
    seed(shop)
    url = f"/shops/{shop.slug}/orders/"
    assert numbers(staff_client.get(url, {"financial": "pending"})) == ["#1002"]
    assert numbers(staff_client.get(url, {"fulfilment": "delivered"})) == ["#1003"]
    assert numbers(staff_client.get(url, {"cancelled": "yes"})) == ["#1004"]
    assert "#1004" not in numbers(staff_client.get(url, {"cancelled": "no"}))
    in_march = staff_client.get(url, {"placed_from": "2026-03-01", "placed_to": "2026-03-31"})
    assert numbers(in_march) == ["#1001", "#1002"]
    # "until" takes in the whole day named.
    assert numbers(
        staff_client.get(url, {"placed_from": "2026-04-03", "placed_to": "2026-04-03"})
    ) == ["#1004"]


def test_a_bad_date_is_reported_and_the_other_filters_still_apply(staff_client, shop):
    seed(shop)
    response = staff_client.get(
        f"/shops/{shop.slug}/orders/", {"placed_from": "yesterday", "q": "1003"}
    )
    assert response.status_code == 200
    assert numbers(response) == ["#1003"]
    assert 'class="error"' in response.content.decode()


def test_list_is_paginated_and_pages_keep_the_filters(staff_client, shop):
    for i in range(30):
        place_order(shop, str(2000 + i), email=f"c{i}@example.com")
    url = f"/shops/{shop.slug}/orders/"
    first = staff_client.get(url, {"financial": "paid"}).content.decode()
    assert "30 orders" in first
    assert first.count('class="row-link"') == 25
    assert "?financial=paid&amp;page=2" in first
    second = staff_client.get(url, {"financial": "paid", "page": 2}).content.decode()
    assert second.count('class="row-link"') == 5


def test_live_search_returns_only_the_results(staff_client, shop):
    seed(shop)
    response = staff_client.get(
        f"/shops/{shop.slug}/orders/", {"q": "1002"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="results"')
    assert "#1002" in page and "#1001" not in page


def test_order_page_shows_timeline_items_totals_shipments_and_refunds(staff_client, shop):
    order = place_order(
        shop,
        "1001",
        total="42.50",
        placed_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        refunds=[
            RefundData(
                external_id="r1",
                amount=Decimal("10.00"),
                refunded_at=datetime(2026, 3, 6, 10, 0, tzinfo=UTC),
                reason="Grinder arrived dented",
            )
        ],
    )
    record_shipment(
        shop,
        order.external_id,
        ShipmentData(
            external_id="s1",
            status="in_transit",
            carrier="PostNL",
            tracking_number="3SABCD1234567",
            tracking_url="https://jouw.postnl.nl/track-and-trace/3SABCD1234567",
            updated_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        ),
        source="shopify",
    )
    page = staff_client.get(f"/shops/{shop.slug}/orders/{order.pk}/").content.decode()

    timeline = page[page.index('id="timeline"') :]
    labels = ["Order placed", "Payment received", "Shipped", "Shipment update", "Refunded"]
    positions = [timeline.index(label) for label in labels]
    assert positions == sorted(positions), "newest last"
    assert "In transit" in timeline and "Grinder arrived dented" in timeline

    assert 'href="https://jouw.postnl.nl/track-and-trace/3SABCD1234567"' in page
    assert "PostNL" in page
    assert "Ethiopia Yirgacheffe 500 g" in page
    # Amounts in the shop's locale (the roastery sells in Dutch).
    assert "€ 42,50" in page and "€ 10,00" in page
    assert f'href="/shops/{shop.slug}/customers/{order.customer_id}/"' in page


def test_a_tracking_url_that_is_not_a_web_link_is_not_rendered_as_one(staff_client, shop):
    order = place_order(
        shop,
        "1001",
        shipments=[
            ShipmentData(
                external_id="s1",
                carrier="Evil",
                tracking_number="X1",
                tracking_url="javascript:alert(1)",
            )
        ],
    )
    page = staff_client.get(f"/shops/{shop.slug}/orders/{order.pk}/").content.decode()
    assert "javascript:alert" not in page
    assert "X1" in page


def test_money_follows_the_shops_locale(client, other_shop):
    from tests.dashboard.conftest import make_user

    client.force_login(make_user("tom", shops=[other_shop]))
    order = place_order(other_shop, "9001", total="1234.50")
    page = client.get(f"/shops/{other_shop.slug}/orders/{order.pk}/").content.decode()
    assert "£1,234.50" in page
