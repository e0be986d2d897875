"""Times a person types (command-line options), read in the shop's time zone."""

from datetime import datetime, tzinfo


def moment_in(value: str, zone: tzinfo) -> datetime:
    """ "2026-09-01" (midnight there) or ISO 8601 with or without an offset; ValueError
    saying what is wrong otherwise."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
