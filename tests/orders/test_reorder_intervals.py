"""Reorder intervals: learned from the shop's own orders, never over the merchant's."""

import statistics
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftercart.core import schedule
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.orders.models import Product
from aftercart.orders.records import LineData, OrderData
from aftercart.orders.replenishment import (
    LONGEST,
    SHORTEST,
    learn_reorder_intervals,
    set_reorder_interval,
    typical_interval,
)
from aftercart.orders.services import record_cancellation, record_order

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 1, 5, 9, 30, tzinfo=AMS)


@pytest.fixture
def shop():
    shop, _ = create_shop("roastery", name="De Roasterij")
    return shop


_numbers = iter(range(1, 1_000_000))


def buy(shop, email, day, *products, hour=0):
    """An order of these products (external ids) by this customer, `day` days after START."""
    number = next(_numbers)
    return record_order(
        shop,
        OrderData(
            external_id=str(number),
            source="api",
            email=email,
            customer=CustomerData(email=email),
            currency="EUR",
            total=Decimal("10.00"),
            placed_at=START + timedelta(days=day, hours=hour),
            lines=[
                LineData(
                    title=f"{p} 1 kg",
                    quantity=1,
                    unit_price=Decimal("10.00"),
                    product_external_id=p,
                )
                for p in products
            ],
        ),
    ).order


def product(shop, external_id):
    return Product.objects.get(shop=shop, external_id=external_id)


def test_the_interval_is_the_median_days_between_reorders_by_the_same_customer(shop):
    # Three customers who drink a bag of beans every 28, 30 and 33 days (give or take).
    for n, (every, times) in enumerate([(28, 3), (30, 3), (33, 2)]):
        for k in range(times):
            buy(shop, f"c{n}@example.com", k * every, "beans", hour=n * 3)
    # Filters: bought twice, by two customers, and once by a third: never two in a row.
    buy(shop, "a@example.com", 0, "filters")
    buy(shop, "b@example.com", 5, "filters")
    buy(shop, "a@example.com", 60, "filters")

    learned = learn_reorder_intervals(shop)

    beans = product(shop, "beans")
    # The gaps: 28, 28, 30, 30, 33 -> median 30. Other customers' orders in between do
    # not count: only the same customer's next order of the same product.
    assert beans.learned_reorder_interval_days == 30
    assert beans.reorder_pairs == 5
    assert beans.reorder_interval == 30 and beans.reorder_interval_source == "learned"
    filters = product(shop, "filters")
    assert filters.learned_reorder_interval_days is None  # one reorder says nothing
    assert filters.reorder_interval is None
    assert learned.products == 1 and learned.pairs == 6


def test_the_merchants_own_interval_is_never_overwritten(shop):
    for n in range(5):
        buy(shop, f"c{n}@example.com", 0, "beans")
        buy(shop, f"c{n}@example.com", 20, "beans")
    beans = product(shop, "beans")
    set_reorder_interval(shop, beans.pk, 45)

    learn_reorder_intervals(shop)

    beans.refresh_from_db()
    assert beans.reorder_interval_days == 45  # hers, as she set it
    assert beans.learned_reorder_interval_days == 20  # what the history says, beside it
    assert beans.reorder_interval == 45 and beans.reorder_interval_source == "set"
    assert beans.consumable  # an interval means it runs out

    set_reorder_interval(shop, beans.pk, None)  # back to what the orders say
    beans.refresh_from_db()
    assert beans.reorder_interval == 20 and beans.reorder_interval_source == "learned"


def test_same_day_orders_and_cancelled_orders_are_not_reorders(shop):
    for n in range(5):
        buy(shop, f"c{n}@example.com", 0, "beans")
        buy(shop, f"c{n}@example.com", 0, "beans", hour=4)  # forgot something: same trip
        buy(shop, f"c{n}@example.com", 21, "beans")
    cancelled = [buy(shop, f"c{n}@example.com", 10, "beans") for n in range(5)]
    for order in cancelled:
        record_cancellation(
            shop, order.external_id, cancelled_at=START, reason="customer", source="api"
        )

    learn_reorder_intervals(shop)

    beans = product(shop, "beans")
    assert beans.learned_reorder_interval_days == 21  # not 0, not 10/11
    assert beans.reorder_pairs == 5


def test_a_learned_interval_is_kept_within_a_sane_range_and_forgotten_when_its_orders_go(shop):
    orders = []
    for n in range(6):
        orders.append(buy(shop, f"c{n}@example.com", 0, "gum"))
        orders.append(buy(shop, f"c{n}@example.com", 2, "gum"))
    learn_reorder_intervals(shop)
    assert product(shop, "gum").learned_reorder_interval_days == SHORTEST  # 2 days: clipped

    for order in orders[1::2]:
        record_cancellation(
            shop, order.external_id, cancelled_at=START, reason="customer", source="api"
        )
    again = learn_reorder_intervals(shop)
    gum = product(shop, "gum")
    assert gum.learned_reorder_interval_days is None and gum.reorder_pairs == 0
    assert again.changed == 1


def test_relearning_with_nothing_new_changes_nothing(shop):
    for n in range(5):
        buy(shop, f"c{n}@example.com", 0, "beans")
        buy(shop, f"c{n}@example.com", 30, "beans")
    assert learn_reorder_intervals(shop).changed == 1
    assert learn_reorder_intervals(shop).changed == 0


def test_one_shops_orders_never_teach_another_shop(shop):
    other, _ = create_shop("teahouse", name="Tea House")
    for n in range(5):
        buy(other, f"c{n}@example.com", 0, "beans")
        buy(other, f"c{n}@example.com", 30, "beans")
    buy(shop, "mine@example.com", 0, "beans")

    assert learn_reorder_intervals(shop).products == 0
    assert product(shop, "beans").reorder_interval is None
    learn_reorder_intervals(other)
    assert product(other, "beans").reorder_interval == 30


@pytest.mark.parametrize("days", [0, -3, 4000, 2.5, "30", True])
def test_a_bad_interval_is_refused_saying_what(shop, days):
    buy(shop, "a@example.com", 0, "beans")
    with pytest.raises(ValueError, match="reorder interval .*whole number of days from 1 to 3650"):
        set_reorder_interval(shop, product(shop, "beans").pk, days)
    assert product(shop, "beans").reorder_interval_days is None


def test_another_shops_product_cannot_be_given_an_interval(shop):
    other, _ = create_shop("teahouse", name="Tea House")
    buy(other, "a@example.com", 0, "tea")
    with pytest.raises(ValueError, match="not in this shop"):
        set_reorder_interval(shop, product(other, "tea").pk, 30)


def test_the_weekly_task_relearns_every_shop(shop):
    from aftercart.orders.tasks import learn_reorder_intervals as weekly

    other, _ = create_shop("teahouse", name="Tea House")
    for owner in (shop, other):
        for n in range(5):
            buy(owner, f"c{n}@example.com", 0, "beans")
            buy(owner, f"c{n}@example.com", 40, "beans")

    assert weekly.call() == {"roastery": 1, "teahouse": 1}
    assert product(other, "beans").reorder_interval == 40
    job = next(j for j in schedule.jobs() if j.name == "orders.learn-reorder-intervals")
    assert job.every == timedelta(days=7)


@given(st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=60))
def test_the_typical_interval_is_the_clipped_median(gaps):
    histogram = {}
    for gap in gaps:
        histogram[gap] = histogram.get(gap, 0) + 1
    got = typical_interval(histogram)
    if len(gaps) < 5:
        assert got is None
    else:
        assert got == min(max(round(statistics.median(gaps)), SHORTEST), LONGEST)
