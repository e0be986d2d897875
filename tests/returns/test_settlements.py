"""What is given back stays right when refunds fail, overlap, or go through two hands."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from aftercart.orders.queries import order_detail
from aftercart.orders.records import RefundData
from aftercart.orders.services import record_order, record_refund
from aftercart.returns.models import ReturnRequest, Settlement
from aftercart.returns.policies import save_policy
from aftercart.returns.queries import returned_quantities
from aftercart.returns.services import ReturnAsk, ReturnProblem, receive_return, request_return
from aftercart.returns.settlements import (
    MAX_ATTEMPTS,
    claim_settlement,
    settle_return,
    settlement_done,
    settlement_failed,
    settlement_later,
)
from tests.returns.conftest import lines_of, order_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("after_delivery")]


@pytest.fixture
def order(shop):
    return record_order(shop, order_data()).order


def received(shop, order, resolution="refund", **quantities):
    ids = lines_of(order)
    ask = ReturnAsk({ids[k]: n for k, n in quantities.items()}, "does_not_fit", resolution)
    ret = request_return(shop, order, ask, source="portal")
    receive_return(ret, by="sam")
    return ret


def to_store(settlement):
    """As if the shop had a store to send it to: pending, and claimed by a worker."""
    Settlement.objects.filter(pk=settlement.pk).update(status="pending")
    return claim_settlement(settlement.pk)


def test_a_refund_never_confirmed_goes_to_an_agent_and_keeps_its_items(shop, order):
    ret = received(shop, order, L1=2)
    settlement = settle_return(ret, by="sam")
    for attempt in range(MAX_ATTEMPTS):
        claimed = to_store(settlement) if attempt == 0 else _due_again(settlement)
        settlement_later(
            claimed, error="Shopify did not answer in time", claimed_at=claimed.claimed_at
        )
    settlement.refresh_from_db()
    assert settlement.status == "manual"
    assert "still unconfirmed after 5 tries" in settlement.error
    assert f"[aftercart:s{settlement.pk}]" in settlement.error
    # Its shirts stay held: they may have been refunded.
    assert ret.lines.get().refunded_quantity == 2
    with pytest.raises(ReturnProblem, match="nothing received is left to settle"):
        settle_return(ret, by="sam")


def _due_again(settlement):
    Settlement.objects.filter(pk=settlement.pk).update(next_attempt_at=None)
    return claim_settlement(settlement.pk)


def test_a_failed_refund_cannot_be_marked_done_nor_fail_twice(shop, order):
    ret = received(shop, order, L1=2)
    settlement = to_store(settle_return(ret, by="sam"))
    settlement_failed(settlement, error="refused", claimed_at=settlement.claimed_at)
    settlement_failed(settlement, error="refused again", claimed_at=settlement.claimed_at)
    again = settle_return(ret, by="sam", quantities={ret.lines.get().pk: 1})
    assert ret.lines.get().refunded_quantity == 1  # released once, held again by one
    with pytest.raises(ReturnProblem, match="failed and gave nothing back"):
        settlement_done(settlement, by="sam", external_id="x")
    pending = to_store(again)
    with pytest.raises(ReturnProblem, match="being sent to the store"):
        settlement_done(pending, by="sam", external_id="x")
    assert order_detail(shop, pk=order.pk).refunded == Decimal("0.00")


def test_a_worker_whose_claim_was_taken_over_changes_nothing(shop, order):
    ret = received(shop, order, L1=1)
    first = to_store(settle_return(ret, by="sam"))
    Settlement.objects.filter(pk=first.pk).update(
        claimed_at=datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    )
    settlement_failed(first, error="late answer", claimed_at=first.claimed_at)
    assert Settlement.objects.get(pk=first.pk).status == "sending"
    assert ret.lines.get().refunded_quantity == 1


def test_a_return_completes_only_when_nothing_is_under_way(shop, order):
    ret = received(shop, order, L1=2)
    shirt = ret.lines.get()
    manual = settle_return(ret, by="sam", quantities={shirt.pk: 1})
    done = settle_return(ret, by="sam", quantities={shirt.pk: 1})
    settlement_done(done, by="sam")
    ret.refresh_from_db()
    assert ret.status == "received"  # one refund still to be done in the store
    settlement_done(manual, by="sam")
    ret.refresh_from_db()
    assert ret.status == "completed"


def test_a_manual_refund_of_a_store_order_needs_the_stores_number(shop):
    order = record_order(shop, order_data(source="shopify")).order
    ret = received(shop, order, L3=1)
    settlement = settle_return(ret, by="sam")
    with pytest.raises(ReturnProblem, match="give the refund's number in Shopify"):
        settlement_done(settlement, by="sam")
    settlement_done(settlement, by="sam", external_id="929361463")
    assert order_detail(shop, pk=order.pk).refunds.get().external_id == "929361463"


def test_store_credit_counts_against_what_the_order_has_left(shop, order):
    save_policy(shop, {"store_credit_bonus_percent": "10"})
    ret = received(shop, order, resolution="store_credit", L1=2)
    record_refund(
        shop,
        order.external_id,
        RefundData(external_id="outside", amount=Decimal("100.00"), refunded_at=datetime.now(UTC)),
        source="shopify",
    )
    with pytest.raises(ReturnProblem, match="more than the 0.00 left to give back"):
        settle_return(ret, by="sam")


def test_credit_given_leaves_less_to_refund(shop, order):
    credit = received(shop, order, resolution="store_credit", L1=2)
    settle_return(credit, by="sam")  # 60 of the order's 100 back as credit
    record_refund(
        shop,
        order.external_id,
        RefundData(external_id="outside", amount=Decimal("30.00"), refunded_at=datetime.now(UTC)),
        source="shopify",
    )
    refund = received(shop, order, L2=1)  # the cup: 20, with 10 left
    with pytest.raises(ReturnProblem, match="20.00 EUR is more than the 10.00 left"):
        settle_return(refund, by="sam")


def test_items_the_store_refunded_itself_cannot_be_returned_again(shop, order):
    record_refund(
        shop,
        order.external_id,
        RefundData(
            external_id="r-admin",
            amount=Decimal("30.00"),
            refunded_at=datetime.now(UTC),
            items=[{"line": "L1", "quantity": 1}],
        ),
        source="shopify",
    )
    assert returned_quantities(order_detail(shop, pk=order.pk)) == {"L1": 1}


def test_a_request_key_of_another_order_is_refused(shop, order):
    other = record_order(shop, order_data(number="1002")).order
    ids, other_ids = lines_of(order), lines_of(other)
    request_return(
        shop, order, ReturnAsk({ids["L1"]: 1}, "does_not_fit", request_key="k1"), source="api"
    )
    with pytest.raises(ReturnProblem, match="'k1' was used for a return of another order"):
        request_return(
            shop,
            other,
            ReturnAsk({other_ids["L1"]: 1}, "does_not_fit", request_key="k1"),
            source="api",
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_requests_for_the_same_items_at_once_get_them_once(shop, order):
    ids = lines_of(order)
    results, start = [], threading.Barrier(2)

    def ask(key):
        start.wait()
        try:
            ask_ = ReturnAsk({ids["L3"]: 1}, "does_not_fit", request_key=key)
            results.append(request_return(shop, order, ask_, source="portal").number)
        except Exception as problem:  # noqa: BLE001  the loser's refusal is the point
            results.append(type(problem).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(k,)) for k in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["R1001-1", "ReturnRefused"]
    assert ReturnRequest.objects.count() == 1


def test_the_stores_late_yes_after_a_failure_holds_the_items_again(shop, order):
    ret = received(shop, order, L1=2)
    claimed = to_store(settle_return(ret, by="sam"))
    # Another worker took it over and was refused: the units were freed.
    settlement_failed(claimed, error="refused")
    assert ret.lines.get().refunded_quantity == 0
    # Then the first worker's refund turns out to have gone through.
    settlement_done(claimed, by="shopify", external_id="929", claimed_at=claimed.claimed_at)
    assert ret.lines.get().refunded_quantity == 2
    ret.refresh_from_db()
    assert ret.status == "completed"
    assert order_detail(shop, pk=order.pk).refunded == Decimal("60.00")
