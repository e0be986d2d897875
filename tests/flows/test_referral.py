"""The referral invitation: after a 4 or 5 star review, never after a lukewarm one."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from aftercart.core import events
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due, save_flow
from aftercart.messaging.services import send_due
from aftercart.orders.records import LineData, OrderData
from aftercart.orders.services import record_order

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, 11, 0, tzinfo=AMS)


@pytest.fixture
def shop():
    shop, _ = create_shop("roastery", name="De Roasterij", locale="en")
    shop.public_base_url = "https://roastery.example"
    shop.save(update_fields=["public_base_url"])
    save_flow(
        shop, "referral-after-review", {**DEFAULT_LOOP["referral-after-review"], "holdout": 0}
    )
    return shop


_numbers = iter(range(1001, 1_000_000))


def place(shop, email):
    return record_order(
        shop,
        OrderData(
            external_id=str(next(_numbers)),
            source="shopify",
            email=email,
            customer=CustomerData(email=email, first_name="Anne", accepts_marketing=True),
            currency="EUR",
            total=Decimal("25.00"),
            placed_at=datetime.now(AMS),
            financial_status="paid",
            lines=[LineData(title="Grinder", quantity=1, unit_price=Decimal("25.00"))],
        ),
    ).order


def review(shop, order, **data):
    """What the reviews capability will publish when a customer submits a review."""
    with transaction.atomic():
        events.publish(
            "review.submitted",
            shop.id,
            customer_id=order.customer_id,
            order_id=order.pk,
            **data,
        )


def work():
    run_due()
    return send_due()


def invitations(inbox):
    return [m for m in inbox.messages if m["Subject"] == "Thank you for your kind review"]


def test_a_five_star_review_brings_a_referral_invitation_an_hour_later(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "anne@example.com")
        review(shop, order, review_id=77, rating=5)
        work()
        assert not invitations(inbox)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        work()
        work()
    [invitation] = invitations(inbox)
    assert invitation["To"] == "anne@example.com"
    assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://roastery.example" in inbox.html(invitation)  # until referral links exist
    enrolment = Enrolment.objects.get(flow__key="referral-after-review")
    assert enrolment.context == {"review_id": 77, "rating": 5}  # what the trigger said
    assert enrolment.order_id == order.pk
    assert enrolment.status == Enrolment.Status.COMPLETED


def test_a_three_star_review_brings_none(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "bob@example.com")
        review(shop, order, review_id=78, rating=3)
        work()
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        work()
    assert not invitations(inbox)
    assert not Enrolment.objects.filter(flow__key="referral-after-review").exists()


def test_a_review_without_a_rating_brings_none(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "cleo@example.com")
        review(shop, order, review_id=79, rating="five")
        review(shop, order, review_id=80)
        work()
    assert not Enrolment.objects.filter(flow__key="referral-after-review").exists()


def test_two_good_reviews_of_one_order_bring_one_invitation(shop, inbox):
    with time_machine.travel(MONDAY, tick=False):
        order = place(shop, "dirk@example.com")
        review(shop, order, review_id=81, rating=5)
        review(shop, order, review_id=82, rating=4)
        work()
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        work()
    assert len(invitations(inbox)) == 1


def test_the_flow_page_names_the_filter():
    definition = parse(DEFAULT_LOOP["referral-after-review"])
    assert definition.trigger == "review.submitted"
    assert definition.describe_filters() == "rating at least 4"


@pytest.mark.parametrize(
    "trigger,filters,problem",
    [
        ("review.submitted", {"rating_at_least": 6}, "filters.rating_at_least: a whole number"),
        ("review.submitted", {"rating_at_least": "4"}, "filters.rating_at_least: a whole number"),
        ("review.submitted", {"stars": 4}, "filters.stars: not a filter of review.submitted"),
        ("order.placed", {"rating_at_least": 4}, "filters.rating_at_least: not a filter of"),
        ("review.submitted", [4], "filters: an object"),
    ],
)
def test_a_bad_filter_says_what_and_where(trigger, filters, problem):
    definition = {
        "name": "x",
        "trigger": trigger,
        "filters": filters,
        "marketing": True,
        "steps": [{"send": "referral_invitation"}],
    }
    with pytest.raises(DefinitionError) as error:
        parse(definition)
    assert str(error.value).startswith(problem)
