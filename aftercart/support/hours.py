"""The shop's business hours, and time counted in them: an SLA of "first answer within 4
business hours" asked on Friday at 16:00 is due on Monday at 11:00, not on Friday at 20:00.

Opening hours are wall-clock times in the shop's time zone, per weekday; public holidays
of the shop's country (the `holidays` package, through tracking.calendar) and the shop's
own closed days (the week between Christmas and New Year) are closed. A day's hours are
taken on that day's clock, so the night summer time starts or ends changes nothing.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftercart.tracking.calendar import is_public_holiday

OFFICE = {day: (time(9), time(17)) for day in range(5)}  # Monday to Friday, 09:00–17:00
LOOK_AHEAD_DAYS = 3 * 366  # closed three years running: the hours never open


class NoBusinessHours(ValueError):
    """The hours never open (no weekday with hours, or every open day closed)."""


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    opening: dict[int, tuple[time, time]] = field(default_factory=lambda: dict(OFFICE))
    country: str = ""  # its public holidays are closed
    closed_days: frozenset[date] = frozenset()

    def hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """When the shop opens and closes on `day`, or None when it is closed all day."""
        hours = self.opening.get(day.weekday())
        if hours is None or day in self.closed_days or is_public_holiday(day, self.country):
            return None
        opens, closes = hours
        if closes <= opens:
            return None
        return (
            datetime.combine(day, opens, tzinfo=self.zone),
            datetime.combine(day, closes, tzinfo=self.zone),
        )

    def is_open(self, moment: datetime) -> bool:
        hours = self.hours_on(moment.astimezone(self.zone).date())
        return hours is not None and hours[0] <= moment < hours[1]


def _open_spans(hours: BusinessHours, start: datetime, until: datetime | None = None):
    """The open spans from `start` on (up to `until`), in order, the first one cut at
    `start`. Raises NoBusinessHours when three years go by without the shop opening."""
    day = start.astimezone(hours.zone).date()
    last = until.astimezone(hours.zone).date() if until is not None else None
    closed_for = 0
    while last is None or day <= last:
        span = hours.hours_on(day)
        if span is not None and span[1] > start:
            closed_for = 0
            yield max(span[0], start), span[1]
        else:
            closed_for += 1
            if closed_for > LOOK_AHEAD_DAYS:
                raise NoBusinessHours("these business hours never open")
        day += timedelta(days=1)


def add_business_time(hours: BusinessHours, start: datetime, duration: timedelta) -> datetime:
    """The moment `duration` of business time after `start` has passed (when it is due).
    Asked outside the hours, the clock starts when the shop opens."""
    if duration <= timedelta(0):
        return start
    left = duration
    for opens, closes in _open_spans(hours, start):
        if closes - opens >= left:
            return opens + left
        left -= closes - opens
    raise AssertionError("unreachable: without an end, _open_spans ends only by raising")


def business_time_between(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """Business time from `start` to `end` (how long a ticket waited, in the shop's hours)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for opens, closes in _open_spans(hours, start, until=end):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total
