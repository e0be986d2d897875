"""Delivery estimates learned from a shop's own parcels, with a stated confidence.

A parcel's transit time, in business days of its destination (tracking.calendar), is
remembered in a cell: carrier × destination country × postcode area × weekday shipped.
An estimate is the shortest range of days that held at least CONFIDENCE (80 %) of the
parcels of the finest cell that has seen MIN_PARCELS of them; a thin cell gives way to a
coarser one (any weekday, then the whole country), and with no history at all the
carrier's published norms answer (`basis` says which). The same is done from the order
date (order placed to delivered, per destination), for the confirmation email.

Everything here is plain Python on numbers; orders.delivery reads the parcels and keeps
the learned model per shop.
"""

import math
import re
from dataclasses import dataclass
from datetime import date

from aftercart.tracking.calendar import add_business_days
from aftercart.tracking.carriers import EUROPE as PARCEL_EUROPE

CONFIDENCE = 0.8
MIN_PARCELS = 20  # below this a cell's range says more about chance than about the route
MAX_DAYS = 30  # longer is a lost parcel found, not a transit time
# "Within Europe" for transit times: where the parcel networks deliver, and the countries
# beyond them that are as near.
EUROPE = PARCEL_EUROPE | {"IS", "LI"}
# Business days when a shop has no history: what carriers state for their standard service.
# (home country, within Europe, the rest of the world)
DEFAULT_DAYS = {
    "": ((1, 3), (2, 6), (5, 12)),
    "postnl": ((1, 2), (2, 5), (5, 10)),
    "dhl_parcel": ((1, 2), (2, 5), (5, 10)),
    "dpd": ((1, 2), (2, 4), (5, 10)),
    "gls": ((1, 2), (2, 4), (5, 10)),
    "bpost": ((1, 2), (2, 5), (5, 10)),
    "colissimo": ((1, 3), (3, 6), (5, 12)),
    "royal_mail": ((1, 3), (3, 6), (5, 12)),
    "usps": ((1, 5), (6, 10), (6, 15)),
    "ups": ((1, 2), (1, 3), (2, 5)),
    "fedex": ((1, 2), (1, 3), (2, 5)),
    "dhl_express": ((1, 1), (1, 2), (2, 4)),
}
HANDLING_DAYS = (0, 2)  # order placed to shipped, when a shop has no history


def area_of(country: str, postcode: str) -> str:
    """The postcode's region: "10" for 1016 GV (Amsterdam), "SW" for SW1A 1AA."""
    code = re.sub(r"[^0-9A-Z]", "", (postcode or "").upper())
    if (country or "").upper() == "GB":
        return re.match(r"[A-Z]*", code).group(0)[:2]
    return code[:2]


@dataclass(frozen=True)
class Journey:
    """One delivered parcel: where it went, when it left, how many business days it took."""

    carrier: str
    country: str
    area: str
    weekday: int  # shipped on (Monday 0)
    days: int


@dataclass(frozen=True)
class Estimate:
    low: int  # business days
    high: int
    confidence: float  # the share of past parcels the range held
    basis: str  # "history" or "carrier"
    parcels: int  # how many past parcels it rests on (0: the carrier's norms)
    scope: str  # which parcels: "postnl|NL|10|0" (carrier|country|area|weekday, * any)
    typical: int  # the median: the single day to bet on

    def dates(self, start: date, country: str) -> tuple[date, date]:
        return (
            add_business_days(start, self.low, country),
            add_business_days(start, self.high, country),
        )


def shortest_range(counts: list[int], confidence: float = CONFIDENCE) -> tuple[int, int, float]:
    """The narrowest [low, high] of days that held at least `confidence` of the parcels.

    With ties, the one that held the most. Returns (low, high, share held)."""
    total = sum(counts)
    if not total:
        raise ValueError("no parcels")
    need = math.ceil(confidence * total - 1e-9)
    best = None
    for low in range(len(counts)):
        held = 0
        for high in range(low, len(counts)):
            held += counts[high]
            if held >= need:
                key = (high - low, -held)
                if best is None or key < best[0]:
                    best = (key, low, high, held)
                break
    _, low, high, held = best
    return low, high, held / total


def _median(counts: list[int]) -> int:
    half, running = sum(counts) / 2, 0
    for day, n in enumerate(counts):
        running += n
        if running >= half:
            return day
    return len(counts) - 1


def cell_keys(carrier: str, country: str, area: str, weekday: int | str) -> list[str]:
    """Finest first: the route and weekday, then the route, then the country, then anyone's."""
    return [
        f"{carrier}|{country}|{area}|{weekday}",
        f"{carrier}|{country}|{area}|*",
        f"{carrier}|{country}|*|{weekday}",
        f"{carrier}|{country}|*|*",
        f"*|{country}|*|*",
    ]


class TransitModel:
    """Histograms of business days per cell; learned from journeys, kept as JSON."""

    def __init__(self, cells: dict[str, list[int]] | None = None, home: str = ""):
        self.cells = cells or {}
        self.home = home  # the country most parcels go to: "domestic" for the defaults

    @classmethod
    def learn(cls, journeys, *, prefix: str = "", home: str = "") -> "TransitModel":
        model = cls(home=home)
        model.add(journeys, prefix=prefix)
        return model

    def add(self, journeys, *, prefix: str = "") -> None:
        for j in journeys:
            if not 0 <= j.days <= MAX_DAYS:
                continue
            for key in cell_keys(j.carrier, j.country, j.area, j.weekday):
                counts = self.cells.setdefault(prefix + key, [0] * (MAX_DAYS + 1))
                counts[j.days] += 1

    def to_json(self) -> dict:
        # Trailing zeros dropped: most cells end after a week.
        cells = {}
        for key, counts in self.cells.items():
            last = max((i for i, n in enumerate(counts) if n), default=-1)
            cells[key] = counts[: last + 1]
        return {"home": self.home, "cells": cells}

    @classmethod
    def from_json(cls, data: dict | None) -> "TransitModel":
        data = data or {}
        return cls({k: list(v) for k, v in (data.get("cells") or {}).items()}, data.get("home", ""))

    def estimate(
        self, carrier: str, country: str, area: str, weekday: int, *, prefix: str = ""
    ) -> Estimate:
        country = (country or "").upper()
        for key in cell_keys(carrier, country, area, weekday):
            counts = self.cells.get(prefix + key)
            if counts and sum(counts) >= MIN_PARCELS:
                low, high, held = shortest_range(counts)
                return Estimate(
                    low, high, held, "history", sum(counts), prefix + key, _median(counts)
                )
        return self.default(carrier, country, handling=prefix == "order|")

    def default(self, carrier: str, country: str, *, handling: bool = False) -> Estimate:
        home, europe, world = DEFAULT_DAYS.get(carrier, DEFAULT_DAYS[""])
        if country and country == self.home:
            low, high = home
        elif country in EUROPE:
            low, high = europe
        else:
            low, high = world
        if handling:
            low, high = low + HANDLING_DAYS[0], high + HANDLING_DAYS[1]
        return Estimate(low, high, CONFIDENCE, "carrier", 0, carrier or "*", (low + high) // 2)
