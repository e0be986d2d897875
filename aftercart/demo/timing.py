"""When a Dutch webshop's customers order, and when parcels ship and arrive.

Orders peak on Sunday and Monday evenings, dip in summer, and rise towards
Sinterklaas (5 December), Black Friday and Christmas. Parcels leave on working days
(orders before 15:00 the same day) and arrive one to three working days later.
"""

import bisect
import itertools
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAYS = 365  # the demo covers a year, ending today

# Monday .. Sunday
WEEKDAY = (1.25, 1.0, 0.95, 0.95, 0.85, 0.75, 1.35)
MONTH = (0.75, 0.85, 0.95, 0.95, 0.9, 0.8, 0.7, 0.75, 1.0, 1.05, 1.2, 1.95)
HOURS = (
    *(0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.35, 0.8, 1.1, 1.3, 1.4, 1.4),
    *(1.7, 1.6, 1.3, 1.2, 1.2, 1.3, 1.5, 2.2, 2.6, 2.5, 1.8, 0.9),
)
EVENING = range(19, 23)
CUTOFF = 15  # orders before 15:00 on a working day leave the same day
HOLIDAYS = {(1, 1), (4, 27), (12, 25), (12, 26)}  # New Year, King's Day, Christmas


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return thursday + timedelta(days=22)


def season(day: date) -> float:
    factor = MONTH[day.month - 1]
    friday = black_friday(day.year)
    if friday <= day <= friday + timedelta(days=3):  # Black Friday to Cyber Monday
        factor *= 2.2
    elif (day.month == 11 and day.day >= 18) or (day.month == 12 and day.day <= 4):
        factor *= 1.35  # Sinterklaas presents
    if day.month == 12:
        if 24 <= day.day <= 26:
            factor *= 0.45
        elif day.day >= 21:
            factor *= 0.7  # too late for Christmas delivery
    return factor


class Calendar:
    """The year ending today, with how busy each day is."""

    def __init__(self, today: date):
        self.first = today - timedelta(days=DAYS - 1)
        self.weights = [
            WEEKDAY[d.weekday()] * season(d) * (0.85 + 0.3 * i / (DAYS - 1))  # a growing shop
            for i, d in enumerate(self.date(i) for i in range(DAYS))
        ]
        self.cumulative = list(itertools.accumulate(self.weights))

    def date(self, index: int) -> date:
        return self.first + timedelta(days=index)

    def pick_day(self, rng: random.Random, last: int = DAYS - 1) -> int:
        """A day between the first and `last` (index), as busy days are more likely."""
        top = self.cumulative[last]
        return min(bisect.bisect_left(self.cumulative, rng.random() * top), last)

    def nudge(self, rng: random.Random, index: int, earliest: int) -> int:
        """A day close to `index` that suits the customer's week, not before `earliest`."""
        options = [i for i in range(index - 1, index + 3) if earliest <= i < DAYS]
        if not options:
            return min(max(index, earliest), DAYS - 1)
        return rng.choices(options, [self.weights[i] for i in options])[0]

    def moment(self, rng: random.Random, index: int) -> datetime:
        """A time on that day (Amsterdam time), evenings favoured, more so on Sunday/Monday."""
        day = self.date(index)
        boost = 1.6 if day.weekday() in (0, 6) else 1.0
        hours = [w * (boost if h in EVENING else 1.0) for h, w in enumerate(HOURS)]
        hour = rng.choices(range(24), hours)[0]
        return datetime.combine(
            day, time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=AMSTERDAM
        )


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in HOLIDAYS


def add_working_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def at(day: date, rng: random.Random, start: float, end: float) -> datetime:
    """A moment on `day` between two local clock times given in hours (16.5 is 16:30)."""
    minutes = rng.randint(int(start * 60), int(end * 60))
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=AMSTERDAM)


def ship_moment(rng: random.Random, placed: datetime) -> datetime:
    """When the carrier collects the parcel: working days, same day before the cut-off."""
    local = placed.astimezone(AMSTERDAM)
    day = local.date()
    if not (is_working_day(day) and local.hour < CUTOFF):
        day = add_working_days(day, 1)
    return at(day, rng, 16.5, 18)


def delivery_moment(rng: random.Random, shipped: datetime, working_days: int) -> datetime:
    day = add_working_days(shipped.astimezone(AMSTERDAM).date(), working_days)
    return at(day, rng, 9.5, 20.5)
