"""A return's refund sent to the store, against stand-ins that answer as Shopify's refund
API and WooCommerce's order refunds do (tests/fixtures/sync/refund_stores.py)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftercart.integrations import intake
from aftercart.integrations.services import connect_store
from aftercart.integrations.settlements import send_settlements
from aftercart.integrations.sync.client import StoreClient
from aftercart.orders.queries import order_detail
from aftercart.orders.records import LineData
from aftercart.orders.services import record_order
from aftercart.returns.models import Settlement
from aftercart.returns.services import (
    ReturnAsk,
    ReturnProblem,
    receive_return,
    request_return,
)
from aftercart.returns.settlements import (
    settle_return,
)
from tests.conftest import SHOPIFY_SECRET, WOO_SECRET
from tests.fixtures.sync.refund_stores import (
    PAYMENT,
    ShopifyDraftOrders,
    ShopifyRefunds,
    WooRefunds,
)
from tests.fixtures.sync.stores import TOKEN, serve
from tests.returns.conftest import order_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("after_delivery")]
ORDER = "450789469"
LINES = [
    LineData(external_id="518995019", title="Linen shirt", quantity=2, unit_price=Decimal("30")),
    LineData(external_id="518995020", title="Tea towel", quantity=1, unit_price=Decimal("20")),
]


@pytest.fixture
def waits(monkeypatch):
    """The waits a store asked for, counted instead of slept."""
    asked = []
    monkeypatch.setattr(StoreClient, "wait", lambda self, seconds, why: asked.append(seconds))
    return asked


def shopify_order(shop, store_url: str):
    connect_store(
        shop, "shopify", webhook_secret=SHOPIFY_SECRET, store_url=store_url, access_token=TOKEN
    )
    data = order_data(external_id=ORDER, source="shopify", lines=LINES, total=Decimal("80.00"))
    return record_order(shop, data).order


def shirts_received(shop, order, quantity=2):
    line = next(ln for ln in order.lines.all() if ln.external_id == "518995019")
    ask = ReturnAsk(quantities={line.pk: quantity}, reason="does_not_fit")
    ret = request_return(shop, order, ask, source="portal")
    receive_return(ret, by="sam")
    return ret


@pytest.fixture
def refund_store(shop):
    with serve(
        ShopifyRefunds(ORDER, {"518995019": Decimal(30), "518995020": Decimal(20)}, Decimal(80))
    ) as store:
        order = shopify_order(shop, store.url)
        yield store, order


def test_the_refund_reaches_shopify_through_a_429_and_a_5xx(shop, refund_store, waits):
    store, order = refund_store
    store.faults = ["429", "503"]
    settlement = settle_return(shirts_received(shop, order), by="sam")
    assert settlement.status == "pending"  # for the store, not for an agent

    assert send_settlements.call() == {"sent": 1, "failed": 0, "later": 0}

    settlement.refresh_from_db()
    assert settlement.status == "done" and settlement.external_id == "929361460"
    [made] = store.refunds  # one refund, whatever was retried
    assert made["transactions"] == [
        {
            "parent_id": PAYMENT,
            "amount": "60.00",
            "kind": "refund",
            "gateway": "shopify_payments",
            "status": "success",
        }
    ]
    assert made["notify"] is False  # she hears it from us
    assert "R1001-1" in made["note"]
    assert [
        (ln["line_item_id"], ln["quantity"], ln["restock_type"]) for ln in made["refund_line_items"]
    ] == [(518995019, 2, "return")]
    assert waits[0] == 1.0  # the 429's Retry-After, then a look before sending again
    creates = [r for r in store.requests if r.method == "POST" and r.path.endswith("/refunds.json")]
    assert len(creates) == 3
    detail = order_detail(shop, pk=order.pk)
    assert detail.refunded == Decimal("60.00")
    assert settlement.request.__class__.objects.get(pk=settlement.request_id).status == "completed"


def test_an_answer_lost_after_the_refund_was_made_does_not_refund_twice(shop, refund_store, waits):
    store, order = refund_store
    store.faults = ["502-after-making"]
    settle_return(shirts_received(shop, order), by="sam")
    assert send_settlements.call()["sent"] == 1
    assert len(store.refunds) == 1
    assert Settlement.objects.get().external_id == str(store.refunds[0]["id"])
    assert order_detail(shop, pk=order.pk).refunded == Decimal("60.00")


def test_a_refund_the_store_refuses_is_failed_with_its_words(shop, refund_store, waits):
    store, order = refund_store
    store.paid = Decimal("50.00")  # refunded elsewhere meanwhile: less left than asked
    settle_return(shirts_received(shop, order), by="sam")
    assert send_settlements.call() == {"sent": 0, "failed": 1, "later": 0}
    settlement = Settlement.objects.get()
    assert settlement.status == "failed"
    assert "can refund 50.00 of this order's payments, not 60.00" in settlement.error
    assert not store.refunds
    assert settlement.request.lines.get().refunded_quantity == 0  # free to settle again


def test_an_unreachable_store_is_tried_again_later(shop, waits):
    with serve(ShopifyRefunds(ORDER, {}, Decimal(0))) as store:
        url = store.url
    order = shopify_order(shop, url)  # nothing listens there any more
    settle_return(shirts_received(shop, order), by="sam")
    assert send_settlements.call() == {"sent": 0, "failed": 0, "later": 1}
    settlement = Settlement.objects.get()
    assert (settlement.status, settlement.attempts) == ("pending", 1)
    assert "cannot reach Shopify" in settlement.error
    assert settlement.next_attempt_at > datetime.now(UTC)
    assert send_settlements.call() == {"sent": 0, "failed": 0, "later": 0}  # not due yet


def test_the_stores_webhook_for_our_refund_is_the_same_refund(shop, refund_store, waits, shopify):
    store, order = refund_store
    settle_return(shirts_received(shop, order), by="sam")
    send_settlements.call()
    made = store.refunds[0]
    webhook = {
        "id": made["id"],
        "order_id": int(ORDER),
        "created_at": "2026-11-20T12:00:00Z",
        "note": made["note"],
        "refund_line_items": [],
        "transactions": [{"amount": "60.00", "kind": "refund", "status": "success"}],
    }
    assert shopify(shop, "refunds/create", webhook, event_id="refund-1").status_code == 200
    intake.drain()
    detail = order_detail(shop, pk=order.pk)
    assert detail.refunded == Decimal("60.00")
    assert detail.refunds.count() == 1


def test_the_refund_reaches_woocommerce(shop, waits):
    with serve(WooRefunds("727")) as store:
        connect_store(
            shop,
            "woocommerce",
            webhook_secret=WOO_SECRET,
            store_url=store.url,
            consumer_key=WooRefunds.KEY,
            consumer_secret=WooRefunds.SECRET,
        )
        data = order_data(
            external_id="727",
            source="woocommerce",
            lines=[
                LineData(external_id="315", title="Linen shirt", quantity=2, unit_price=Decimal(30))
            ],
        )
        order = record_order(shop, data).order
        line = order.lines.get()
        ret = request_return(shop, order, ReturnAsk({line.pk: 1}, "does_not_fit"), source="portal")
        receive_return(ret, by="sam")
        settle_return(ret, by="sam")
        assert send_settlements.call()["sent"] == 1
    [made] = store.refunds
    assert made["amount"] == "30.00" and made["api_refund"] is True
    assert made["line_items"] == [{"id": 315, "quantity": 1}]
    assert Settlement.objects.get().external_id == "726"


def test_an_order_from_a_csv_import_is_refunded_by_an_agent(shop, refund_store, waits):
    # The shop has a Shopify connection, but this order did not come from it.
    order = record_order(shop, order_data(number="2002", source="csv")).order
    ret = request_return(
        shop, order, ReturnAsk({order.lines.first().pk: 1}, "does_not_fit"), source="portal"
    )
    receive_return(ret, by="sam")
    assert settle_return(ret, by="sam").status == "manual"
    assert send_settlements.call() == {"sent": 0, "failed": 0, "later": 0}


# Exchanges: a Shopify draft order for what she chose, at no charge ------------------------

SHIRTS = [
    LineData(
        external_id="518995019",
        title="Linen shirt",
        variant_title="M",
        quantity=1,
        unit_price=Decimal("30"),
        product_external_id="632910392",
        variant_external_id="808950810",
    )
]


@pytest.fixture
def drafts(shop):
    with serve(ShopifyDraftOrders(others=300)) as store:  # ours is not on the first page
        connect_store(
            shop, "shopify", webhook_secret=SHOPIFY_SECRET, store_url=store.url, access_token=TOKEN
        )
        yield store


def shirt_in_m_and_l(shop):
    # Another order taught us the L (every variant we know of comes from orders).
    other = [
        LineData(
            external_id="1",
            title="Linen shirt",
            variant_title="L",
            quantity=1,
            unit_price=Decimal("30"),
            product_external_id="632910392",
            variant_external_id="808950811",
        )
    ]
    record_order(shop, order_data(number="900", external_id="900", source="shopify", lines=other))
    data = order_data(
        external_id=ORDER,
        source="shopify",
        lines=SHIRTS,
        shipping_name="Anne de Vries",
        shipping_city="Utrecht",
        shipping_postcode="3511 AB",
        shipping_address={"address1": "Oudegracht 1"},
    )
    return record_order(shop, data).order


def exchange_for_l(shop, order):
    line = order.lines.get()
    ask = ReturnAsk(
        {line.pk: 1},
        "does_not_fit",
        resolution="exchange",
        exchange_variants={line.pk: "808950811"},
    )
    ret = request_return(shop, order, ask, source="portal")
    receive_return(ret, by="sam")
    return ret


def test_an_exchange_becomes_a_free_order_of_the_chosen_variant(shop, drafts, waits):
    order = shirt_in_m_and_l(shop)
    drafts.faults = ["429", "502-after-making"]
    ret = exchange_for_l(shop, order)
    assert ret.lines.get().exchange_variant_title == "L"
    settlement = settle_return(ret, by="sam")
    assert (settlement.kind, settlement.status) == ("exchange", "pending")
    assert settlement.items == [
        {"line": "518995019", "quantity": 1, "variant": "808950811", "variant_title": "L"}
    ]

    assert send_settlements.call() == {"sent": 1, "failed": 0, "later": 0}

    [draft] = drafts.ours()  # the lost answer was looked up, not sent again
    assert draft["line_items"] == [{"variant_id": 808950811, "quantity": 1}]
    assert draft["applied_discount"]["value"] == "100.0"
    assert draft["shipping_address"]["address1"] == "Oudegracht 1"
    assert draft["shipping_address"]["zip"] == "3511 AB"
    assert "R1001-1" in draft["note"] and draft["status"] == "completed"
    settlement.refresh_from_db()
    assert settlement.external_id == str(draft["order_id"])
    ret.refresh_from_db()
    assert ret.status == "completed"
    assert order_detail(shop, pk=order.pk).refunded == Decimal("0.00")  # an exchange, not money


def test_an_exchange_described_in_words_goes_to_an_agent(shop, drafts, waits):
    order = shirt_in_m_and_l(shop)
    line = order.lines.get()
    ask = ReturnAsk({line.pk: 1}, "does_not_fit", resolution="exchange", exchange_for="Blue, L")
    ret = request_return(shop, order, ask, source="portal")
    receive_return(ret, by="sam")
    assert settle_return(ret, by="sam").status == "manual"


def test_a_variant_of_another_product_is_refused(shop, drafts):
    order = shirt_in_m_and_l(shop)
    line = order.lines.get()
    ask = ReturnAsk(
        {line.pk: 1}, "does_not_fit", resolution="exchange", exchange_variants={line.pk: "999"}
    )
    with pytest.raises(ReturnProblem, match="'999' is not a variant of it"):
        request_return(shop, order, ask, source="portal")


def test_another_settlements_refund_is_not_taken_for_this_one(shop, refund_store, waits):
    store, order = refund_store
    settlement = settle_return(shirts_received(shop, order, quantity=1), by="sam")
    # A refund the store made for another settlement whose number starts with this one's
    # (26 and 261): its note must not be taken for this one's.
    other = f"[aftercart:s{settlement.pk}1]"
    store.refunds.append({"id": 5, "note": f"Aftercart return R9-1 {other}", "transactions": []})
    send_settlements.call()
    settlement.refresh_from_db()
    assert settlement.status == "done" and settlement.external_id != "5"
    assert len(store.refunds) == 2


def test_a_sender_out_of_time_stops_instead_of_waiting(shop):
    import time as clock

    from aftercart.integrations.sync.client import SyncError

    slept = []
    client = StoreClient(
        "http://127.0.0.1:9", name="Shopify", sleep=slept.append, deadline=clock.monotonic() + 5
    )
    client.wait(1.0, "HTTP 429")  # within its time: waits
    with pytest.raises(SyncError, match="out of time for this attempt"):
        client.wait(30.0, "HTTP 429")  # would end after its claim's budget: gives up
    assert slept == [1.0]


def test_a_completed_draft_whose_answer_was_lost_is_not_made_again(shop, drafts, waits):
    order = shirt_in_m_and_l(shop)
    drafts.faults = ["502-after-completing"]  # completed in Shopify; the answer lost
    settle_return(exchange_for_l(shop, order), by="sam")
    assert send_settlements.call() == {"sent": 0, "failed": 0, "later": 1}
    settlement = Settlement.objects.get()
    [draft] = drafts.ours()
    assert settlement.store_ref == str(draft["id"]) and draft["order_id"]

    Settlement.objects.filter(pk=settlement.pk).update(next_attempt_at=None)
    assert send_settlements.call() == {"sent": 1, "failed": 0, "later": 0}
    assert len(drafts.ours()) == 1  # one free order, not two
    settlement.refresh_from_db()
    assert settlement.external_id == str(draft["order_id"])


def test_a_dearer_variant_is_not_offered_for_an_exchange(shop, drafts):
    dear = [
        LineData(
            external_id="2",
            title="Linen shirt",
            variant_title="Gift box of 3",
            quantity=1,
            unit_price=Decimal("90"),
            product_external_id="632910392",
            variant_external_id="808950899",
        )
    ]
    record_order(shop, order_data(number="901", external_id="901", source="shopify", lines=dear))
    order = shirt_in_m_and_l(shop)
    line = order.lines.get()
    from aftercart.orders.queries import order_with_items
    from aftercart.returns.queries import exchange_options

    assert exchange_options(order_with_items(shop, order.pk)) == {line.pk: [("808950811", "L")]}
    ask = ReturnAsk(
        {line.pk: 1},
        "does_not_fit",
        resolution="exchange",
        exchange_variants={line.pk: "808950899"},
    )
    with pytest.raises(ReturnProblem, match="'808950899' is not a variant of it"):
        request_return(shop, order, ask, source="portal")


def test_a_send_that_would_outlast_its_budget_is_tried_again_later(shop, refund_store, monkeypatch):
    from datetime import timedelta

    from aftercart.returns import settlements

    store, order = refund_store
    store.faults = ["429-long"]
    monkeypatch.setattr(settlements, "SEND_BUDGET", timedelta(seconds=5))
    settle_return(shirts_received(shop, order), by="sam")
    assert send_settlements.call() == {"sent": 0, "failed": 0, "later": 1}
    assert "out of time" in Settlement.objects.get().error
    assert not store.refunds
