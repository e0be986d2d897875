"""The life of a return, through returns.services: what the customer and the shop notice."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PIL import Image

from aftercart.core import events
from aftercart.orders.models import OrderEvent
from aftercart.orders.queries import order_detail
from aftercart.orders.records import LineData, RefundData
from aftercart.orders.services import record_order, record_refund
from aftercart.returns import queries
from aftercart.returns.models import ReturnRequest, Settlement
from aftercart.returns.photos import PhotoProblem
from aftercart.returns.policies import save_policy
from aftercart.returns.services import (
    ReturnAsk,
    ReturnProblem,
    ReturnRefused,
    approve_return,
    cancel_return,
    complete_return,
    inspect_return,
    mark_shipped_back,
    preview_return,
    receive_return,
    reject_return,
    request_return,
)
from aftercart.returns.settlements import (
    settle_return,
    settlement_done,
    settlement_failed,
)
from tests.returns.conftest import lines_of, order_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("after_delivery")]


@pytest.fixture
def published():
    seen = []

    def keep(event):
        if event.name.startswith("return."):
            seen.append(event)

    events.subscribe("*", keep)
    yield seen
    events.unsubscribe("*", keep)


def ask(order, reason="changed_mind", **quantities) -> ReturnAsk:
    ids = lines_of(order)
    return ReturnAsk(
        quantities={ids[k]: n for k, n in quantities.items()},
        reason=reason,
        request_key=f"{reason}-{sorted(quantities.items())}",
    )


def timeline(shop, order) -> list[str]:
    return [e.type for e in order_detail(shop, pk=order.pk).events.all()]


def test_a_return_the_policy_allows_is_approved_at_once_and_on_the_timeline(shop, order, published):
    ret = request_return(shop, order, ask(order, L1=1, L2=1), source="portal")

    assert ret.status == "approved" and ret.decided_by == "auto"
    assert ret.number == "R1001-1"
    assert [(ln.title, ln.quantity, ln.unit_paid) for ln in ret.lines.all()] == [
        ("Linen shirt", 1, Decimal("30.00")),
        ("Espresso cup", 1, Decimal("20.00")),  # what she paid: 25 less the 5 discount
    ]
    assert ret.refund_amount == Decimal("50.00")
    assert timeline(shop, order)[-2:] == ["return_requested", "return_approved"]
    assert [(e.name, e.data["return_id"]) for e in published] == [
        ("return.requested", ret.pk),
        ("return.approved", ret.pk),
    ]
    assert published[0].data["customer_id"] == order.customer_id


def test_what_is_in_a_return_cannot_be_asked_for_again(shop, order):
    request_return(shop, order, ask(order, L1=2), source="portal")
    with pytest.raises(ReturnRefused) as refused:
        request_return(shop, order, ask(order, reason="does_not_fit", L1=1), source="portal")
    assert refused.value.verdict.reasons == [
        "Linen shirt – M: it has been returned already or has not reached you yet."
    ]
    assert ReturnRequest.objects.count() == 1


def test_the_second_return_of_an_order_gets_the_next_number_and_what_is_left(shop, order):
    first = request_return(shop, order, ask(order, L1=1), source="portal")
    second = request_return(shop, order, ask(order, reason="does_not_fit", L1=2), source="portal")
    assert (first.number, second.number) == ("R1001-1", "R1001-2")
    assert [ln.quantity for ln in second.lines.all()] == [1]


def test_a_rejected_request_keeps_nothing(shop, order):
    save_policy(shop, {"window_days": 7})
    with pytest.raises(ReturnRefused) as refused:
        request_return(shop, order, ask(order, L1=1), source="portal")
    assert "The return period ended on 12 November 2026." in refused.value.verdict.reasons
    assert not ReturnRequest.objects.exists()
    assert "return_requested" not in timeline(shop, order)


def test_the_same_form_sent_twice_makes_one_return(shop, order):
    one = request_return(shop, order, ask(order, L3=1), source="portal")
    two = request_return(shop, order, ask(order, L3=1), source="portal")
    assert one.pk == two.pk and ReturnRequest.objects.count() == 1


def test_a_frequent_returner_waits_for_an_agent_who_approves_or_rejects(shop, order, published):
    save_policy(shop, {"review_after": 0})
    ret = request_return(shop, order, ask(order, L1=1), source="portal")
    assert ret.status == "requested"
    assert ret.notes == []
    assert [e.name for e in published] == ["return.requested"]
    assert published[0].data["awaiting_review"] == 1

    with pytest.raises(ReturnProblem, match="tell the customer why"):
        reject_return(ret, by="sam", reason="  ")
    approve_return(ret, by="sam")
    ret.refresh_from_db()
    assert (ret.status, ret.decided_by) == ("approved", "sam")
    assert published[-1].name == "return.approved" and published[-1].data["by_agent"] == 1
    with pytest.raises(ReturnProblem, match="is approved: it cannot be approved"):
        approve_return(ret, by="sam")


def test_rejected_by_an_agent_frees_the_items_again(shop, order):
    save_policy(shop, {"review_after": 0})
    ret = request_return(shop, order, ask(order, L1=2), source="portal")
    reject_return(ret, by="sam", reason="Worn and washed.")
    ret.refresh_from_db()
    assert ret.status == "rejected" and ret.rejection_reason == "Worn and washed."
    assert queries.returned_quantities(order) == {}


def test_the_store_replacing_the_order_lines_keeps_the_return_and_its_counts(shop, order):
    ret = request_return(shop, order, ask(order, L1=2), source="portal")
    changed = order_data(updated_at=datetime(2026, 11, 20, 11, tzinfo=UTC))
    changed.lines.append(LineData(external_id="L4", title="Gift wrap", quantity=1, unit_price=0))
    new = record_order(shop, changed).order
    assert {ln.external_id for ln in new.lines.all()} == {"L1", "L2", "L3", "L4"}
    assert [ln.title for ln in ReturnRequest.objects.get(pk=ret.pk).lines.all()] == ["Linen shirt"]
    verdict = preview_return(shop, new, ask(new, reason="does_not_fit", L1=1))
    assert verdict.lines[0].accepted == 0


def test_received_in_part_then_refunded_by_hand_completes_the_return(shop, order, published):
    save_policy(shop, {"restocking_fee_percent": "10", "return_shipping_fee": "4.95"})
    ret = request_return(shop, order, ask(order, L1=2, L2=1), source="portal")
    assert (ret.items_value, ret.restocking_fee, ret.shipping_fee, ret.refund_amount) == (
        Decimal("80.00"),
        Decimal("8.00"),
        Decimal("4.95"),
        Decimal("67.05"),
    )
    mark_shipped_back(ret, by="customer", tracking_number="3SRETURN1")
    shirt, cup = ret.lines.all()
    receive_return(ret, by="sam", quantities={shirt.pk: 2, cup.pk: 0})  # the cup never came
    inspect_return(ret, by="sam", note="As new")

    settlement = settle_return(ret, by="sam")
    # Two shirts: 60.00 less their share of the restocking fee (6.00) and the shipping fee.
    assert (settlement.kind, settlement.status, settlement.amount) == (
        "refund",
        "manual",
        Decimal("49.05"),
    )
    assert settlement.items == [{"line": "L1", "quantity": 2}]
    with pytest.raises(ReturnProblem, match="nothing received is left to settle"):
        settle_return(ret, by="sam")

    settlement_done(settlement, by="sam")
    detail = order_detail(shop, pk=order.pk)
    assert detail.refunded == Decimal("49.05")
    assert detail.financial_status == "partially_refunded"
    ret.refresh_from_db()
    assert ret.status == "completed"
    kinds = [e for e in timeline(shop, order) if e.startswith("return_") or e == "refunded"]
    assert kinds == [
        "return_requested",
        "return_approved",
        "return_shipped",
        "return_received",
        "return_inspected",
        "refunded",
        "return_completed",
    ]
    assert [e.name for e in published][-2:] == ["return.settled", "return.completed"]


def test_a_refund_the_store_reports_later_is_not_counted_twice(shop, order):
    ret = request_return(shop, order, ask(order, L3=1), source="portal")
    receive_return(ret, by="sam")
    settlement = settle_return(ret, by="sam")
    settlement_done(settlement, by="shopify", external_id="98765")
    # The store's refunds/create webhook for the same refund arrives afterwards.
    record_refund(
        shop,
        order.external_id,
        RefundData(external_id="98765", amount=Decimal("20.00"), refunded_at=datetime.now(UTC)),
        source="shopify",
    )
    assert order_detail(shop, pk=order.pk).refunded == Decimal("20.00")


def test_refunds_in_parts_and_never_more_than_the_order_has_left(shop, order):
    ret = request_return(shop, order, ask(order, L1=2), source="portal")
    receive_return(ret, by="sam")
    shirt = ret.lines.get()
    first = settle_return(ret, by="sam", quantities={shirt.pk: 1})
    assert first.amount == Decimal("30.00")
    ret.refresh_from_db()
    assert ret.status == "received"  # one shirt still to settle
    # The store refunded most of the order meanwhile, outside Aftercart.
    record_refund(
        shop,
        order.external_id,
        RefundData(external_id="outside", amount=Decimal("60.00"), refunded_at=datetime.now(UTC)),
        source="shopify",
    )
    with pytest.raises(ReturnProblem, match=r"30.00 EUR is more than the 10.00 left to give back"):
        settle_return(ret, by="sam", quantities={shirt.pk: 1})


def test_a_failed_refund_frees_its_units_and_the_agent_can_close_with_what_was_done(shop, order):
    ret = request_return(shop, order, ask(order, L1=2), source="portal")
    receive_return(ret, by="sam")
    settlement = settle_return(ret, by="sam")
    settlement_failed(settlement, error="Shopify: refund amount exceeds")
    settlement.refresh_from_db()
    assert settlement.status == "failed" and "exceeds" in settlement.error
    assert ret.lines.get().refunded_quantity == 0
    again = settle_return(ret, by="sam")
    assert again.amount == Decimal("60.00")
    with pytest.raises(ReturnProblem, match="still under way"):
        complete_return(ret, by="sam")


def test_store_credit_with_a_bonus_lands_on_her_balance_once(shop, order, published):
    save_policy(shop, {"store_credit_bonus_percent": "10"})
    the_ask = ask(order, L3=1)
    the_ask.resolution = "store_credit"
    ret = request_return(shop, order, the_ask, source="portal")
    assert ret.store_credit_amount == Decimal("22.00")
    receive_return(ret, by="sam")
    settlement = settle_return(ret, by="sam")
    assert (settlement.status, settlement.amount) == ("done", Decimal("22.00"))
    assert queries.credit_balance(shop, order.customer_id) == Decimal("22.00")
    settlement_done(settlement, by="sam")  # again: nothing more
    assert queries.credit_balance(shop, order.customer_id) == Decimal("22.00")
    ret.refresh_from_db()
    assert ret.status == "completed"
    assert order_detail(shop, pk=order.pk).refunded == Decimal("0.00")


def test_an_exchange_goes_to_an_agent_without_money(shop, order):
    the_ask = ask(order, reason="does_not_fit", L1=1)
    the_ask.resolution, the_ask.exchange_for = "exchange", "The same shirt in L"
    ret = request_return(shop, order, the_ask, source="portal")
    assert ret.exchange_for == "The same shirt in L"
    receive_return(ret, by="sam")
    settlement = settle_return(ret, by="sam")
    assert (settlement.kind, settlement.status, settlement.amount) == (
        "exchange",
        "manual",
        Decimal("0"),
    )
    settlement_done(settlement, by="sam", external_id="#1002")
    ret.refresh_from_db()
    assert ret.status == "completed"
    assert Settlement.objects.get().external_id == "#1002"


def test_steps_out_of_order_are_refused_with_what_and_why(shop, order):
    ret = request_return(shop, order, ask(order, L1=1), source="portal")
    with pytest.raises(ReturnProblem, match="R1001-1 is approved: it cannot be settled"):
        settle_return(ret, by="sam")
    with pytest.raises(ReturnProblem, match="has no line 999"):
        receive_return(ret, by="sam", quantities={999: 1})
    with pytest.raises(ReturnProblem, match="between 0 and 1 came back"):
        receive_return(ret, by="sam", quantities={ret.lines.get().pk: 2})
    cancel_return(ret, by="anne")
    ret.refresh_from_db()
    assert ret.status == "cancelled"
    with pytest.raises(ReturnProblem, match="is cancelled: it cannot be received"):
        receive_return(ret, by="sam")
    assert queries.returned_quantities(order) == {}


def _jpeg_with_location() -> bytes:
    image = Image.new("RGB", (3000, 2000), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0132] = "2026:11:19 08:15:00"  # when it was taken
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photos_are_checked_made_smaller_and_lose_their_metadata(shop, order):
    the_ask = ask(order, reason="damaged", L2=1)
    with pytest.raises(ReturnRefused, match="Please add a photo"):
        request_return(shop, order, the_ask, source="portal")
    the_ask.photos = [("cup.jpg", _jpeg_with_location())]
    ret = request_return(shop, order, the_ask, source="portal")
    photo = ret.photos.get()
    kept = Image.open(io.BytesIO(bytes(photo.image)))
    assert (kept.format, kept.size) == ("JPEG", (1600, 1067))
    assert not kept.getexif() and b"PhoneMaker" not in bytes(photo.image)


@pytest.mark.parametrize(
    "content,problem",
    [
        (b"<?php system($_GET['c']); ?>", "not a photo"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a photo"),
        (b"x" * (10 * 1024 * 1024 + 1), "larger than 10 MB"),
    ],
)
def test_what_is_not_a_photo_is_refused_and_nothing_kept(shop, order, content, problem):
    the_ask = ask(order, reason="damaged", L2=1)
    the_ask.photos = [("cup.jpg", content)]
    with pytest.raises(PhotoProblem, match=problem):
        request_return(shop, order, the_ask, source="portal")
    assert not ReturnRequest.objects.exists()


def test_the_timeline_entry_names_the_return(shop, order):
    ret = request_return(shop, order, ask(order, L1=1), source="portal")
    entry = OrderEvent.objects.get(order=order, type="return_requested")
    assert entry.payload["return"] == ret.number
