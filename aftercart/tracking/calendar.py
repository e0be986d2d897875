"""Business days: Monday to Friday, less the destination country's public holidays.

Carriers in most of Europe do not deliver on Sundays and public holidays, and fewer on
Saturdays than on weekdays; transit times are counted in business days so that a parcel
shipped on the Friday before Easter is not "late" on Tuesday. Holidays come from the
`holidays` package (maintained, one calendar per country), asked once per country and year.
"""

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except (NotImplementedError, KeyError):  # a country the package has no calendar for
        return frozenset()


def is_public_holiday(day: date, country: str) -> bool:
    return day in _holidays((country or "").upper(), day.year)


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and not is_public_holiday(day, country)


def add_business_days(start: date, days: int, country: str) -> date:
    """The day a parcel that takes `days` business days from `start` arrives by.

    The inverse of business_days_between: shipped on a Saturday, one business day is the
    Monday; zero days is `start` itself, or the next business day when it is none."""
    day = start
    if days <= 0:
        while not is_business_day(day, country):
            day += timedelta(days=1)
        return day
    for _ in range(days):
        day += timedelta(days=1)
        while not is_business_day(day, country):
            day += timedelta(days=1)
    return day


def business_days_between(start: date, end: date, country: str) -> int:
    """Business days a parcel took: shipped Friday, delivered Monday (or Saturday): 1.

    A delivery on a weekend or holiday counts as one on the next business day would, so
    "1 business day" means "by the first business day after shipping".
    """
    if end <= start:
        return 0
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day, country):
            count += 1
    return count if is_business_day(end, country) else count + 1
