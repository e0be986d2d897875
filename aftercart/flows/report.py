"""The lift report: what a flow adds, measured against its control group.

For one flow and a period of enrolments, per group (sent and control): the customers who
started the flow, those who ordered again within the attribution window, their orders,
and the revenue of those orders net of refunds made up to now. Then the lift in
conversion with a 95 % interval, the difference in revenue per customer with a 95 %
interval, and a verdict in plain words that says "too small to tell yet" rather than
show a number that only looks certain. Method: docs/holdouts.md; statistics: stats.py.

The counting rules:

* A customer counts once per group, from her first enrolment in the period: its start
  opens her window (attribution_days long) and its own order (the trigger) is not
  counted as a result of the flow.
* Only enrolments whose window has fully passed are counted, so every customer had the
  same time to order again; the ones still inside it are reported as still open.
* A cancelled order counts for nothing; refunds made up to now lower the revenue.
* Revenue is kept per currency and never added across currencies.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from math import ceil

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from aftercart.core.money import CENTS
from aftercart.flows.definitions import parse
from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.stats import Interval, Sample, newcombe, relative, welch
from aftercart.orders.models import Order, Refund

DEFAULT_PERIOD_DAYS = 90
DEFAULT_ATTRIBUTION_DAYS = 30
# Below these, in either group, the interval is too wide (or its method too rough) to
# tell a merchant anything; say so instead of showing a number.
MIN_CUSTOMERS = 100
MIN_CONVERSIONS = 10


class Verdict:
    NO_CONTROL = "no_control"  # the flow sends to everyone: nothing to compare with
    TOO_SMALL = "too_small"
    UNCLEAR = "unclear"  # enough customers, but the interval spans zero
    ADDS = "adds"
    COSTS = "costs"


@dataclass(frozen=True)
class Group:
    """One side of the comparison: the sent group or the control group."""

    customers: int = 0
    converted: int = 0  # customers who ordered again within their window
    orders: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)  # per currency, net of refunds
    # Per currency, over every customer of the group (0 for those who did not order).
    samples: dict[str, Sample] = field(default_factory=dict, repr=False)

    @property
    def conversion(self) -> float | None:
        return self.converted / self.customers if self.customers else None

    def revenue_per_customer(self, currency: str) -> Decimal | None:
        if not self.customers:
            return None
        return (self.revenue.get(currency, Decimal("0.00")) / self.customers).quantize(CENTS)


@dataclass(frozen=True)
class RevenueLift:
    currency: str
    sent: Decimal | None  # revenue per customer in the sent group
    control: Decimal | None
    difference: Interval | None  # sent − control per customer; None when too small


@dataclass(frozen=True)
class FlowReport:
    flow: Flow
    since: datetime  # enrolments started from here ...
    until: datetime  # ... up to here (exclusive), whose window closed before `now`
    now: datetime
    attribution_days: int
    has_control: bool
    sent: Group
    control: Group
    still_open: int  # customers who started within the period but are still in their window
    verdict: str
    conversion_lift: Interval | None = None  # absolute, as a fraction (0.1 = 10 points)
    relative_lift: Interval | None = None  # relative to the control group's rate
    revenue: list[RevenueLift] = field(default_factory=list)
    wait_days: int | None = None  # too small: about how long until it is not, at this pace

    @property
    def currencies(self) -> list[str]:
        return [r.currency for r in self.revenue]


def flow_report(
    flow: Flow,
    *,
    period_days: int = DEFAULT_PERIOD_DAYS,
    attribution_days: int = DEFAULT_ATTRIBUTION_DAYS,
    now: datetime | None = None,
) -> FlowReport:
    """The lift report of enrolments started in the last `period_days` whose
    `attribution_days` window has closed by `now`."""
    if not 1 <= attribution_days <= 365:
        raise ValueError("attribution_days: a whole number of days from 1 to 365")
    if not attribution_days < period_days <= 3650:
        raise ValueError(
            "period_days: longer than the attribution window (or no window has closed yet)"
            " and at most 3650"
        )
    now = now or timezone.now()
    since = now - timedelta(days=period_days)
    until = now - timedelta(days=attribution_days)
    window = timedelta(days=attribution_days)
    definition = parse(flow.version.definition)

    groups = _groups(flow, since, until, window, now)
    sent, control = groups.get(False, Group()), groups.get(True, Group())
    still_open = (
        Enrolment.objects.filter(flow=flow, customer__isnull=False, started_at__gte=until)
        .filter(started_at__lt=now)
        .values("customer_id")
        .distinct()
        .count()
    )
    has_control = (definition.marketing and definition.holdout > 0) or control.customers > 0
    currencies = _currencies(flow.shop.currency, sent, control)
    base = {
        "flow": flow,
        "since": since,
        "until": until,
        "now": now,
        "attribution_days": attribution_days,
        "has_control": has_control,
        "sent": sent,
        "control": control,
        "still_open": still_open,
    }
    if not has_control:
        revenue = [RevenueLift(c, sent.revenue_per_customer(c), None, None) for c in currencies]
        return FlowReport(**base, verdict=Verdict.NO_CONTROL, revenue=revenue)
    if _too_small(sent) or _too_small(control):
        revenue = [
            RevenueLift(c, sent.revenue_per_customer(c), control.revenue_per_customer(c), None)
            for c in currencies
        ]
        wait = _wait_days(sent, control, (until - since).days)
        return FlowReport(**base, verdict=Verdict.TOO_SMALL, revenue=revenue, wait_days=wait)

    lift = newcombe(sent.converted, sent.customers, control.converted, control.customers)
    verdict = Verdict.ADDS if lift.above_zero else Verdict.COSTS if lift.below_zero else None
    return FlowReport(
        **base,
        verdict=verdict or Verdict.UNCLEAR,
        conversion_lift=lift,
        relative_lift=relative(
            sent.converted, sent.customers, control.converted, control.customers
        ),
        revenue=[_revenue_lift(c, sent, control) for c in currencies],
    )


def _too_small(group: Group) -> bool:
    return group.customers < MIN_CUSTOMERS or group.converted < MIN_CONVERSIONS


def _wait_days(sent: Group, control: Group, span_days: int) -> int | None:
    """Roughly how many more days of enrolments until both groups are large enough."""
    pooled = (sent.converted + control.converted) / max(1, sent.customers + control.customers)
    if not pooled or span_days <= 0:
        return None  # no one ordered again yet: no pace to extrapolate from
    needed = max(MIN_CUSTOMERS, ceil(MIN_CONVERSIONS / pooled))
    days = 0
    for group in (sent, control):
        if group.customers >= needed and group.converted >= MIN_CONVERSIONS:
            continue
        per_day = group.customers / span_days
        if not per_day:
            return None
        days = max(days, ceil((needed - group.customers) / per_day))
    return days or None


def _currencies(shop_currency: str, sent: Group, control: Group) -> list[str]:
    """The shop's own currency first (even with no revenue yet), then any other seen."""
    seen = set(sent.revenue) | set(control.revenue)
    return [shop_currency, *sorted(seen - {shop_currency})]


def _revenue_lift(currency: str, sent: Group, control: Group) -> RevenueLift:
    empty = Sample(0, 0.0, 0.0)
    a = sent.samples.get(currency, empty)
    b = control.samples.get(currency, empty)
    # Customers who bought nothing in this currency count as 0, so n is the whole group.
    a = Sample(sent.customers, a.total, a.squares)
    b = Sample(control.customers, b.total, b.squares)
    return RevenueLift(
        currency,
        sent.revenue_per_customer(currency),
        control.revenue_per_customer(currency),
        welch(a, b),
    )


# One pass over the flow's enrolments and the orders of those customers: the first
# enrolment per (group, customer), her orders inside its window (not the trigger, not
# cancelled), each net of refunds made up to now; summed per customer and currency.
# Only customers who ordered come back as rows, so the answer is as large as the
# number of repeat buyers, not of enrolments.
#
# Orders are found by customer only (a customer belongs to one shop): given the shop
# too, SQLite prefers the (shop, placed_at) index and reads every order of the window
# for every customer, which grows with the square of the shop.
_REPEAT_BUYERS = """
WITH firsts AS (
    SELECT control, customer_id, started_at, order_id FROM (
        SELECT control, customer_id, started_at, order_id,
               ROW_NUMBER() OVER (
                   PARTITION BY control, customer_id ORDER BY started_at, id
               ) AS nth
        FROM {enrolment}
        WHERE flow_id = %(flow)s AND customer_id IS NOT NULL
          AND started_at >= %(since)s AND started_at < %(until)s
    ) ranked
    WHERE nth = 1
),
later AS (
    SELECT f.control, f.customer_id, o.currency, o.total,
           (SELECT COALESCE(SUM(r.amount), 0) FROM {refund} r
            WHERE r.order_id = o.id AND r.refunded_at <= %(now)s) AS refunded
    FROM firsts f
    JOIN {order} o ON o.customer_id = f.customer_id
    WHERE o.is_placeholder = %(false)s
      AND (o.cancelled_at IS NULL OR o.cancelled_at > %(now)s)
      AND o.placed_at >= f.started_at AND o.placed_at < {window_end}
      AND (f.order_id IS NULL OR o.id <> f.order_id)
)
SELECT control, customer_id, currency, COUNT(*),
       SUM(CASE WHEN total > refunded THEN total - refunded ELSE 0 END)
FROM later
GROUP BY control, customer_id, currency
"""


def _groups(
    flow: Flow, since: datetime, until: datetime, window: timedelta, now: datetime
) -> dict[bool, Group]:
    ops = connection.ops
    qn = ops.quote_name
    # "started_at + window" as the ORM would write it: an interval on PostgreSQL, a
    # function Django registers on SQLite (which has no datetime type).
    window_end = ops.combine_duration_expression("+", ["f.started_at", "%(window)s"])
    sql = _REPEAT_BUYERS.format(
        enrolment=qn(Enrolment._meta.db_table),
        order=qn(Order._meta.db_table),
        refund=qn(Refund._meta.db_table),
        window_end=window_end,
    )
    native = connection.features.has_native_duration_field
    params = {
        "flow": flow.pk,
        "false": False,
        "since": ops.adapt_datetimefield_value(since),
        "until": ops.adapt_datetimefield_value(until),
        "now": ops.adapt_datetimefield_value(now),
        "window": window if native else window // timedelta(microseconds=1),
    }
    customers = dict(
        Enrolment.objects.filter(
            flow=flow, customer__isnull=False, started_at__gte=since, started_at__lt=until
        )
        .values_list("control")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    totals: dict[bool, dict] = {
        control: {"converted": set(), "orders": 0, "revenue": {}, "samples": {}}
        for control in (False, True)
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for control, customer_id, currency, orders, amount in cursor.fetchall():
            group = totals[bool(control)]
            amount = _money(amount)
            group["converted"].add(customer_id)
            group["orders"] += orders
            group["revenue"][currency] = group["revenue"].get(currency, Decimal("0.00")) + amount
            n, total, squares = group["samples"].get(currency, (0, 0.0, 0.0))
            value = float(amount)
            group["samples"][currency] = (n + 1, total + value, squares + value * value)
    return {
        control: Group(
            customers=customers.get(control, 0),
            converted=len(t["converted"]),
            orders=t["orders"],
            revenue=t["revenue"],
            samples={c: Sample(*s) for c, s in t["samples"].items()},
        )
        for control, t in totals.items()
    }


def _money(value) -> Decimal:
    """SQLite sums decimals as floats; money is kept to the cent as a Decimal."""
    if isinstance(value, Decimal):
        return value.quantize(CENTS)
    return Decimal(str(round(value or 0, 2))).quantize(CENTS)
