"""The rules for when marketing mail may go, as plain arithmetic on times.

No database here: the outbox (messaging.services.decide) feeds them the state of the
moment it sends, and the flow backtest (flows.backtest) feeds them a replayed past, so
both answer with the same rules.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo

NO_CONSENT = "no recorded consent to marketing mail"


def marketing_refusal(accepts_marketing: bool, suppression: Callable[[], str | None]) -> str:
    """Why marketing mail may not go to this customer, or "" when it may.

    Consent first; the suppression list (an unsubscribe, a bounce) is asked only then,
    as a callable, because asking it is a database query the outbox saves when it can.
    """
    if not accepts_marketing:
        return NO_CONSENT
    reason = suppression()
    if reason:
        return f"the address is on the suppression list ({reason})"
    return ""


def after_quiet_hours(start: int, end: int, zone: tzinfo, now: datetime) -> datetime | None:
    """The end of the quiet hours (start to end, whole hours, in `zone`) if `now` falls in
    them, else None. Equal hours: no quiet hours."""
    if start == end:
        return None
    local = now.astimezone(zone)
    quiet = (start <= local.hour or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return None
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
        wake = wake.replace(tzinfo=local.tzinfo)  # the same wall-clock hour after a DST change
    return wake


def next_free_slot(
    sent: Iterable[datetime], cap: int, window: timedelta, now: datetime
) -> datetime | None:
    """When the customer may get another marketing message, if `cap` of them were sent
    within `window` before `now`, else None. `sent`: her marketing mail's send times so
    far (any order; those before the window do not count)."""
    recent = sorted((t for t in sent if t > now - window), reverse=True)[:cap]
    if len(recent) < cap:
        return None
    return recent[-1] + window  # when the oldest of the last `cap` leaves the window
