"""AfterShip's tracking webhook (`tracking_update`), read into a TrackingUpdate.

This is the adapter for a carrier aggregator; another aggregator is a module of the same
shape (see docs/tracking.md): a `parse(topic, payload) -> Intake` for the body, and an
entry in integrations.webhooks.TRACKING_SOURCES naming its signature header. The intake
path does the rest: the raw body is stored once per event id, then applied by the drain.

    {"event": "tracking_update", "event_id": "…", "ts": 1700000000,
     "msg": {"tracking_number": "3SABCD1234567", "slug": "postnl-3s", "tag": "InTransit",
             "subtag": "InTransit_001", "expected_delivery": "2026-11-25",
             "checkpoints": [{"checkpoint_time": "2026-11-23T06:12:00+01:00",
                              "tag": "InTransit", "subtag": "InTransit_007",
                              "message": "Sorted", "location": "Utrecht"}]}}
"""

from datetime import UTC, date, datetime
from typing import Any

from django.utils.dateparse import parse_date

from aftercart.integrations.fields import Reader, parse_moment
from aftercart.integrations.intake import Intake, UnknownTopic
from aftercart.orders import tracking
from aftercart.orders.records import Checkpoint, TrackingUpdate
from aftercart.tracking import statuses

SOURCE = "aftership"
TOPICS = {"tracking_update"}
MAX_CHECKPOINTS = 500


def parse(topic: str, payload: Any) -> Intake:
    r = Reader()
    body = r.obj(payload, "body")
    r.check()
    topic = topic or str(body.get("event") or "")
    if topic not in TOPICS:
        raise UnknownTopic(topic)
    msg = r.obj(body.get("msg"), "msg")
    r.check()
    update = map_tracking(msg, r)
    r.check()
    return Intake(
        f"tracking:{update.tracking_number}",
        update.updated_at,
        lambda shop: tracking.record_tracking(shop, update),
    )


def map_tracking(msg: dict, r: Reader) -> TrackingUpdate:
    number = r.ident(msg, "tracking_number", "msg.")
    tag = r.text(msg, "tag", "msg.")
    subtag = r.text(msg, "subtag", "msg.")
    if tag and tag not in statuses.AFTERSHIP:
        r.fail("msg.tag", f"{tag!r} is not an AfterShip delivery status")
    raw = r.items(msg, "checkpoints", "msg.")
    if len(raw) > MAX_CHECKPOINTS:
        r.fail("msg.checkpoints", f"{len(raw)} scans; at most {MAX_CHECKPOINTS} are read")
        raw = []
    checkpoints = []
    for i, c in enumerate(raw):
        path = f"msg.checkpoints[{i}]."
        at = _moment(r, c, "checkpoint_time", path)
        if at is None:
            continue
        c_tag = r.text(c, "tag", path) or ""
        c_subtag = r.text(c, "subtag", path) or ""
        place = ", ".join(
            str(p) for p in (c.get("location") or c.get("city"), c.get("country_iso3")) if p
        )
        checkpoints.append(
            Checkpoint(
                occurred_at=at,
                status=statuses.normalise(SOURCE, c_tag, c_subtag),
                raw_status=c_subtag or c_tag,
                description=(r.text(c, "message", path) or "")[:500],
                location=place[:200],
            )
        )
    latest = max((c.occurred_at for c in checkpoints), default=None)
    expected = msg.get("expected_delivery")
    return TrackingUpdate(
        tracking_number=number,
        source=SOURCE,
        status=statuses.normalise(SOURCE, tag, subtag),
        raw_status=subtag or tag or "",
        carrier=r.text(msg, "slug", "msg."),
        checkpoints=checkpoints,
        updated_at=latest or _moment(r, msg, "updated_at", "msg."),
        expected_delivery=_day(expected[:10]) if isinstance(expected, str) else None,
    )


def _day(text: str) -> date | None:
    try:
        return parse_date(text)
    except ValueError:  # well-formed but not a day ("2026-02-30")
        return None


def _moment(r: Reader, data: dict, key: str, path: str) -> datetime | None:
    """AfterShip's times: with or without a zone (naive: taken as UTC), or a bare date."""
    value = data.get(key)
    if value in (None, ""):
        return None
    parsed = parse_moment(value)
    if parsed is None and isinstance(value, str):
        day = _day(value.strip()) if len(value.strip()) == 10 else None
        parsed = datetime(day.year, day.month, day.day) if day else None
    if parsed is None:
        r.fail(f"{path}{key}", f"{value!r} is not a date-time")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
