"""The backtest replays a shop's past orders through a flow: the right numbers, nothing written."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftercart.customers.models import Customer, Suppression
from aftercart.customers.services import CustomerData
from aftercart.flows import predicates
from aftercart.flows.as_of import AS_OF, History
from aftercart.flows.backtest import backtest
from aftercart.flows.definitions import DefinitionError
from aftercart.flows.models import Enrolment, Flow, FlowVersion
from aftercart.flows.services import is_control, save_flow
from aftercart.messaging.models import Message
from aftercart.orders.past import orders_by_customer, orders_placed
from aftercart.orders.records import LineData, OrderData, RefundData, ShipmentData
from aftercart.orders.services import record_order

AMS = ZoneInfo("Europe/Amsterdam")
SINCE = datetime(2026, 1, 1, tzinfo=AMS)
UNTIL = datetime(2026, 7, 1, tzinfo=AMS)

# Delivered; 3 days later at 10:00 three marketing emails at once (the cap is 2 a week).
AFTER_DELIVERY = {
    "name": "After delivery",
    "trigger": "order.delivered",
    "marketing": True,
    "holdout": 0,
    "steps": [
        {"wait": {"days": 3, "at_hour": 10}},
        {"if": "not_refunded"},
        {"send": "check_in"},
        {"send": "review_request"},
        {"send": "cross_sell"},
        {"action": "tag_customer", "tag": "replayed"},
    ],
}


def place(shop, number, placed_at, *, email="anne@example.com", consent=True, **extra):
    return record_order(
        shop,
        OrderData(
            external_id=str(number),
            source="shopify",
            number=f"#{number}",
            email=email,
            customer=CustomerData(email=email, first_name="Anne", accepts_marketing=consent),
            currency="EUR",
            subtotal=Decimal("25.00"),
            total=Decimal("25.00"),
            placed_at=placed_at,
            financial_status="paid",
            lines=[LineData(title="Espresso beans 1 kg", quantity=1, unit_price=Decimal("25.00"))],
            **extra,
        ),
    ).order


def delivered(number, at):
    return [
        ShipmentData(
            external_id=f"s{number}",
            status="delivered",
            shipped_at=at - timedelta(days=1),
            delivered_at=at,
            updated_at=at,
        )
    ]


@pytest.fixture
def shop(shop):
    shop.timezone = "Europe/Amsterdam"
    shop.quiet_hours_start, shop.quiet_hours_end = 21, 8
    shop.marketing_cap, shop.marketing_cap_days = 2, 7
    shop.save()
    return shop


def numbers(report):
    return {s.number: s for s in report.steps}


def test_the_numbers_per_step_consent_cap_and_a_refund(shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    place(
        shop,
        2,
        monday - timedelta(days=2),
        email="bo@example.com",
        consent=False,
        shipments=delivered(2, monday),
    )
    # Refunded the day after delivery: the condition two days later says no.
    place(
        shop,
        3,
        monday - timedelta(days=2),
        email="cas@example.com",
        shipments=delivered(3, monday),
        refunds=[RefundData("r3", Decimal("25.00"), monday + timedelta(days=1))],
    )
    # Before the period: not replayed.
    place(
        shop,
        4,
        SINCE - timedelta(days=10),
        email="dirk@example.com",
        shipments=delivered(4, SINCE - timedelta(days=5)),
    )

    report = backtest(shop, SINCE, definition=AFTER_DELIVERY, until=UNTIL)

    assert (report.orders, report.enrolments, report.control) == (3, 3, 0)
    steps = numbers(report)
    assert [steps[n].reached for n in range(1, 7)] == [3, 3, 2, 2, 2, 2]
    assert steps[2].left == 1 and report.exits == {"not_refunded: no": 1}
    # Anne: all three; two go at once, the cap moves the cross-sell a week.
    # Bo gave no consent: none of the three.
    assert [steps[n].sent for n in (3, 4, 5)] == [1, 1, 1]
    assert [steps[n].held_by_consent for n in (3, 4, 5)] == [1, 1, 1]
    assert steps[5].moved_by_cap == 1 and steps[3].moved_by_cap == steps[4].moved_by_cap == 0
    assert report.completed == 2 and report.emails_sent == 3
    weeks = dict(report.weeks)
    assert weeks["2026-W06"] == 2  # Thursday 5 February, 10:00
    assert weeks["2026-W07"] == 1  # a week later, when the cap has room again
    assert sum(weeks.values()) == 3
    assert report.weeks[0][0] == "2026-W01" and report.weeks[-1][0] == "2026-W27"


def test_quiet_hours_move_an_email_to_the_morning_in_her_time_zone(shop):
    late = datetime(2026, 3, 3, 21, 30, tzinfo=AMS)
    place(shop, 1, late - timedelta(days=2), shipments=delivered(1, late))
    customer = Customer.objects.get(email="anne@example.com")
    definition = {
        "name": "Soon after delivery",
        "trigger": "shipment.delivered",
        "marketing": True,
        "holdout": 0,
        "steps": [{"wait": {"hours": 1}}, {"send": "check_in"}],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    assert numbers(report)[2].moved_by_quiet_hours == 1 and numbers(report)[2].sent == 1

    # In New York 22:30 Amsterdam is 16:30: no quiet hours there.
    customer.time_zone = "America/New_York"
    customer.save()
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    assert numbers(report)[2].moved_by_quiet_hours == 0 and numbers(report)[2].sent == 1


def test_a_suppressed_address_is_held_like_no_consent(shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    Suppression.objects.create(shop=shop, email="anne@example.com", reason="bounced")
    report = backtest(shop, SINCE, definition=AFTER_DELIVERY, until=UNTIL)
    assert [numbers(report)[n].held_by_consent for n in (3, 4, 5)] == [1, 1, 1]
    assert report.emails_sent == 0


def test_no_newer_order_is_answered_as_of_the_replay_clock(shop):
    """Anne ordered in January twice and again in June. Replayed, her second January
    order did get the win-back in February: the June order had not happened yet."""
    for n, day in enumerate(
        (
            datetime(2026, 1, 10, 12, tzinfo=AMS),
            datetime(2026, 1, 20, 12, tzinfo=AMS),
            datetime(2026, 6, 10, 12, tzinfo=AMS),
        ),
        start=1,
    ):
        place(shop, n, day)
    definition = {
        "name": "Win-back",
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0,
        "steps": [
            {"wait": {"days": 30, "at_hour": 10}},
            {"if": "no_newer_order"},
            {"send": "win_back"},
        ],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    steps = numbers(report)
    assert report.enrolments == 3
    assert steps[2].reached == 2  # the June one is still waiting on 1 July
    assert steps[1].waiting_now == 1 and report.still_in_flow == 1
    assert report.exits == {"no_newer_order: no": 1}
    assert steps[3].sent == 1
    assert dict(report.weeks)["2026-W08"] == 1  # Thursday 19 February
    assert not any("no_newer_order" in note for note in report.notes)


def test_an_exit_event_ends_the_enrolment_and_withdraws_its_email(shop):
    place(shop, 1, datetime(2026, 1, 10, 12, tzinfo=AMS))
    place(shop, 2, datetime(2026, 1, 25, 12, tzinfo=AMS))
    definition = {
        "name": "Win-back",
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0,
        "exit_on": ["order.placed"],
        "steps": [{"wait": {"days": 30}}, {"send": "win_back"}],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    assert report.exits == {"order.placed ended it": 1}
    assert numbers(report)[2].sent == 1 and numbers(report)[1].left == 1


def test_the_control_group_is_the_live_one_and_gets_nothing(shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    for n in range(1, 21):
        place(
            shop,
            n,
            monday - timedelta(days=2),
            email=f"c{n}@example.com",
            shipments=delivered(n, monday),
        )
    flow = save_flow(shop, "after", {**AFTER_DELIVERY, "holdout": 0.5})
    ids = Customer.objects.filter(shop=shop).values_list("id", flat=True)
    expected = sum(is_control(flow.id, pk, 0.5) for pk in ids)
    assert 0 < expected < 20

    report = backtest(shop, SINCE, flow=flow, until=UNTIL)
    assert report.enrolments == 20 and report.control == expected
    assert numbers(report)[3].control == expected
    assert numbers(report)[3].sent == 20 - expected


def test_nothing_is_written(shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    flow = save_flow(shop, "after", AFTER_DELIVERY)
    before = (Enrolment.objects.count(), Message.objects.count(), FlowVersion.objects.count())

    report = backtest(shop, SINCE, flow=flow, until=UNTIL)

    assert report.emails_sent == 3 and numbers(report)[6].reached == 1
    assert (Enrolment.objects.count(), Message.objects.count(), FlowVersion.objects.count()) == (
        before
    )
    assert before[:2] == (0, 0)
    assert Customer.objects.get(email="anne@example.com").tags == []  # the action did not run
    flow.refresh_from_db()
    assert flow.version.number == 1


def test_an_unsaved_edit_is_replayed_and_a_bad_one_names_the_step(shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    flow = save_flow(shop, "after", AFTER_DELIVERY)
    edit = {**AFTER_DELIVERY, "steps": AFTER_DELIVERY["steps"][:3]}
    report = backtest(shop, SINCE, flow=flow, definition=edit, until=UNTIL)
    assert len(report.steps) == 3 and report.emails_sent == 1
    with pytest.raises(DefinitionError, match=r"steps\[0\]\.wait\.days"):
        backtest(shop, SINCE, flow=flow, definition={**edit, "steps": [{"wait": {"days": -1}}]})
    with pytest.raises(ValueError, match="not before"):
        backtest(shop, UNTIL, flow=flow, until=SINCE)


def test_a_trigger_not_in_the_order_history_enrols_no_one_and_says_so(shop):
    place(shop, 1, datetime(2026, 2, 2, 12, tzinfo=AMS))
    definition = {
        "name": "Referral",
        "trigger": "review.submitted",
        "marketing": True,
        "steps": [{"send": "referral_invitation"}],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    assert report.enrolments == 0
    assert "review.submitted is not in the order history" in " ".join(report.notes)


def test_a_wait_for_an_event_that_never_comes_times_out(shop):
    place(shop, 1, datetime(2026, 2, 2, 12, tzinfo=AMS))
    definition = {
        "name": "Paid then wait for delivery",
        "trigger": "order.placed",
        "steps": [
            {"wait": {"until_event": "order.delivered", "timeout_days": 10}},
            {"send": "delivered"},
        ],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    # The timeout ran out (never delivered); the transactional email still goes.
    assert report.enrolments == 1 and numbers(report)[2].sent == 1


def test_a_wait_for_an_event_ends_when_it_comes(shop):
    placed = datetime(2026, 2, 2, 12, tzinfo=AMS)
    place(shop, 1, placed, shipments=delivered(1, placed + timedelta(days=2)))
    definition = {
        "name": "Delivered soon?",
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0,
        "steps": [
            {"wait": {"until_event": "shipment.delivered", "timeout_days": 30}},
            {"send": "check_in"},
        ],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    assert numbers(report)[2].sent == 1
    assert dict(report.weeks)["2026-W06"] == 1  # on delivery (Wednesday), not 30 days later


def test_conditions_answered_as_of_agree_with_the_engine_today(shop):
    """The backtest's own answers for conditions about the order history say what the
    engine's predicates say, when both look at today."""
    day = datetime(2026, 2, 2, 12, tzinfo=AMS)
    orders = [
        place(shop, 1, day, shipments=delivered(1, day + timedelta(days=2))),
        place(shop, 2, day + timedelta(days=5)),
        place(
            shop,
            3,
            day,
            email="bo@example.com",
            refunds=[RefundData("r", Decimal("5.00"), day + timedelta(days=1))],
        ),
        place(shop, 4, day, email="cas@example.com", cancelled_at=day + timedelta(hours=1)),
        place(shop, 5, day, email="dirk@example.com"),
    ]
    history = History(orders_placed(shop, SINCE, UNTIL), orders_by_customer(shop))
    today = UNTIL
    for order in orders:
        enrolment = Enrolment(
            shop=shop, customer=order.customer, order_id=order.pk, started_at=order.placed_at
        )
        for name, as_of in AS_OF.items():
            live = predicates.REGISTRY[name].test(enrolment, {})
            assert as_of(history, enrolment, {}, today) == live, (name, order.number)


def test_another_shops_orders_are_not_replayed(shop, other_shop):
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(other_shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    report = backtest(shop, SINCE, definition=AFTER_DELIVERY, until=UNTIL)
    assert (report.orders, report.enrolments) == (0, 0)
    assert Flow.objects.filter(shop=shop, key="backtest").count() == 0


def test_a_hold_looks_again_until_its_timeout_then_leaves(shop):
    """A hold on a condition that says no (today) keeps looking every 12 hours and leaves
    after its timeout; one that says yes lets her through at once."""
    monday = datetime(2026, 2, 2, 14, 0, tzinfo=AMS)
    place(shop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    place(
        shop,
        2,
        monday - timedelta(days=2),
        email="bo@example.com",
        consent=False,
        shipments=delivered(2, monday),
    )
    definition = {
        "name": "Held",
        "trigger": "order.delivered",
        "steps": [
            {"wait": {"until": ["accepts_marketing"], "check_every_hours": 12, "timeout_days": 3}},
            {"send": "delivered"},
        ],
    }
    report = backtest(shop, SINCE, definition=definition, until=UNTIL)
    steps = numbers(report)
    assert steps[1].reached == 2 and steps[2].reached == 1 and steps[2].sent == 1
    assert steps[1].left == 1
    assert list(report.exits) == ["held, still accepts_marketing: no"]
    assert "accepts_marketing" in " ".join(report.notes)  # answered with today's data
