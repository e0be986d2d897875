"""The post-purchase loop on a real order: the right email at the right moment, once."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.core.events import DomainEvent
from aftercart.core.services import create_shop
from aftercart.customers.models import Customer
from aftercart.customers.services import CustomerData, set_marketing_consent
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.services import on_event, run_due, save_flow
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.orders.services import record_delivery, record_order, record_refund, record_shipment

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=AMS)


@pytest.fixture
def shop():
    shop, _ = create_shop("roastery", name="De Roasterij", locale="en")
    return shop


def without_holdout(shop, key="after-delivery"):
    """The flow with no control group, so the test customer is always sent to."""
    save_flow(shop, key, {**DEFAULT_LOOP[key], "holdout": 0})


def place(shop, external_id="1001", email="anne@example.com", consent=True):
    return record_order(
        shop,
        OrderData(
            external_id=external_id,
            source="shopify",
            number=f"#{external_id}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne", accepts_marketing=consent),
            currency="EUR",
            subtotal=Decimal("25.00"),
            total=Decimal("25.00"),
            placed_at=datetime.now(AMS),
            financial_status="paid",
            lines=[LineData(title="Espresso beans 1 kg", quantity=1, unit_price=Decimal("25.00"))],
        ),
    ).order


def work():
    """What the worker does when the clock says so: due flow steps, then due emails."""
    run_due()
    return send_due()


def kinds_sent(kind):
    """The orders an email of this kind went out for."""
    return list(
        Message.objects.filter(kind=kind, status=Message.Status.SENT).values_list(
            "order_id", flat=True
        )
    )


def subjects(inbox):
    return [m["Subject"] for m in inbox.messages]


def test_a_new_shop_gets_the_default_loop(shop):
    assert set(Flow.objects.filter(shop=shop).values_list("key", flat=True)) == set(DEFAULT_LOOP)


def test_the_loop_from_order_to_review_request(shop, inbox):
    without_holdout(shop)
    with time_machine.travel(MONDAY, tick=False):
        place(shop)
        work()
        assert subjects(inbox) == ["Thank you for your order #1001"]

    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        record_shipment(
            shop,
            "1001",
            ShipmentData(
                external_id="f1",
                status="in_transit",
                carrier="PostNL",
                tracking_number="3SABCD1234567",
                tracking_url="https://postnl.example/track/3SABCD1234567",
            ),
            "shopify",
        )
        work()
        shipped = inbox.messages[-1]
        assert "#1001" in shipped["Subject"]
        assert "https://postnl.example/track/3SABCD1234567" in inbox.html(shipped)

    delivered_at = MONDAY + timedelta(days=2, hours=5)  # Wednesday 14:00
    with time_machine.travel(delivered_at, tick=False):
        record_delivery(shop, "1001", delivered_at=delivered_at, source="shopify")
        work()
        assert len(inbox.messages) == 3  # the "delivered" email

    # Check-in: 3 days after delivery, at 10:00 the customer's time.
    with time_machine.travel(datetime(2026, 11, 28, 9, 59, tzinfo=AMS), tick=False):
        work()
        assert len(inbox.messages) == 3
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=AMS), tick=False):
        work()

        print([(e.flow.key, e.status, e.history) for e in Enrolment.objects.all()])
        print(list(Message.objects.values_list("kind", "status", "reason", "due_at")))
        assert len(inbox.messages) == 4
    # Review request: 7 days after delivery, 10:00.
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=AMS), tick=False):
        work()
        review = inbox.messages[-1]
        assert review["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert len(inbox.messages) == 5
        # The worker runs again (a task delivered twice): nothing more arrives.
        work()
        run_due()
        assert len(inbox.messages) == 5

    enrolment = Enrolment.objects.get(flow__key="after-delivery")
    steps = [entry["what"] for entry in enrolment.history]
    assert any("review_request: queued" in s for s in steps)


def test_a_refunded_order_gets_no_review_request(shop, inbox):
    without_holdout(shop)
    delivered_at = MONDAY
    with time_machine.travel(MONDAY, tick=False):
        place(shop)
        record_delivery(shop, "1001", delivered_at=delivered_at, source="shopify")
        work()
    with time_machine.travel(MONDAY + timedelta(days=5), tick=False):
        record_refund(
            shop,
            "1001",
            RefundData(external_id="r1", amount=Decimal("25.00"), refunded_at=MONDAY),
            "shopify",
        )
        work()
    with time_machine.travel(MONDAY + timedelta(days=30), tick=False):
        work()
        work()
    assert not kinds_sent("review_request")
    assert not any("What do you think" in s for s in subjects(inbox))
    enrolment = Enrolment.objects.get(flow__key="after-delivery")
    assert enrolment.status == Enrolment.Status.EXITED
    assert enrolment.exit_reason == "not_refunded: no"


def test_a_redelivered_trigger_enrols_once(shop):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop)
        event = DomainEvent("order.placed", shop.id, {"order_id": order.pk})
        on_event(event)
        on_event(event)
    assert Enrolment.objects.filter(flow__key="order-confirmation").count() == 1


def test_unsubscribing_ends_every_marketing_flow_but_not_order_mail(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop)
        work()
        set_marketing_consent(Customer.objects.get(pk=order.customer_id), False, source="link")
    win_back = Enrolment.objects.get(flow__key="win-back")
    assert win_back.status == Enrolment.Status.EXITED
    assert "unsubscribed" in win_back.exit_reason
    assert subjects(inbox) == ["Thank you for your order #1001"]


def test_a_new_order_ends_the_win_back_of_the_one_before(shop, inbox):
    without_holdout(shop, "win-back")
    with time_machine.travel(MONDAY, tick=False):
        place(shop, "1001")
        work()
    with time_machine.travel(MONDAY + timedelta(days=40), tick=False):
        place(shop, "1002")
        work()
    first, second = Enrolment.objects.filter(flow__key="win-back").order_by("id")
    assert first.status == Enrolment.Status.EXITED and "order.placed" in first.exit_reason
    assert second.status == Enrolment.Status.ACTIVE
    # 90 days after the second order, one win-back email: for the second order only.
    with time_machine.travel(MONDAY + timedelta(days=131), tick=False):
        work()
    assert kinds_sent("win_back") == [second.order_id]  # for the second order only
    assert sum(s.startswith("We miss you") for s in subjects(inbox)) == 1
    assert Enrolment.objects.get(pk=second.pk).status == Enrolment.Status.COMPLETED


def test_the_control_group_is_followed_but_never_sent_to(shop, inbox):
    save_flow(shop, "after-delivery", {**DEFAULT_LOOP["after-delivery"], "holdout": 0.5})
    flow = Flow.objects.get(shop=shop, key="after-delivery")
    from aftercart.flows.services import is_control

    # Find a customer number the holdout puts in the control group.
    with time_machine.travel(MONDAY, tick=False):
        for n in range(40):
            order = place(shop, f"c{n}", email=f"c{n}@example.com")
            if is_control(flow.id, order.customer_id, 0.5):
                break
        record_delivery(shop, order.external_id, delivered_at=MONDAY, source="shopify")
        work()
    with time_machine.travel(MONDAY + timedelta(days=30), tick=False):
        work()
        work()
    enrolment = Enrolment.objects.get(flow=flow, customer_id=order.customer_id)
    assert enrolment.control and enrolment.status == Enrolment.Status.COMPLETED
    assert any("not sent (control group)" in e["what"] for e in enrolment.history)
    to_control = [m for m in inbox.messages if m["To"] == order.email]
    assert to_control  # the transactional "delivered" email still went
    assert not any(m["Subject"].startswith("What do you think") for m in to_control)
    assert not Message.objects.filter(customer_id=order.customer_id, kind="review_request").exists()


def test_an_email_still_waiting_is_not_sent_once_the_customer_left_the_flow(shop, inbox):
    without_holdout(shop, "win-back")
    with time_machine.travel(MONDAY, tick=False):
        place(shop, "1001")
        work()
    day_90 = datetime(2026, 11, 23, 10, 0, tzinfo=AMS) + timedelta(days=90)
    with time_machine.travel(day_90, tick=False):
        run_due()  # the win-back is queued; the sender has not run yet

        waiting = Message.objects.get(kind="win_back")
        assert waiting.status == Message.Status.QUEUED
        place(shop, "1002")  # she orders again before it goes out
        work()
    waiting.refresh_from_db()
    assert waiting.status == Message.Status.SUPPRESSED
    assert "the flow ended" in waiting.reason
    assert not any(s.startswith("We miss you") for s in subjects(inbox))


def test_an_order_in_two_parcels_gets_one_check_in(shop, inbox):
    without_holdout(shop)
    with time_machine.travel(MONDAY, tick=False):
        place(shop, "1001")
        for n in (1, 2):
            record_shipment(
                shop, "1001", ShipmentData(external_id=f"p{n}", status="in_transit"), "shopify"
            )
        record_delivery(shop, "1001", delivered_at=MONDAY, source="shopify")
        work()
    assert Enrolment.objects.filter(flow__key="after-delivery").count() == 1
    assert Enrolment.objects.filter(flow__key="delivered").count() == 2  # one per parcel
