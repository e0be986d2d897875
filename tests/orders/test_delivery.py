"""Delivery windows learned from the shop's own parcels, and late parcels told in time."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.core.events import muted
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.flows.predicates import REGISTRY
from aftercart.flows.services import run_due
from aftercart.messaging.services import send_due
from aftercart.orders import delivery
from aftercart.orders.models import OrderEvent, Shipment
from aftercart.orders.records import LineData, OrderData, ShipmentData
from aftercart.orders.services import record_order, record_shipment
from aftercart.tracking.calendar import add_business_days

AMS = ZoneInfo("Europe/Amsterdam")


def place(shop, n, *, placed, country="NL", postcode="1016 GV", email=None, shipped=None,
          delivered=None, carrier="PostNL", number=None):  # fmt: skip
    email = email or f"c{n}@example.com"
    shipments = None
    if shipped:
        shipments = [
            ShipmentData(
                external_id="p1",
                status="delivered" if delivered else "in_transit",
                carrier=carrier,
                tracking_number=number or f"3SHIST{n:07d}",
                shipped_at=shipped,
                delivered_at=delivered,
                updated_at=delivered or shipped,
            )
        ]
    return record_order(
        shop,
        OrderData(
            external_id=str(n),
            source="api",
            number=f"#{n}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne"),
            currency="EUR",
            total=Decimal("20.00"),
            placed_at=placed,
            financial_status="paid",
            shipping_country=country,
            shipping_postcode=postcode,
            lines=[LineData(title="Koffie", quantity=1, unit_price=Decimal("20.00"))],
            shipments=shipments,
        ),
    ).order


def history(shop, start: date, weeks: int, seed=1):
    """Parcels whose true transit times are known: PostNL in the Netherlands takes one
    business day (one in ten takes two); DPD to Belgium takes four (one in ten five).
    Orders ship the business day after they are placed."""
    with muted():  # the past: no flows, no emails
        return _history(shop, start, weeks, random.Random(seed))


def _history(shop, start, weeks, rng):
    n = 0
    for day in range(weeks * 7):
        placed_on = start + timedelta(days=day)
        if placed_on.weekday() >= 5:
            continue
        for _ in range(4):
            n += 1
            to_belgium = rng.random() < 0.4
            country, carrier = ("BE", "DPD") if to_belgium else ("NL", "PostNL")
            days = (4 if to_belgium else 1) + (rng.random() < 0.1)
            shipped_on = add_business_days(placed_on, 1, "NL")
            delivered_on = add_business_days(shipped_on, days, country)
            place(
                shop,
                n,
                placed=datetime.combine(placed_on, datetime.min.time(), AMS) + timedelta(hours=10),
                country=country,
                postcode="1016 GV" if country == "NL" else "1000",
                shipped=datetime.combine(shipped_on, datetime.min.time(), AMS)
                + timedelta(hours=16),
                delivered=datetime.combine(delivered_on, datetime.min.time(), AMS)
                + timedelta(hours=13),
                carrier=carrier,
                number=f"3SHIST{n:07d}" if not to_belgium else f"0521{n:010d}",
            )
    return n


@pytest.fixture
def shop(db):
    delivery._models.clear()
    return create_shop("roastery", name="De Roasterij", locale="en")[0]


def test_a_parcel_gets_the_window_its_route_has_shown(shop):
    history(shop, date(2026, 9, 7), weeks=8)
    model = delivery.learn_delivery_times(shop)
    assert model.parcels > 100

    monday = datetime(2026, 11, 23, 16, 0, tzinfo=AMS)
    nl = place(shop, 9001, placed=monday, shipped=monday)
    be = place(shop, 9002, placed=monday, shipped=monday, country="BE", postcode="1000",
               carrier="DPD", number="05219999999999")  # fmt: skip
    nl_parcel, be_parcel = Shipment.objects.get(order=nl), Shipment.objects.get(order=be)

    assert (nl_parcel.expected_from, nl_parcel.expected_until) == (date(2026, 11, 24),) * 2
    assert (be_parcel.expected_from, be_parcel.expected_until) == (date(2026, 11, 27),) * 2
    window = delivery.shipment_window(shop, be_parcel, be)
    assert window.estimate.basis == "history"
    assert window.estimate.confidence >= 0.8


def test_the_backtest_scores_the_learned_windows_against_the_carriers_norms(shop):
    history(shop, date(2026, 6, 1), weeks=12)
    result = delivery.backtest(shop, datetime(2026, 8, 3, tzinfo=UTC))

    assert result.learned_from > 150 and result.learned.parcels > 50
    assert result.learned.share_inside >= 0.8
    # The carriers' norms say DPD to Belgium takes 2–4 days; this shop's take 4 or 5.
    assert result.naive.mean_absolute_error > result.learned.mean_absolute_error
    assert result.learned.mean_absolute_error < 0.2
    assert set(result.by_carrier) == {"postnl", "dpd"}


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_promises_a_day_from_the_order_date(inbox):
    delivery._models.clear()
    shop = create_shop("roastery", name="De Roasterij", locale="en")[0]
    history(shop, date(2026, 9, 7), weeks=8)
    delivery.learn_delivery_times(shop)
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=AMS), tick=False):
        place(shop, 9100, placed=datetime(2026, 11, 23, 10, 0, tzinfo=AMS), email="new@example.com")
        run_due()
        send_due()
    [confirmation] = inbox.to("new@example.com")
    # Placed Monday, ships Tuesday, PostNL takes a day: Wednesday (9 in 10: a range of one).
    assert "Wednesday 25 November" in inbox.text(confirmation)


@pytest.mark.django_db(transaction=True)
def test_a_parcel_past_its_window_is_marked_late_once_and_the_customer_told(inbox):
    delivery._models.clear()
    shop = create_shop("roastery", name="De Roasterij", locale="en")[0]
    history(shop, date(2026, 9, 7), weeks=4)
    delivery.learn_delivery_times(shop)
    monday = datetime(2026, 11, 23, 16, 0, tzinfo=AMS)
    with time_machine.travel(monday, tick=False):
        order = place(shop, 9200, placed=monday, shipped=monday, email="late@example.com")
        run_due()
        send_due()
    parcel = Shipment.objects.get(order=order)
    assert parcel.expected_until == date(2026, 11, 24)

    with time_machine.travel(datetime(2026, 11, 24, 23, 50, tzinfo=AMS), tick=False):
        assert delivery.mark_late_shipments() == 0  # still its day
    with time_machine.travel(datetime(2026, 11, 25, 0, 10, tzinfo=AMS), tick=False):
        assert delivery.mark_late_shipments() == 1
        assert delivery.mark_late_shipments() == 0  # once
        run_due()
        send_due()

    parcel.refresh_from_db()
    assert (parcel.late_reason, parcel.late_since is not None) == ("window_passed", True)
    assert OrderEvent.objects.filter(order=order, type="delayed").count() == 1
    sorry = [m for m in inbox.to("late@example.com") if "running late" in m["Subject"]]
    assert [m["Subject"] for m in sorry] == ["Sorry, your order #9200 is running late"]
    # A review request or a cross-sell waits while the parcel is late and on its way.
    assert REGISTRY["no_late_delivery"].test(_enrolment(shop, order), {}) is False


def _enrolment(shop, order):
    from aftercart.flows.models import Enrolment

    return Enrolment(shop=shop, order_id=order.pk, customer_id=order.customer_id)


def test_trouble_reported_by_the_carrier_makes_a_parcel_late_at_once(shop):
    order = place(shop, 9300, placed=datetime.now(UTC), shipped=datetime.now(UTC))
    record_shipment(
        shop, order.external_id, ShipmentData(external_id="p1", status="failed_attempt"), "api"
    )
    assert delivery.mark_late_shipments() == 1
    parcel = Shipment.objects.get(order=order)
    assert parcel.late_reason == "failed_attempt"


def test_a_shop_that_never_hears_of_deliveries_sees_no_parcel_late(shop):
    long_ago = datetime.now(UTC) - timedelta(days=10)
    place(shop, 9400, placed=long_ago, shipped=long_ago)
    assert delivery.mark_late_shipments() == 0
    assert not Shipment.objects.filter(late_since__isnull=False).exists()


def test_the_delivery_commands_learn_and_score(shop, capsys):
    import json

    from aftercart.cli import main

    history(shop, date(2026, 6, 1), weeks=10)
    assert main(["delivery", "learn"]) == 0
    assert "delivered parcels" in capsys.readouterr().out

    assert main(["delivery", "backtest", "--since", "2026-07-20"]) == 0
    out = capsys.readouterr().out
    assert "learned (80 % windows)" in out and "naive: carrier norms" in out

    assert main(["delivery", "backtest", "--since", "2026-07-20", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["learned"]["share_inside"] >= 0.8
    assert (
        scores["naive"]["mean_absolute_error_days"] > scores["learned"]["mean_absolute_error_days"]
    )

    assert main(["delivery", "backtest", "--since", "last tuesday"]) == 2
    assert "is not a date" in capsys.readouterr().err
