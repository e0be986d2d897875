"""Holding a step: no review request while a complaint or a return is open."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.flows import predicates
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due, save_flow
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.orders.records import LineData, OrderData
from aftercart.orders.services import record_delivery, record_order
from aftercart.support.models import Ticket
from aftercart.support.services import NewTicket, open_ticket, set_status

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=AMS)
# Delivered on MONDAY: check-in Thursday 26th at 10:00, review request Monday 30th at 10:00.
REVIEW_DAY = datetime(2026, 11, 30, 10, 0, tzinfo=AMS)


@pytest.fixture
def shop():
    shop, _ = create_shop("roastery", name="De Roasterij", locale="en")
    save_flow(shop, "after-delivery", {**DEFAULT_LOOP["after-delivery"], "holdout": 0})
    return shop


@pytest.fixture
def complaints():
    """Complaints are support tickets now (the condition is answered by the support app)."""
    return None


def delivered_order(shop, *, complaint=False):
    with time_machine.travel(MONDAY, tick=False):
        order = record_order(
            shop,
            OrderData(
                external_id="1001",
                source="shopify",
                number="#1001",
                email="anne@example.com",
                customer=CustomerData(email="anne@example.com", accepts_marketing=True),
                currency="EUR",
                total=Decimal("25.00"),
                placed_at=MONDAY,
                financial_status="paid",
                lines=[LineData(title="Grinder", quantity=1, unit_price=Decimal("25.00"))],
            ),
        ).order
        if complaint:  # open before the parcel arrives
            complain(order)
        record_delivery(shop, "1001", delivered_at=MONDAY, source="shopify")
        work()
    return order


def work():
    run_due()
    return send_due()


def at(when):
    """Run the worker at that moment."""
    with time_machine.travel(when, tick=False):
        work()


def review_requests(inbox):
    return [m for m in inbox.messages if m["Subject"].startswith("What do you think")]


def complain(order):
    """She complains through the form on her order's page: a ticket of the complaint kind."""
    open_ticket(
        order.shop,
        NewTicket(
            email=order.email,
            subject="The grinder is broken",
            body="It makes a horrible noise.",
            category="complaint",
            order_id=order.pk,
        ),
    )


def resolve(order):
    for ticket in Ticket.objects.filter(order_id=order.pk):
        set_status(ticket, "resolved", agent="sam")


def history(order):
    enrolment = Enrolment.objects.get(flow__key="after-delivery", order_id=order.pk)
    return enrolment, [entry["what"] for entry in enrolment.history]


def test_without_a_complaint_or_a_return_the_request_goes_on_time(shop, inbox):
    # The support and returns apps answer the conditions; nothing is open here.
    assert not predicates.REGISTRY["no_open_complaint"].placeholder
    assert not predicates.REGISTRY["no_open_return"].placeholder
    delivered_order(shop)
    at(REVIEW_DAY - timedelta(minutes=1))
    assert not review_requests(inbox)
    at(REVIEW_DAY)
    assert len(review_requests(inbox)) == 1


def test_the_review_request_waits_while_a_complaint_is_open(shop, inbox, complaints):
    order = delivered_order(shop)
    at(datetime(2026, 11, 26, 10, 0, tzinfo=AMS))  # the check-in
    complain(order)

    at(REVIEW_DAY)
    at(REVIEW_DAY + timedelta(hours=12))
    at(REVIEW_DAY + timedelta(days=2))
    assert not review_requests(inbox)
    enrolment, steps = history(order)
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert steps.count("held: no_open_complaint: no") == 1  # one line, however many looks

    # Resolved on Wednesday at noon; the next look is at 22:00 (every 12 hours since the
    # last), in the quiet hours, so the email goes out on Thursday at 8:00.
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=AMS), tick=False):
        resolve(order)
        work()
    assert not Message.objects.filter(kind="review_request").exists()
    at(datetime(2026, 12, 2, 22, 0, tzinfo=AMS))
    assert Message.objects.get(kind="review_request").status == Message.Status.QUEUED
    assert not review_requests(inbox)
    at(datetime(2026, 12, 3, 8, 0, tzinfo=AMS))
    assert len(review_requests(inbox)) == 1
    _, steps = history(order)
    assert "no_open_complaint and no_open_return: yes, no longer held" in steps


def test_a_complaint_still_open_after_two_weeks_means_no_review_request(shop, inbox, complaints):
    order = delivered_order(shop)
    complain(order)
    at(REVIEW_DAY)
    at(REVIEW_DAY + timedelta(days=14) - timedelta(minutes=1))
    assert history(order)[0].status == Enrolment.Status.ACTIVE
    at(REVIEW_DAY + timedelta(days=14))
    at(REVIEW_DAY + timedelta(days=30))
    enrolment, _ = history(order)
    assert enrolment.status == Enrolment.Status.EXITED
    assert enrolment.exit_reason == "held 14 days, still no_open_complaint: no"
    assert not review_requests(inbox)
    assert not Message.objects.filter(kind__in=["review_request", "cross_sell"]).exists()
    # Open before the check-in was due: no check-in either (marketing waits for care).
    assert not Message.objects.filter(kind="check_in").exists()


def test_no_win_back_while_a_complaint_is_open(shop, inbox):
    order = delivered_order(shop)
    complain(order)
    at(MONDAY + timedelta(days=91))
    assert not Message.objects.filter(kind="win_back").exists()
    enrolment = Enrolment.objects.get(flow__key="win-back", order_id=order.pk)
    assert any(entry["what"].startswith("no_open_complaint: no") for entry in enrolment.history)


def test_a_hold_that_times_out_can_go_on_instead(shop, inbox, complaints):
    save_flow(
        shop,
        "after-delivery",
        {
            "name": "Review request, at most a week late",
            "trigger": "order.delivered",
            "marketing": True,
            "holdout": 0,
            "steps": [
                {
                    "wait": {
                        "until": "no_open_complaint",
                        "check_every_hours": 24,
                        "timeout_days": 7,
                        "on_timeout": "continue",
                    }
                },
                {"send": "review_request"},
            ],
        },
    )
    order = delivered_order(shop, complaint=True)
    at(MONDAY + timedelta(days=7) - timedelta(minutes=1))
    assert not review_requests(inbox)
    at(MONDAY + timedelta(days=7))
    assert len(review_requests(inbox)) == 1
    _, steps = history(order)
    assert any(s.startswith("held 7 days, went on") for s in steps)


def test_only_a_placeholder_can_be_replaced():
    @predicates.predicate("no_open_dispute", placeholder=True)
    def no_open_dispute(enrolment, args) -> bool:
        return True

    try:
        with pytest.raises(ValueError, match="'not_refunded' is registered already"):

            @predicates.predicate("not_refunded", replaces_placeholder=True)
            def not_refunded(enrolment, args) -> bool:
                return True

        with pytest.raises(ValueError, match="'no_open_dispute' is registered already"):

            @predicates.predicate("no_open_dispute")  # without saying it replaces it
            def no_open_dispute_too(enrolment, args) -> bool:
                return True

        @predicates.predicate("no_open_dispute", replaces_placeholder=True)
        def no_open_dispute_real(enrolment, args) -> bool:
            return False

        assert not predicates.REGISTRY["no_open_dispute"].placeholder
        with pytest.raises(ValueError, match="'no_open_return' is registered already"):

            @predicates.predicate("no_open_return", replaces_placeholder=True)  # real already
            def no_open_return(enrolment, args) -> bool:
                return True
    finally:
        predicates.REGISTRY.pop("no_open_dispute", None)


def test_the_flow_page_says_what_the_hold_does():
    hold = next(s for s in parse(DEFAULT_LOOP["after-delivery"]).steps if s.hold_until)
    assert hold.describe() == (
        "hold until no_open_complaint and no_open_return"
        " (checked every 12 h, at most 14 days, then leave)"
    )


@pytest.mark.parametrize(
    "wait,problem",
    [
        ({"until": "no_open_complaint"}, "steps[0].wait.timeout_days: a hold needs a timeout"),
        ({"until": "no_complaints", "timeout_days": 3}, "steps[0].wait.until: 'no_complaints'"),
        ({"until": [], "timeout_days": 3}, "steps[0].wait.until: a condition or a list"),
        ({"until": "order_total_at_least", "timeout_days": 3}, "steps[0].wait.until: 'order_"),
        ({"until": "no_open_return", "timeout_days": 0}, "steps[0].wait.timeout_days"),
        (
            {"until": "no_open_return", "timeout_days": 3, "check_every_hours": 0},
            "steps[0].wait.check_every_hours",
        ),
        (
            {"until": "no_open_return", "timeout_days": 3, "on_timeout": "maybe"},
            "steps[0].wait.on_timeout: exit or continue",
        ),
        (
            {"until": "no_open_return", "timeout_days": 3, "days": 2},
            "steps[0].wait.days: a hold does not take it",
        ),
    ],
)
def test_a_bad_hold_says_what_and_where(wait, problem):
    definition = {
        "name": "x",
        "trigger": "order.delivered",
        "marketing": True,
        "steps": [{"wait": wait}, {"send": "review_request"}],
    }
    with pytest.raises(DefinitionError) as error:
        parse(definition)
    assert str(error.value).startswith(problem)
