"""A return under way holds the review request and stops the cross-sell for its order."""

from datetime import datetime, timedelta

import pytest
import time_machine

from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due
from aftercart.messaging.models import Message
from aftercart.messaging.services import send_due
from aftercart.returns.services import (
    ReturnAsk,
    cancel_return,
    receive_return,
    request_return,
)
from aftercart.returns.settlements import (
    settle_return,
    settlement_done,
)
from tests.flows.test_hold import (
    AMS,
    MONDAY,
    REVIEW_DAY,
    delivered_order,
    review_requests,
    shop,  # noqa: F401  the shop with the after-delivery flow
)

pytestmark = pytest.mark.django_db(transaction=True)


def at(when):
    with time_machine.travel(when, tick=False):
        run_due()
        send_due()


def steps_of(order) -> list[str]:
    enrolment = Enrolment.objects.get(order_id=order.pk, flow__key="after-delivery")
    return [entry["what"] for entry in enrolment.history]


def ask_for_grinder(shop, order) -> ReturnAsk:  # noqa: F811
    line = order.lines.get()
    return ReturnAsk(quantities={line.pk: 1}, reason="does_not_fit")


def test_the_review_request_waits_for_the_return_to_be_done(shop, inbox):  # noqa: F811
    order = delivered_order(shop)
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        ret = request_return(shop, order, ask_for_grinder(shop, order), source="portal")
    at(REVIEW_DAY)
    at(REVIEW_DAY + timedelta(days=1))
    assert not review_requests(inbox)
    assert "held: no_open_return: no" in steps_of(order)

    # The grinder comes back and is refunded on Wednesday; the next look lets it go on.
    with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=AMS), tick=False):
        receive_return(ret, by="sam")
        settlement_done(settle_return(ret, by="sam"), by="sam", external_id="refund-1")
    at(datetime(2026, 12, 2, 22, 0, tzinfo=AMS))
    # A refunded order gets no review request at all: the hold ends, the next `if` stops it.
    assert "no_open_complaint and no_open_return: yes, no longer held" in steps_of(order)
    assert not Message.objects.filter(kind="review_request").exists()


def test_a_return_cancelled_before_sending_lets_the_request_go(shop, inbox):  # noqa: F811
    order = delivered_order(shop)
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        ret = request_return(shop, order, ask_for_grinder(shop, order), source="portal")
    at(REVIEW_DAY)
    assert not review_requests(inbox)
    with time_machine.travel(REVIEW_DAY + timedelta(hours=1), tick=False):
        cancel_return(ret, by="customer")
    at(REVIEW_DAY + timedelta(hours=12))  # 22:00: let go, and sent after the quiet hours
    at(datetime(2026, 12, 1, 8, 0, tzinfo=AMS))
    assert len(review_requests(inbox)) == 1


def test_no_cross_sell_while_a_return_of_the_order_is_open(shop, inbox):  # noqa: F811
    order = delivered_order(shop)
    at(REVIEW_DAY)  # the review request goes; the cross-sell waits 7 days
    assert len(review_requests(inbox)) == 1
    with time_machine.travel(REVIEW_DAY + timedelta(days=3), tick=False):
        request_return(shop, order, ask_for_grinder(shop, order), source="portal")
    at(REVIEW_DAY + timedelta(days=7))
    assert not Message.objects.filter(kind="cross_sell").exists()
    assert any(s.startswith("no_open_return: no") for s in steps_of(order)), steps_of(order)
