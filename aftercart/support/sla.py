"""A shop's SLA: its business hours (support.hours) and the targets per priority, read from
SupportSettings and checked when saved."""

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import holidays

from aftercart.core.models import Shop
from aftercart.support.hours import (
    OFFICE,
    BusinessHours,
    add_business_time,
    business_time_between,
)
from aftercart.support.models import SupportSettings

# Business minutes: (first answer, resolved). A question asked on Friday at 16:00 with a
# normal priority gets its first answer by Monday at 12:00.
TARGETS = {
    "urgent": (60, 4 * 60),
    "high": (2 * 60, 8 * 60),
    "normal": (4 * 60, 16 * 60),
    "low": (8 * 60, 40 * 60),
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsProblem(ValueError):
    """Settings that cannot be saved; the message names the field."""


@dataclass(frozen=True)
class Sla:
    hours: BusinessHours
    targets: dict[str, tuple[int, int]]

    def first_response_due(self, start: datetime, priority: str) -> datetime:
        return add_business_time(self.hours, start, timedelta(minutes=self.targets[priority][0]))

    def resolution_due(
        self, start: datetime, priority: str, paused: timedelta = timedelta(0)
    ) -> datetime:
        """The target from `start`, plus the business time the clock stood still."""
        target = timedelta(minutes=self.targets[priority][1])
        return add_business_time(self.hours, start, target + paused)

    def waited(self, since: datetime, until: datetime) -> timedelta:
        return business_time_between(self.hours, since, until)


def stored_settings(shop: Shop) -> SupportSettings:
    try:
        return shop.support_settings
    except SupportSettings.DoesNotExist:
        return SupportSettings(shop=shop)


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Time zone -> country, from the system's tz database (zone.tab), where it has one."""
    found: dict[str, str] = {}
    for folder in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"):
        path = Path(folder) / "zone.tab"
        if path.exists():
            for line in path.read_text().splitlines():
                parts = line.split("\t")
                if len(parts) >= 3 and not line.startswith("#"):
                    found[parts[2]] = parts[0]
            break
    return found


def holiday_country(shop: Shop, row: SupportSettings | None = None) -> str:
    """The country whose public holidays close the shop: the merchant's choice, else the
    country of the shop's time zone (Europe/Amsterdam: NL)."""
    row = row or stored_settings(shop)
    return row.country or zone_country(shop)


def zone_country(shop: Shop) -> str:
    return _zone_countries().get(shop.timezone, "")


def sla_for(shop: Shop) -> Sla:
    row = stored_settings(shop)
    opening = (
        {int(day): (_time(span[0]), _time(span[1])) for day, span in row.opening.items()}
        if row.opening
        else dict(OFFICE)
    )
    hours = BusinessHours(
        zone=shop.zone,
        opening=opening,
        country=holiday_country(shop, row),
        closed_days=frozenset(date.fromisoformat(d) for d in row.closed_days),
    )
    targets = {**TARGETS, **{k: tuple(v) for k, v in (row.targets or {}).items()}}
    return Sla(hours, targets)


def _time(text: str) -> time:
    return time.fromisoformat(text)


def save_settings(shop: Shop, data: dict[str, Any]) -> SupportSettings:
    """Opening hours per weekday ("09:00-17:30", empty: closed), holiday country, closed
    days (ISO dates), and targets per priority in business hours. All or nothing."""
    row = stored_settings(shop)
    if "opening" in data:
        row.opening = _checked_opening(data["opening"])
    if "country" in data:
        country = (data["country"] or "").strip().upper()
        if country and country not in holidays.list_supported_countries():
            raise SettingsProblem(
                f"country: {country!r} is not a country whose public holidays we know (NL, BE, DE, …)"
            )
        row.country = country
    if "closed_days" in data:
        days = []
        for i, text in enumerate(data["closed_days"]):
            try:
                days.append(date.fromisoformat(str(text).strip()).isoformat())
            except ValueError:
                raise SettingsProblem(
                    f"closed_days[{i}]: {text!r} is not a date (2026-12-28)"
                ) from None
        row.closed_days = sorted(set(days))
    if "targets" in data:
        targets = {}
        for priority, (first, resolve) in data["targets"].items():
            if priority not in TARGETS:
                raise SettingsProblem(f"targets: {priority!r} is not a priority")
            first, resolve = (
                _minutes(first, f"{priority} first answer"),
                _minutes(resolve, f"{priority} resolution"),
            )
            if resolve < first:
                raise SettingsProblem(
                    f"targets: {priority} resolution comes before its first answer"
                )
            targets[priority] = [first, resolve]
        row.targets = targets
    if not any(row.opening.values()) and row.opening:
        raise SettingsProblem("opening: open on at least one day")
    row.save()
    return row


def _checked_opening(raw: dict[str, str]) -> dict[str, list[str]]:
    opening = {}
    for day, text in raw.items():
        index = DAYS.index(day) if day in DAYS else int(day)
        text = (text or "").strip()
        if not text:
            continue
        try:
            opens, closes = (part.strip() for part in text.replace("–", "-").split("-"))
            start, end = time.fromisoformat(opens), time.fromisoformat(closes)
        except ValueError:
            raise SettingsProblem(
                f"opening.{DAYS[index]}: {text!r} is not like 09:00-17:30"
            ) from None
        if end <= start:
            raise SettingsProblem(f"opening.{DAYS[index]}: closes before it opens")
        opening[str(index)] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
    if not opening:
        raise SettingsProblem("opening: open on at least one day")
    return opening


def _minutes(value: Any, name: str) -> int:
    """Business hours as the merchant types them ("4", "1.5"), in minutes."""
    try:
        minutes = round(float(str(value).replace(",", ".")) * 60)
    except ValueError:
        raise SettingsProblem(f"targets: {name}: {value!r} is not a number of hours") from None
    if not 1 <= minutes <= 60 * 24 * 30:
        raise SettingsProblem(f"targets: {name}: between a minute and 720 hours")
    return minutes


def opening_as_text(shop: Shop) -> dict[str, str]:
    """Per weekday name, "09:00-17:00" or "" (closed), for the settings form."""
    hours = sla_for(shop).hours.opening
    return {
        name: f"{hours[i][0]:%H:%M}-{hours[i][1]:%H:%M}" if i in hours else ""
        for i, name in enumerate(DAYS)
    }
