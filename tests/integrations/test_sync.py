"""Reconciliation (aftercart.integrations.sync) against stand-in stores on 127.0.0.1.

The stand-ins (tests/fixtures/sync/stores.py) answer as the Shopify GraphQL Admin API and
the WooCommerce REST API document; retries are asserted by counting requests.
"""

import copy
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from aftercart import cli
from aftercart.core import schedule
from aftercart.integrations.models import StoreConnection
from aftercart.integrations.services import connect_store
from aftercart.integrations.sync import service
from aftercart.integrations.sync import shopify as shopify_sync
from aftercart.integrations.sync import woocommerce as woo_sync
from aftercart.integrations.sync.client import StoreRefused, SyncError
from aftercart.integrations.sync.tasks import INTERVAL, reconcile_store, reconcile_stores
from aftercart.orders.models import Order, OrderEvent, Shipment
from tests.conftest import SHOPIFY_SECRET, WOO_SECRET, load
from tests.fixtures.sync.stores import TOKEN, Request, ShopifyStore, Store, WooStore, serve

# #1001 as the GraphQL API returns it: fulfilled, a newer version than the webhook fixture.
SHOPIFY_ORDER = load("sync/shopify_order.json")
WOO_ORDER = load("sync/woocommerce_order.json")
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def shopify_order(number: int, updated_at: str, **fields) -> dict:
    node = copy.deepcopy(SHOPIFY_ORDER)
    if number != 1001:
        node.update(
            id=f"gid://shopify/Order/{5000000000 + number}",
            name=f"#{number}",
            fulfillments=[],
            displayFulfillmentStatus="UNFULFILLED",
        )
    node["updatedAt"] = updated_at
    node.update(fields)
    return node


def woo_order(order_id: int, modified_gmt: str, **fields) -> dict:
    return {
        **copy.deepcopy(WOO_ORDER),
        "id": order_id,
        "number": str(order_id),
        "date_modified_gmt": modified_gmt,
        **fields,
    }


def connect_shopify(shop, url: str, token: str) -> None:
    connect_store(shop, "shopify", webhook_secret=SHOPIFY_SECRET, store_url=url, access_token=token)


@pytest.fixture
def shopify_store(shop):
    with serve(ShopifyStore()) as store:
        connect_shopify(shop, store.url, TOKEN)
        yield store


@pytest.fixture
def woo_store(shop):
    with serve(WooStore()) as store:
        connect_store(
            shop,
            "woocommerce",
            webhook_secret=WOO_SECRET,
            store_url=store.url,
            consumer_key=WooStore.KEY,
            consumer_secret=WooStore.SECRET,
        )
        yield store


def connection(shop, platform: str) -> StoreConnection:
    return StoreConnection.objects.select_related("shop").get(shop=shop, platform=platform)


def timeline(order: Order) -> list[str]:
    return list(order.events.order_by("occurred_at", "id").values_list("external_id", flat=True))


def tally(report: service.SyncReport) -> str:
    return (
        f"{report.pages} pages, {report.fetched} fetched: {report.created} created, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.failed} failed"
    )


def orders_query_requests(store: Store) -> list[Request]:
    return [r for r in store.requests if "AftercartSyncOrders(" in r.json()["query"]]


# --- Shopify -------------------------------------------------------------------------------


def test_shopify_pages_are_followed_and_rate_limits_waited_out(shop, shopify_store, monkeypatch):
    monkeypatch.setattr(shopify_sync, "PAGE_SIZE", 2)
    shopify_store.orders = [
        SHOPIFY_ORDER,
        shopify_order(1002, "2026-11-04T09:00:00Z"),
        shopify_order(
            1003, "2026-11-04T10:00:00Z", totalPriceSet={"shopMoney": {"amount": "59.9"}}
        ),
        shopify_order(990, "2026-10-20T09:00:00Z"),  # changed before --since: not asked for
    ]
    shopify_store.rate_limit = "1"
    shopify_store.throttle_once_after_first_page = True

    report = service.sync_connection(connection(shop, "shopify"), SINCE)

    # 429, page 1, THROTTLED, page 2 again after waiting, with the first page's cursor.
    assert len(shopify_store.requests) == 4
    sent = [r.json()["variables"] for r in shopify_store.requests]
    assert [v["after"] for v in sent] == [None, None, "order:2", "order:2"]
    assert sent[0]["search"] == "updated_at:>='2026-11-01T00:00:00Z'"
    assert tally(report) == "2 pages, 3 fetched: 3 created, 0 updated, 0 unchanged, 0 failed"

    assert set(Order.objects.filter(shop=shop).values_list("number", flat=True)) == {
        "#1001",
        "#1002",
        "#1003",
    }
    assert Order.objects.get(number="#1003").total == Decimal("59.90")
    order = Order.objects.get(shop=shop, external_id="820982911946154508")
    assert (order.total, order.subtotal, order.discounts, order.shipping, order.tax) == (
        Decimal("133.18"),
        Decimal("118.80"),
        Decimal("13.20"),
        Decimal("4.95"),
        Decimal("23.11"),
    )
    assert (order.financial_status, order.fulfilment_status, order.discount_codes) == (
        "paid",
        "fulfilled",
        ["WELCOME10"],
    )
    assert (order.shipping_country, order.shipping_postcode, order.locale) == (
        "NL",
        "1016 GV",
        "nl",
    )
    lines = list(
        order.lines.values_list("external_id", "sku", "quantity", "unit_price", "discount", "total")
    )
    assert lines == [
        (
            "866550311766439020",
            "COF-ETH-500",
            2,
            Decimal("18.50"),
            Decimal("3.70"),
            Decimal("33.30"),
        ),
        (
            "141249953214522974",
            "GRD-HAND-STL",
            1,
            Decimal("89.00"),
            Decimal("8.90"),
            Decimal("80.10"),
        ),
        ("518995019", "FLT-V60-100", 1, Decimal("6.00"), Decimal("0.60"), Decimal("5.40")),
    ]
    shipment = order.shipments.get()
    assert (shipment.external_id, shipment.carrier, shipment.tracking_number, shipment.status) == (
        "255858046",
        "PostNL",
        "3SABCD1234567",
        "in_transit",
    )
    assert shipment.items == [
        {"line": "866550311766439020", "quantity": 2},
        {"line": "141249953214522974", "quantity": 1},
        {"line": "518995019", "quantity": 1},
    ]
    assert order.customer.email == "jon@example.com"
    assert order.customer.accepts_marketing is True
    assert set(timeline(order)) == {
        "placed",
        "paid",
        "shipment:255858046:created",
        "shipment:255858046:in_transit",
    }
    assert connection(shop, "shopify").last_synced_at is not None


def test_a_second_sync_changes_nothing(shop, shopify_store):
    shopify_store.orders = [SHOPIFY_ORDER, shopify_order(1002, "2026-11-04T09:00:00Z")]
    service.sync_connection(connection(shop, "shopify"), SINCE)
    before = list(Order.objects.order_by("pk").values_list("pk", "updated_at"))
    events = OrderEvent.objects.count()

    again = service.sync_connection(connection(shop, "shopify"), SINCE)

    assert tally(again) == "1 pages, 2 fetched: 0 created, 0 updated, 2 unchanged, 0 failed"
    assert list(Order.objects.order_by("pk").values_list("pk", "updated_at")) == before
    assert OrderEvent.objects.count() == events
    assert Shipment.objects.count() == 1


def test_an_order_received_by_webhook_is_matched_not_duplicated(
    shop, shopify, drain, shopify_store
):
    assert (
        shopify(
            shop, "orders/create", load("shopify/orders_create.json"), event_id="e1"
        ).status_code
        == 200
    )
    drain()
    order = Order.objects.get(shop=shop)
    assert timeline(order) == ["placed", "paid"]

    # The same version as the webhook's (10:26:45Z is 11:26:45+01:00): nothing to do.
    same = shopify_order(
        1001, "2026-11-02T10:26:45Z", fulfillments=[], displayFulfillmentStatus="UNFULFILLED"
    )
    shopify_store.orders = [same]
    report = service.sync_connection(connection(shop, "shopify"), SINCE)
    assert tally(report) == "1 pages, 1 fetched: 0 created, 0 updated, 1 unchanged, 0 failed"

    # The fulfilment webhook was lost, and the order's own updated_at did not move.
    shopify_store.orders = [{**same, "fulfillments": SHOPIFY_ORDER["fulfillments"]}]
    report = service.sync_connection(connection(shop, "shopify"), SINCE)
    assert tally(report) == "1 pages, 1 fetched: 0 created, 1 updated, 0 unchanged, 0 failed"
    assert order.shipments.get().tracking_number == "3SABCD1234567"

    # The store's newer version: applied on top, still one order.
    shopify_store.orders = [SHOPIFY_ORDER]
    report = service.sync_connection(connection(shop, "shopify"), SINCE)
    assert tally(report) == "1 pages, 1 fetched: 0 created, 1 updated, 0 unchanged, 0 failed"
    assert Order.objects.filter(shop=shop).count() == 1
    order.refresh_from_db()
    assert order.fulfilment_status == "fulfilled"
    assert order.shipments.count() == 1
    assert order.lines.count() == 3
    assert sorted(timeline(order)) == sorted(
        ["placed", "paid", "shipment:255858046:created", "shipment:255858046:in_transit"]
    )


def test_an_order_with_more_lines_than_one_page_gets_them_all(shop, shopify_store):
    node = copy.deepcopy(SHOPIFY_ORDER)
    template = node["lineItems"]["nodes"][2]
    node["lineItems"]["nodes"] = [
        {**template, "id": f"gid://shopify/LineItem/{900 + i}", "sku": f"SKU-{i}"}
        for i in range(60)
    ]
    shopify_store.orders = [node]

    report = service.sync_connection(connection(shop, "shopify"), SINCE)

    assert report.created == 1
    follow_ups = [
        r for r in shopify_store.requests if "AftercartSyncOrderLines" in r.json()["query"]
    ]
    assert [r.json()["variables"]["after"] for r in follow_ups] == ["line:25"]
    order = Order.objects.get(shop=shop)
    assert list(order.lines.values_list("sku", flat=True)) == [f"SKU-{i}" for i in range(60)]


def test_a_page_too_costly_for_one_query_is_asked_for_in_smaller_pages(shop, shopify_store):
    shopify_store.max_first = 1
    shopify_store.orders = [SHOPIFY_ORDER, shopify_order(1002, "2026-11-04T09:00:00Z")]

    report = service.sync_connection(connection(shop, "shopify"), SINCE)

    assert (report.pages, report.created) == (2, 2)
    assert [r.json()["variables"]["first"] for r in orders_query_requests(shopify_store)] == [
        5,
        1,
        1,
    ]


def test_one_unreadable_order_is_reported_and_the_others_applied(shop, shopify_store):
    broken = shopify_order(1004, "2026-11-04T11:00:00Z", totalPriceSet=None)
    shopify_store.orders = [SHOPIFY_ORDER, broken, shopify_order(1005, "2026-11-04T12:00:00Z")]

    report = service.sync_connection(connection(shop, "shopify"), SINCE)

    assert tally(report) == "1 pages, 3 fetched: 2 created, 0 updated, 0 unchanged, 1 failed"
    assert report.failures == [("#1004", "total_price: is required")]
    assert not Order.objects.filter(number="#1004").exists()


def test_a_wrong_token_is_a_clear_error_and_changes_nothing(shop, shopify_store):
    connect_shopify(shop, shopify_store.url, "shpat_revoked")
    shopify_store.orders = [SHOPIFY_ORDER]

    with pytest.raises(
        StoreRefused, match=r"refused the credentials \(HTTP 401: \[API\] Invalid API key"
    ):
        service.sync_connection(connection(shop, "shopify"), SINCE)
    assert not Order.objects.exists()
    assert connection(shop, "shopify").last_synced_at is None


def test_a_store_asking_for_an_hour_long_wait_fails_the_sync_instead(shop, shopify_store):
    shopify_store.rate_limit = "3600"
    with pytest.raises(SyncError, match="asks us to wait 3600 s"):
        service.sync_connection(connection(shop, "shopify"), SINCE)
    assert len(shopify_store.requests) == 1


# --- WooCommerce ---------------------------------------------------------------------------


def test_woocommerce_pages_are_followed_and_rate_limits_waited_out(shop, woo_store, monkeypatch):
    monkeypatch.setattr(woo_sync, "PER_PAGE", 2)
    woo_store.orders = [
        WOO_ORDER,
        woo_order(728, "2026-11-05T15:00:00", status="completed"),
        woo_order(729, "2026-11-06T08:00:00", total="12.00"),
        woo_order(700, "2026-10-01T08:00:00"),  # before --since
    ]
    woo_store.rate_limit = "1"

    report = service.sync_connection(connection(shop, "woocommerce"), SINCE)

    assert len(woo_store.requests) == 3  # 429, page 1 again, page 2
    assert [r.query["page"] for r in woo_store.requests] == [["1"], ["1"], ["2"]]
    assert woo_store.requests[0].query["modified_after"] == ["2026-11-01T00:00:00"]
    assert tally(report) == "2 pages, 3 fetched: 3 created, 0 updated, 0 unchanged, 0 failed"
    order = Order.objects.get(shop=shop, external_id="727")
    assert (order.total, order.discounts, order.shipping, order.tax) == (
        Decimal("46.30"),
        Decimal("5.00"),
        Decimal("6.95"),
        Decimal("7.35"),
    )
    assert list(order.lines.values_list("sku", "quantity", "unit_price", "discount")) == [
        ("TEA-DARJ-100", 2, Decimal("12.50"), Decimal("5.00")),
        ("POT-GLS-1L", 1, Decimal("12.00"), Decimal("0.00")),
    ]
    assert Order.objects.get(external_id="728").fulfilment_status == "fulfilled"

    events = OrderEvent.objects.count()
    again = service.sync_connection(connection(shop, "woocommerce"), SINCE)
    assert tally(again) == "2 pages, 3 fetched: 0 created, 0 updated, 3 unchanged, 0 failed"
    assert OrderEvent.objects.count() == events


def test_woocommerce_wrong_keys_are_a_clear_error(shop, woo_store):
    connect_store(
        shop,
        "woocommerce",
        webhook_secret=WOO_SECRET,
        store_url=woo_store.url,
        consumer_key="ck_x",
        consumer_secret="cs_x",
    )
    with pytest.raises(StoreRefused, match="HTTP 401: Sorry, you cannot list resources"):
        service.sync_connection(connection(shop, "woocommerce"), SINCE)


# --- the command ---------------------------------------------------------------------------


def test_command_syncs_then_reports_everything_unchanged(shop, shopify_store, capsys):
    shopify_store.orders = [SHOPIFY_ORDER, shopify_order(1002, "2026-11-04T09:00:00Z")]

    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 0
    out, err = capsys.readouterr()
    assert "2 fetched in 1 page(s): 2 created, 0 updated, 0 unchanged, 0 failed" in out
    # The fixture's WooCommerce connection has no API keys: said, not fatal.
    assert "woocommerce: skipped, no REST API consumer key and secret" in err

    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 0
    out, _ = capsys.readouterr()
    assert "2 fetched in 1 page(s): 0 created, 0 updated, 2 unchanged, 0 failed" in out
    assert Order.objects.filter(shop=shop).count() == 2


def test_command_lists_failed_orders_and_exits_1(shop, shopify_store, capsys):
    shopify_store.orders = [
        SHOPIFY_ORDER,
        shopify_order(1004, "2026-11-04T11:00:00Z", totalPriceSet=None),
    ]

    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 1
    out, _ = capsys.readouterr()
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in out
    assert "  failed #1004: total_price: is required" in out


def test_command_with_a_wrong_token_gives_one_line_and_exit_1(shop, shopify_store, capsys):
    connect_shopify(shop, shopify_store.url, "wrong")

    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 1
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("aftercart: error:")]
    assert errors == [
        f"aftercart: error: shopify: Shopify at {shopify_store.url} refused the credentials "
        "(HTTP 401: [API] Invalid API key or access token (unrecognized login or wrong password)); "
        "check them with `aftercart shop connect`"
    ]
    assert out == ""


def test_command_with_an_unreachable_store_gives_one_line_and_exit_1(shop, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connect_shopify(shop, f"http://127.0.0.1:{port}", TOKEN)

    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("aftercart: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"aftercart: error: shopify: cannot reach Shopify at http://127.0.0.1:{port}"
    )


def test_command_without_any_api_credentials_says_how_to_add_them(shop, capsys):
    assert cli.main(["sync", shop.slug, "--since", "2026-11-01"]) == 1
    err = capsys.readouterr().err
    assert "aftercart: error: shop roastery has no store connection with API credentials" in err
    assert "--token" in err


# --- the periodic task ---------------------------------------------------------------------


def test_periodic_sync_is_scheduled_every_15_minutes():
    job = next(j for j in schedule.jobs() if j.name == "integrations.reconcile")
    assert job.every == INTERVAL == timedelta(minutes=15)
    assert job.task is reconcile_stores


def test_periodic_sync_resumes_an_hour_before_the_last_one(shop, shopify_store):
    shopify_store.orders = [SHOPIFY_ORDER, shopify_order(1002, "2026-11-03T11:30:00Z")]
    shopify = connection(shop, "shopify")
    # Only connections with API credentials are synced (the WooCommerce one has none).
    assert reconcile_stores.call() == [shopify.pk]

    with time_machine.travel(datetime(2026, 11, 3, 12, 0, tzinfo=UTC), tick=False):
        first = reconcile_store.call(shopify.pk)
    assert first["created"] == 2
    assert (
        shopify_store.requests[-1].json()["variables"]["search"]
        == "updated_at:>='2026-11-02T12:00:00Z'"
    )
    assert connection(shop, "shopify").last_synced_at == datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

    with time_machine.travel(datetime(2026, 11, 3, 12, 15, tzinfo=UTC), tick=False):
        second = reconcile_store.call(shopify.pk)
    # Only #1002 changed within the overlap; it is read again and left as it is.
    assert (second["fetched"], second["created"], second["unchanged"]) == (1, 0, 1)
    assert (
        shopify_store.requests[-1].json()["variables"]["search"]
        == "updated_at:>='2026-11-03T11:00:00Z'"
    )
    assert connection(shop, "shopify").last_synced_at == datetime(2026, 11, 3, 12, 15, tzinfo=UTC)


def test_periodic_sync_of_an_unreachable_store_keeps_its_mark(shop, shopify_store):
    mark = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    StoreConnection.objects.filter(shop=shop, platform="shopify").update(last_synced_at=mark)
    connect_shopify(shop, shopify_store.url, "revoked")

    result = reconcile_store.call(connection(shop, "shopify").pk)

    assert "HTTP 401" in result["error"]
    assert connection(shop, "shopify").last_synced_at == mark


def test_a_narrow_manual_sync_does_not_hide_an_older_gap(shop, shopify_store):
    mark = datetime(2026, 11, 1, tzinfo=UTC)
    StoreConnection.objects.filter(shop=shop, platform="shopify").update(last_synced_at=mark)

    service.sync_connection(connection(shop, "shopify"), datetime(2026, 11, 3, tzinfo=UTC))
    assert connection(shop, "shopify").last_synced_at == mark

    service.sync_connection(connection(shop, "shopify"), mark)
    assert connection(shop, "shopify").last_synced_at > mark
