"""The lift report: sent versus control, counted right, and honest about small numbers."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from aftercart.customers.services import CustomerData
from aftercart.flows import stats
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Enrolment
from aftercart.flows.report import Verdict, flow_report
from aftercart.flows.services import is_control, save_flow
from aftercart.flows.verdicts import revenue_verdict, verdict
from aftercart.orders.bulk import record_new_orders
from aftercart.orders.records import OrderData, RefundData
from aftercart.orders.services import record_cancellation, record_order, record_refund

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# --- making data ------------------------------------------------------------------------


def order_data(shop, external_id, email, placed_at, total="40.00", **more) -> OrderData:
    amount = Decimal(total)
    return OrderData(
        external_id=external_id,
        source="api",
        number=f"#{external_id}",
        email=email,
        customer=CustomerData(email=email),
        currency=more.pop("currency", shop.currency),
        subtotal=amount,
        total=amount,
        placed_at=placed_at,
        financial_status="paid",
        **more,
    )


def place(shop, records: list[OrderData]):
    """New orders through the bulk intake path, a thousand at a time."""
    orders = []
    for start in range(0, len(records), 1000):
        changes, rest = record_new_orders(shop, records[start : start + 1000])
        assert not rest
        orders.extend(c.order for c in changes)
    return orders


def enrol(flow, trigger_orders, started: list[datetime], control: list[bool] | None = None):
    """Enrolments as the flow engine writes them, in bulk: one per trigger order."""
    control = control or [is_control(flow.id, o.customer_id, 0.1) for o in trigger_orders]
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                shop_id=flow.shop_id,
                flow=flow,
                version_id=flow.version_id,
                customer_id=order.customer_id,
                order_id=order.pk,
                trigger_key=f"order.placed:{order.pk}::{order.customer_id}",
                control=in_control,
                status=Enrolment.Status.COMPLETED,
                started_at=at,
            )
            for order, at, in_control in zip(trigger_orders, started, control, strict=True)
        ],
        batch_size=1000,
    )


def population(
    shop, flow, customers: int, *, sent_rate, control_rate, seed=7, prefix="p", every=None, now=NOW
):
    """Customers who started the flow 35 to 85 days ago; each orders again (40.00) within
    the window with the chance of her group. The control group is the holdout's 10 %, or
    every `every`-th customer. Returns (sent, control) customer counts."""
    rng = random.Random(seed)
    started = [now - timedelta(days=35 + 50 * rng.random()) for _ in range(customers)]
    triggers = place(
        shop,
        [
            order_data(shop, f"{prefix}{n}", f"{prefix}{n}@example.com", at - timedelta(minutes=5))
            for n, at in enumerate(started)
        ],
    )
    groups = [n % every == 0 for n in range(customers)] if every else None
    enrol(flow, triggers, started, groups)
    control = {
        e.customer_id for e in Enrolment.objects.filter(flow=flow, control=True).only("customer")
    }
    again = []
    for n, (order, at) in enumerate(zip(triggers, started, strict=True)):
        rate = control_rate if order.customer_id in control else sent_rate
        if rng.random() < rate:
            placed = at + timedelta(days=1 + 27 * rng.random())
            again.append(order_data(shop, f"{prefix}{n}-again", order.email, placed))
    place(shop, again)
    return customers - len(control), len(control)


@pytest.fixture
def win_back(shop):
    """A marketing flow with the default 10 % control group."""
    return save_flow(shop, "win-back", DEFAULT_LOOP["win-back"])


def one_customer(shop, flow, email="anne@example.com", *, control=False, started=None):
    """One customer in the flow, enrolled 40 days before NOW by her first order."""
    started = started or NOW - 40 * DAY
    trigger = place(shop, [order_data(shop, f"t-{email}", email, started - timedelta(minutes=5))])
    enrol(flow, trigger, [started], [control])
    return trigger[0], started


# --- the statistics against textbook values ----------------------------------------------


def test_wilson_intervals_match_newcombes_worked_examples():
    # Newcombe (1998), Statistics in Medicine 17: 857-872, table I.
    for (x, n), (low, high) in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }.items():
        found = stats.wilson(x, n)
        assert (round(found.low, 4), round(found.high, 4)) == (low, high)


def test_the_difference_of_two_proportions_matches_newcombes_method_10():
    # Newcombe (1998), Statistics in Medicine 17: 873-890, table II, method 10.
    for (x1, n1, x2, n2), (low, high) in {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (5, 56, 0, 29): (-0.0381, 0.1926),
    }.items():
        found = stats.newcombe(x1, n1, x2, n2)
        assert (round(found.low, 4), round(found.high, 4)) == (low, high)


def test_the_relative_lift_is_the_katz_interval_of_the_ratio():
    # 80 % against 60 %: ratio 4/3, se of its log √(1/56 − 1/70 + 1/48 − 1/80) = 0.10911.
    found = stats.relative(56, 70, 48, 80)
    assert round(found.estimate, 4) == 0.3333
    assert (round(found.low, 4), round(found.high, 4)) == (0.0766, 0.6512)
    assert stats.relative(0, 70, 48, 80) is None  # no ratio to or from zero


def test_student_t_quantiles_match_the_table():
    for df, value in {5: 2.571, 10: 2.228, 30: 2.042, 100: 1.984, 1000: 1.962}.items():
        assert abs(stats.t_quantile(0.975, df) - value) < 0.001
    assert round(stats.normal_quantile(0.975), 6) == 1.959964


def test_welch_matches_the_textbook_example():
    # Welch's t-test, Wikipedia's example 1: t = −2.46, ν = 24.99.
    a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    a, b = (stats.Sample(len(v), sum(v), sum(x * x for x in v)) for v in (a1, a2))
    df = stats.welch_df(a, b)
    assert round(df, 2) == 24.99
    found = stats.welch(a, b)
    se = (found.high - found.estimate) / stats.t_quantile(0.975, df)
    assert round(found.estimate / se, 2) == -2.46
    assert found.below_zero  # p = 0.021


# --- the report ---------------------------------------------------------------------------


def test_a_known_effect_is_found_and_its_interval_contains_the_truth(shop, win_back):
    # Every 10th customer in the control group, not the holdout's hash of her id: the ids
    # differ from run to run (PostgreSQL's sequences), and so would the draw below.
    sent, control = population(shop, win_back, 4000, sent_rate=0.20, control_rate=0.10, every=10)
    report = flow_report(win_back, now=NOW)

    assert (report.sent.customers, report.control.customers) == (sent, control) == (3600, 400)
    assert report.verdict == Verdict.ADDS
    lift = report.conversion_lift
    assert lift.low > 0 and lift.low <= 0.10 <= lift.high
    assert (
        abs(report.sent.conversion - 0.20) < 0.03 and abs(report.control.conversion - 0.10) < 0.04
    )
    assert report.sent.orders == report.sent.converted  # one repeat order each
    # Every repeat order is 40.00, so revenue per customer is 40 × the conversion rate and
    # the true difference is 40 × 0.10 = 4.00 per customer.
    (eur,) = report.revenue
    assert eur.currency == "EUR"
    assert report.sent.revenue["EUR"] == Decimal("40.00") * report.sent.converted
    assert eur.difference.low > 0 and eur.difference.low <= 4.0 <= eur.difference.high
    with translation.override("en"):
        assert verdict(report).startswith("The flow adds ")
        assert "within 30 days" in verdict(report)
        assert revenue_verdict(eur).startswith("Revenue per customer: €")


def test_no_difference_is_no_measurable_difference_with_its_range(shop, win_back):
    population(shop, win_back, 3000, sent_rate=0.15, control_rate=0.15, seed=4, every=10)
    report = flow_report(win_back, now=NOW)
    assert report.verdict == Verdict.UNCLEAR
    assert report.conversion_lift.spans_zero
    with translation.override("en"):
        text = verdict(report)
    assert text.startswith("No measurable difference yet: the lift lies between −")
    assert text.endswith(" points.") and " and +" in text


def test_a_small_shop_is_told_it_is_too_small_to_tell(shop, win_back):
    population(shop, win_back, 30, sent_rate=0.5, control_rate=0.0, every=10)
    report = flow_report(win_back, now=NOW)
    assert (report.sent.customers, report.control.customers) == (27, 3)
    assert report.verdict == Verdict.TOO_SMALL
    assert report.conversion_lift is None and report.relative_lift is None
    assert all(line.difference is None for line in report.revenue)
    with translation.override("en"):
        text = verdict(report)
    assert text.startswith("Too small to tell yet.")
    assert "at least 100 customers and 10 who ordered again in each group" in text
    # 3 control customers came in 50 days: 100 of them take years, and it says so.
    assert report.wait_days > 365 and text.endswith("takes more than a year.")


def test_a_growing_shop_is_told_how_long_it_will_take(shop, win_back):
    population(shop, win_back, 600, sent_rate=0.3, control_rate=0.3, every=10)
    report = flow_report(win_back, now=NOW)
    assert report.control.customers == 60 and report.verdict == Verdict.TOO_SMALL
    # 60 control customers in the 60 days counted (90 back to 30 back): one a day, so the
    # 40 still missing take 40 days, about 6 weeks.
    assert report.wait_days == 40
    with translation.override("en"):
        assert verdict(report).endswith("At the current pace that takes about 6 more weeks.")


def test_a_group_with_enough_customers_but_few_repeat_buyers_is_too_small(shop, win_back):
    population(shop, win_back, 1500, sent_rate=0.02, control_rate=0.02, seed=5, every=10)
    report = flow_report(win_back, now=NOW)
    assert report.control.customers >= 100 and report.control.converted < 10
    assert report.verdict == Verdict.TOO_SMALL


def test_refunds_made_by_now_lower_the_revenue(shop, win_back):
    order, started = one_customer(shop, win_back)
    record_order(shop, order_data(shop, "again", order.email, started + 3 * DAY, "100.00"))
    record_refund(shop, "again", RefundData("r1", Decimal("30.00"), started + 5 * DAY), "api")
    # A refund after the report's "now" has not happened yet for this report.
    record_refund(shop, "again", RefundData("r2", Decimal("20.00"), NOW + DAY), "api")

    report = flow_report(win_back, now=NOW)
    assert report.sent.converted == 1 and report.sent.orders == 1
    assert report.sent.revenue == {"EUR": Decimal("70.00")}
    assert report.revenue[0].sent == Decimal("70.00")
    later = flow_report(win_back, now=NOW + 2 * DAY, period_days=92)
    assert later.sent.revenue == {"EUR": Decimal("50.00")}


def test_a_fully_refunded_order_is_still_a_repeat_order_but_earns_nothing(shop, win_back):
    order, started = one_customer(shop, win_back)
    record_order(shop, order_data(shop, "again", order.email, started + 3 * DAY, "25.00"))
    record_refund(shop, "again", RefundData("r1", Decimal("30.00"), started + 4 * DAY), "api")
    report = flow_report(win_back, now=NOW)
    assert report.sent.converted == 1
    assert report.sent.revenue == {"EUR": Decimal("0.00")}  # never below zero


def test_cancelled_orders_and_the_trigger_order_do_not_count(shop, win_back):
    # The trigger order placed a second after the enrolment started (clocks differ): it
    # lies inside the window but is the reason she is in the flow, not its result.
    started = NOW - 40 * DAY
    trigger = place(
        shop, [order_data(shop, "t1", "anne@example.com", started + timedelta(seconds=1))]
    )
    enrol(win_back, trigger, [started], [False])
    place(shop, [order_data(shop, "c1", "anne@example.com", started + 2 * DAY)])
    record_cancellation(shop, "c1", cancelled_at=started + 3 * DAY, reason="customer", source="api")

    report = flow_report(win_back, now=NOW)
    assert report.sent.customers == 1
    assert (report.sent.converted, report.sent.orders) == (0, 0)
    assert report.sent.revenue == {}


def test_only_orders_inside_the_window_count(shop, win_back):
    order, started = one_customer(shop, win_back)
    place(
        shop,
        [
            order_data(shop, "before", order.email, started - DAY),
            order_data(shop, "inside", order.email, started + 30 * DAY - timedelta(minutes=1)),
            order_data(shop, "after", order.email, started + 30 * DAY + timedelta(minutes=1)),
        ],
    )
    report = flow_report(win_back, now=NOW)
    assert (report.sent.converted, report.sent.orders) == (1, 1)
    assert report.sent.revenue == {"EUR": Decimal("40.00")}
    # A 35-day window takes in the later order; the enrolment (40 days ago) has closed it.
    wider = flow_report(win_back, now=NOW, attribution_days=35)
    assert wider.sent.orders == 2


def test_a_customer_counts_once_per_group_from_her_first_enrolment(shop, win_back):
    first, started = one_customer(shop, win_back, started=NOW - 80 * DAY)
    # Two more enrolments of hers (by two more orders): one inside the first window.
    more = place(
        shop,
        [
            order_data(shop, "second", first.email, started + 10 * DAY),
            order_data(shop, "third", first.email, started + 40 * DAY),
        ],
    )
    enrol(win_back, more, [started + 10 * DAY, started + 40 * DAY], [False, False])
    report = flow_report(win_back, now=NOW)
    assert report.sent.customers == 1
    # The second order falls in the first enrolment's window; it counts once, as a result.
    assert (report.sent.converted, report.sent.orders) == (1, 1)


def test_customers_still_inside_their_window_are_reported_not_counted(shop, win_back):
    one_customer(shop, win_back, "early@example.com", started=NOW - 60 * DAY)
    one_customer(shop, win_back, "recent@example.com", started=NOW - 10 * DAY)
    one_customer(shop, win_back, "recent2@example.com", started=NOW - 29 * DAY, control=True)
    report = flow_report(win_back, now=NOW)
    assert report.sent.customers == 1 and report.control.customers == 0
    assert report.still_open == 2
    assert report.until == NOW - 30 * DAY


def test_another_flows_enrolments_and_another_shops_orders_do_not_count(shop, other_shop, win_back):
    order, started = one_customer(shop, win_back)
    other_flow = save_flow(shop, "after-delivery", DEFAULT_LOOP["after-delivery"])
    one_customer(shop, other_flow, "bob@example.com")
    # The same email in another shop is another customer: her order there is not this one.
    place(other_shop, [order_data(other_shop, "x1", order.email, started + DAY)])
    report = flow_report(win_back, now=NOW)
    assert report.sent.customers == 1
    assert report.sent.converted == 0


def test_revenue_is_kept_per_currency_never_added(shop, win_back):
    order, started = one_customer(shop, win_back)
    place(
        shop,
        [
            order_data(shop, "eur", order.email, started + DAY, "10.00"),
            order_data(shop, "usd", order.email, started + 2 * DAY, "15.00", currency="USD"),
        ],
    )
    report = flow_report(win_back, now=NOW)
    assert report.sent.revenue == {"EUR": Decimal("10.00"), "USD": Decimal("15.00")}
    assert report.currencies == ["EUR", "USD"]  # the shop's own first
    assert report.sent.converted == 1 and report.sent.orders == 2


def test_a_transactional_flow_gets_a_report_without_lift(shop):
    flow = save_flow(shop, "order-confirmation", DEFAULT_LOOP["order-confirmation"])
    order, started = one_customer(shop, flow)
    place(shop, [order_data(shop, "again", order.email, started + DAY)])
    report = flow_report(flow, now=NOW)
    assert report.verdict == Verdict.NO_CONTROL and not report.has_control
    assert report.sent.converted == 1 and report.conversion_lift is None
    with translation.override("en"):
        assert verdict(report).startswith("No control group: this flow sends to everyone")
        assert "holdout" not in verdict(report)


def test_a_marketing_flow_without_holdout_is_told_how_to_get_one(shop):
    flow = save_flow(shop, "win-back", {**DEFAULT_LOOP["win-back"], "holdout": 0})
    report = flow_report(flow, now=NOW)
    assert report.verdict == Verdict.NO_CONTROL
    with translation.override("en"):
        assert '"holdout": 0.1' in verdict(report)


def test_a_period_no_longer_than_the_window_is_refused(shop, win_back):
    with pytest.raises(ValueError, match="period_days: longer than the attribution window"):
        flow_report(win_back, period_days=30, attribution_days=30, now=NOW)
    with pytest.raises(ValueError, match="attribution_days"):
        flow_report(win_back, attribution_days=0, now=NOW)
