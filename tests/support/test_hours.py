"""Time counted in the shop's business hours: across evenings, weekends, holidays and the
night the clocks change."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercart.support.hours import (
    BusinessHours,
    NoBusinessHours,
    add_business_time,
    business_time_between,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SHOP = BusinessHours(AMSTERDAM, country="NL")


def at(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    "start,hours,due",
    [
        (at(2026, 11, 20, 16), 4, at(2026, 11, 23, 12)),  # Friday 16:00 → Monday 12:00
        (at(2026, 11, 21, 10), 1, at(2026, 11, 23, 10)),  # asked on Saturday
        (at(2026, 11, 23, 7, 30), 2, at(2026, 11, 23, 11)),  # before opening
        (at(2026, 11, 23, 17), 1, at(2026, 11, 24, 10)),  # at closing time
        # King's Day (Tuesday 27 April 2027) is a public holiday in the Netherlands.
        (at(2027, 4, 26, 15), 8, at(2027, 4, 28, 15)),
        # Christmas Eve, then Christmas (Friday), Boxing Day and the weekend.
        (at(2026, 12, 24, 16), 3, at(2026, 12, 28, 11)),
        # The night summer time ends (25 October 2026) changes nothing.
        (at(2026, 10, 23, 16), 2, at(2026, 10, 26, 10)),
    ],
)
def test_a_due_time_counts_only_business_hours(start, hours, due):
    assert add_business_time(SHOP, start, timedelta(hours=hours)) == due
    assert business_time_between(SHOP, start, due) == timedelta(hours=hours)


def test_holidays_are_the_shops_countrys():
    kings_day = at(2027, 4, 27, 10)
    assert not SHOP.is_open(kings_day)
    assert BusinessHours(AMSTERDAM, country="BE").is_open(kings_day)


def test_the_shops_own_closed_days_and_hours():
    hours = BusinessHours(
        AMSTERDAM,
        opening={0: (time(10), time(14)), 5: (time(10), time(12))},  # Mondays and Saturdays
        closed_days=frozenset({date(2026, 11, 28)}),
    )
    # Monday 13:00 + 3 h: one hour on Monday, Saturday closed, two hours the next Monday.
    assert add_business_time(hours, at(2026, 11, 23, 13), timedelta(hours=3)) == at(
        2026, 11, 30, 12
    )


def test_hours_that_never_open_are_refused():
    with pytest.raises(NoBusinessHours):
        add_business_time(BusinessHours(AMSTERDAM, opening={}), at(2026, 11, 23, 9), timedelta(1))


def test_a_moment_in_another_zone_is_read_on_the_shops_clock():
    # 08:30 UTC on a Monday in winter is 09:30 in Amsterdam: open half an hour already.
    start = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert SHOP.is_open(start)
    assert add_business_time(SHOP, start, timedelta(minutes=30)) == at(2026, 11, 23, 10)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=200 * 60),
)
def test_between_undoes_add(start, minutes):
    due = add_business_time(SHOP, start, timedelta(minutes=minutes))
    assert business_time_between(SHOP, start, due) == timedelta(minutes=minutes)
    if minutes:
        just_before = due - timedelta(microseconds=1)
        assert SHOP.is_open(just_before)  # the clock ran until the very moment it was due
