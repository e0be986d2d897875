"""Estimates from history whose true transit times are known; business days and holidays."""

import random
from datetime import date, timedelta

import pytest

from aftercart.tracking.calendar import add_business_days, business_days_between
from aftercart.tracking.estimates import (
    MIN_PARCELS,
    Journey,
    TransitModel,
    area_of,
    shortest_range,
)


def test_business_days_skip_weekends_and_the_destinations_holidays():
    friday_before_easter = date(2026, 4, 2)  # Thursday; Good Friday 3 April, Easter Monday 6
    assert add_business_days(friday_before_easter, 1, "DE") == date(2026, 4, 7)
    assert add_business_days(friday_before_easter, 1, "NL") == date(2026, 4, 7)  # NL: Easter Mon
    assert add_business_days(date(2026, 4, 24), 1, "NL") == date(2026, 4, 28)  # King's Day 27th
    assert add_business_days(date(2026, 4, 24), 1, "BE") == date(2026, 4, 27)
    assert business_days_between(date(2026, 11, 20), date(2026, 11, 23), "NL") == 1  # Fri→Mon
    assert business_days_between(date(2026, 11, 20), date(2026, 11, 21), "NL") == 1  # Fri→Sat
    assert business_days_between(date(2026, 11, 23), date(2026, 11, 23), "NL") == 0
    assert add_business_days(date(2026, 11, 21), 0, "NL") == date(2026, 11, 23)  # Sat → Mon
    assert add_business_days(date(2026, 11, 23), 2, "XX") == date(2026, 11, 25)  # no calendar


def test_the_shortest_range_that_holds_the_share():
    assert shortest_range([0, 70, 20, 5, 5]) == (1, 2, 0.9)
    assert shortest_range([0, 0, 100]) == (2, 2, 1.0)
    assert shortest_range([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]) == (0, 7, 0.8)
    with pytest.raises(ValueError):
        shortest_range([0, 0])


def test_areas_are_the_start_of_the_postcode():
    assert area_of("NL", "1016 gv") == "10"
    assert area_of("GB", "SW1A 1AA") == "SW"
    assert area_of("BE", "") == ""


def history(rng, n):
    """Parcels whose true transit times are known: PostNL to Amsterdam takes 1 day (1 in 10
    takes 2), to Groningen 2 days (1 in 10 takes 3); DPD to Belgium 2, 3 or 4 (a quarter,
    a half, a quarter); Friday's parcels one day more."""
    journeys = []
    for _ in range(n):
        route = rng.random()
        weekday = rng.randrange(5)
        if route < 0.5:
            j = ("postnl", "NL", "10", 1 + (rng.random() < 0.1))
        elif route < 0.8:
            j = ("postnl", "NL", "97", 2 + (rng.random() < 0.1))
        else:
            j = ("dpd", "BE", "10", rng.choice([2, 3, 3, 4]))
        days = j[3] + (weekday == 4)
        journeys.append(Journey(j[0], j[1], j[2], weekday, days))
    return journeys


def test_a_model_learned_from_history_finds_each_routes_true_range():
    rng = random.Random(3)
    model = TransitModel.learn(history(rng, 4000), home="NL")

    amsterdam_monday = model.estimate("postnl", "NL", "10", 0)
    assert (amsterdam_monday.low, amsterdam_monday.high, amsterdam_monday.basis) == (
        1,
        1,
        "history",
    )
    assert amsterdam_monday.confidence >= 0.8
    assert amsterdam_monday.scope == "postnl|NL|10|0"
    assert (
        model.estimate("postnl", "NL", "10", 4).low,
        model.estimate("postnl", "NL", "10", 4).high,
    ) == (2, 2)
    groningen = model.estimate("postnl", "NL", "97", 1)
    assert (groningen.low, groningen.high, groningen.typical) == (2, 2, 2)
    belgium = model.estimate("dpd", "BE", "10", 2)  # 2–3 or 3–4 hold 75 %: too little
    assert (belgium.low, belgium.high, belgium.typical) == (2, 4, 3)

    # Kept as JSON and read back, it answers the same.
    again = TransitModel.from_json(model.to_json())
    assert again.estimate("postnl", "NL", "97", 1) == groningen


def test_a_thin_cell_gives_way_to_a_coarser_one_then_to_the_carriers_norms():
    rng = random.Random(5)
    few = [Journey("postnl", "NL", "33", 2, 3) for _ in range(MIN_PARCELS - 1)]
    model = TransitModel.learn([*history(rng, 1000), *few], home="NL")

    rotterdam = model.estimate("postnl", "NL", "33", 2)  # 19 parcels: not enough
    assert rotterdam.scope in {"postnl|NL|*|2", "postnl|NL|*|*"}
    assert rotterdam.parcels > MIN_PARCELS

    nothing = TransitModel(home="NL")
    assert (
        nothing.estimate("postnl", "NL", "10", 0).low,
        nothing.estimate("postnl", "NL", "10", 0).high,
    ) == (1, 2)
    abroad = nothing.estimate("postnl", "DE", "10", 0)
    assert (abroad.low, abroad.high, abroad.basis, abroad.parcels) == (2, 5, "carrier", 0)
    assert nothing.estimate("", "JP", "", 0).high == 12


def test_an_estimates_dates_count_business_days_in_the_destination():
    model = TransitModel.learn([Journey("postnl", "NL", "10", 3, 1)] * 30, home="NL")
    estimate = model.estimate("postnl", "NL", "10", 3)
    # Shipped Thursday 23 April 2026: Friday 24th; Monday 27th is King's Day.
    assert estimate.dates(date(2026, 4, 23), "NL") == (date(2026, 4, 24), date(2026, 4, 24))
    assert estimate.dates(date(2026, 4, 24), "NL") == (date(2026, 4, 28), date(2026, 4, 28))


@pytest.mark.parametrize("start", [date(2026, 11, 20) + timedelta(days=i) for i in range(10)])
def test_adding_business_days_undoes_counting_them(start):
    # Whatever the weekday shipped (weekends included), the promised day is the day a parcel
    # that took that many business days arrived by.
    for days in range(0, 6):
        arrives = add_business_days(start, days, "NL")
        assert business_days_between(start, arrives, "NL") == days or (
            days == 0 and arrives > start  # shipped on a weekend: by the next business day
        )
