"""The replenishment reminder: a few days before a product runs out, naming it, once."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.core import events
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due, save_flow
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.orders.models import Product
from aftercart.orders.records import LineData, OrderData, RefundData
from aftercart.orders.replenishment import learn_reorder_intervals, set_reorder_interval
from aftercart.orders.services import record_order, record_refund

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=AMS)
BEANS = "Espresso beans 1 kg"


@pytest.fixture
def shop():
    shop, _ = create_shop("roastery", name="De Roasterij", locale="en")
    # Only the reminder, with no control group: the test customer is always sent to.
    save_flow(shop, "replenishment", {**DEFAULT_LOOP["replenishment"], "holdout": 0})
    catalogue = [
        ("beans", BEANS, True, 30),
        ("descaler", "Descaler", True, 180),
        ("mug", "Espresso mug", False, None),
    ]
    for external_id, title, consumable, days in catalogue:
        Product.objects.create(
            shop=shop,
            external_id=external_id,
            title=title,
            consumable=consumable,
            reorder_interval_days=days,
        )
    return shop


_numbers = iter(range(1001, 1_000_000))


def place(shop, *products, email="anne@example.com", at=None):
    return record_order(
        shop,
        OrderData(
            external_id=str(next(_numbers)),
            source="shopify",
            email=email,
            customer=CustomerData(email=email, first_name="Anne", accepts_marketing=True),
            currency="EUR",
            total=Decimal("25.00"),
            placed_at=at or datetime.now(AMS),
            financial_status="paid",
            lines=[
                LineData(
                    title=Product.objects.get(shop=shop, external_id=p).title,
                    quantity=1,
                    unit_price=Decimal("25.00"),
                    product_external_id=p,
                )
                for p in products
            ],
        ),
    ).order


def work():
    run_due()
    return send_due()


def reminders(inbox):
    return [m for m in inbox.messages if m["Subject"].startswith("Running low")]


def enrolment_of(order):
    return Enrolment.objects.get(flow__key="replenishment", order_id=order.pk)


def test_a_reminder_three_days_before_the_beans_run_out_names_them(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "beans", "mug")
        work()
    # 30 days after the order, minus 3, at 10:00 her time: Sunday 20 December.
    with time_machine.travel(datetime(2026, 12, 20, 9, 59, tzinfo=AMS), tick=False):
        work()
        assert not reminders(inbox)
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMS), tick=False):
        work()
        work()  # a second run sends nothing more
    [reminder] = reminders(inbox)
    assert reminder["Subject"] == f"Running low on {BEANS}?"
    assert reminder["To"] == "anne@example.com"
    html = inbox.html(reminder)
    assert BEANS in html
    assert "Espresso mug" not in html  # not a consumable
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # marketing
    assert enrolment_of(order).status == Enrolment.Status.COMPLETED


def test_what_runs_out_much_later_is_not_in_the_reminder(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        place(shop, "descaler", "beans")
        work()
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMS), tick=False):
        work()
    [reminder] = reminders(inbox)
    assert BEANS in inbox.html(reminder)
    assert "Descaler" not in inbox.html(reminder)  # lasts half a year


def test_no_reminder_for_beans_she_ordered_again_but_one_for_the_new_order(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        first = place(shop, "beans")
        work()
    with time_machine.travel(MONDAY + timedelta(days=20), tick=False):
        second = place(shop, "beans")  # ran out early
        work()
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMS), tick=False):
        work()
    assert not reminders(inbox)
    left = enrolment_of(first)
    assert left.status == Enrolment.Status.EXITED
    assert "nothing to remind of" in left.exit_reason
    # The second order's beans run out 30 days after it: a reminder on 9 January, 10:00.
    with time_machine.travel(datetime(2027, 1, 9, 10, 0, tzinfo=AMS), tick=False):
        work()
    assert [m.order_id for m in Message.objects.filter(kind="replenishment_reminder")] == [
        second.pk
    ]
    assert len(reminders(inbox)) == 1


def test_an_order_without_anything_that_runs_out_leaves_the_flow_at_once(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "mug")
        work()
    enrolment = enrolment_of(order)
    assert enrolment.status == Enrolment.Status.EXITED
    assert "no consumable with a reorder interval" in enrolment.exit_reason


def test_a_refunded_order_gets_no_reminder(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "beans")
        work()
    with time_machine.travel(MONDAY + timedelta(days=5), tick=False):
        refund = RefundData(external_id="r1", amount=Decimal("25.00"), refunded_at=MONDAY)
        record_refund(shop, order.external_id, refund, "shopify")
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMS), tick=False):
        work()
    assert not reminders(inbox)
    assert enrolment_of(order).exit_reason == "not_refunded: no"


def test_a_longer_interval_set_meanwhile_moves_the_reminder(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "beans")
        work()
    beans = Product.objects.get(shop=shop, external_id="beans")
    set_reorder_interval(shop, beans.pk, 40)  # the merchant: a bag lasts longer than that
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMS), tick=False):
        work()
        assert not reminders(inbox)
    assert any("the reorder date moved" in e["what"] for e in enrolment_of(order).history)
    with time_machine.travel(datetime(2026, 12, 30, 10, 0, tzinfo=AMS), tick=False):
        work()
    assert len(reminders(inbox)) == 1


def test_a_learned_interval_starts_reminders_for_a_product_the_merchant_left_blank(shop, inbox):
    tea = Product.objects.create(shop=shop, external_id="tea", title="Green tea", consumable=True)
    # Last year, five customers bought the tea again after 21 days (imported as history:
    # old news starts no flow).
    with events.muted():
        for n in range(5):
            for day in (0, 21):
                at = MONDAY - timedelta(days=365 - day)
                place(shop, "tea", email=f"c{n}@example.com", at=at)
    learn_reorder_intervals(shop)
    tea.refresh_from_db()
    assert tea.reorder_interval == 21 and tea.reorder_interval_source == "learned"

    with time_machine.travel(MONDAY, tick=False):
        place(shop, "tea")
        work()
    # 21 days minus 3: Friday 11 December at 10:00.
    with time_machine.travel(datetime(2026, 12, 11, 10, 0, tzinfo=AMS), tick=False):
        work()
    [reminder] = reminders(inbox)
    assert reminder["Subject"] == "Running low on Green tea?"


def test_an_order_that_reaches_us_long_after_the_beans_ran_out_gets_no_reminder(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        # Placed in the summer, sent by the store only now (a sync that caught up).
        order = place(shop, "beans", at=MONDAY - timedelta(days=120))
        work()
    assert not reminders(inbox)
    assert enrolment_of(order).exit_reason == "not_reordered: no"


@pytest.mark.parametrize(
    "wait,problem",
    [
        ({"reorder_interval": True, "days_before": 30}, "steps[0].wait.days_before"),
        ({"reorder_interval": False}, "steps[0].wait.reorder_interval"),
        ({"reorder_interval": True, "days": 3}, "steps[0].wait.days: a reorder wait"),
        ({"reorder_interval": True, "at_hour": 25}, "steps[0].wait.at_hour"),
        ({"days": 3, "at_hours": 10}, "steps[0].wait.at_hours: not a wait option"),
    ],
)
def test_a_bad_reorder_wait_says_what_and_where(wait, problem):
    definition = {
        "name": "x",
        "trigger": "order.placed",
        "marketing": True,
        "steps": [{"wait": wait}, {"send": "replenishment_reminder"}],
    }
    with pytest.raises(DefinitionError) as error:
        parse(definition)
    assert str(error.value).startswith(problem)
