"""A year of a webshop's orders, planned from a seeded random generator and then recorded.

The plan is plain data (OrderData, as any store adapter produces), so the same seed gives
the same year every time; recording goes through aftercart.orders.services, so every
order gets the timeline a real one would have.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aftercart.core import events
from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData
from aftercart.demo import baskets, timing
from aftercart.demo.people import Person, make_person
from aftercart.orders.records import OrderData, RefundData, ShipmentData
from aftercart.orders.services import record_order

SOURCE = "demo"
SEED = 20240601
REPEAT_SHARE = 0.25  # customers with more than one order
ORDERS_PER_REPEAT_BUYER = ((2, 46), (3, 24), (4, 13), (5, 8), (6, 5), (7, 2), (8, 2))
RELIABLE_REORDERERS = 0.7  # repeat buyers who come back when their coffee or tea runs out
CONSENT = 0.6
CANCEL_RATE, REFUND_RATE = 0.02, 0.055  # of all orders; of delivered ones
CARRIERS = {
    "NL": (("PostNL", 65), ("DHL", 25), ("DPD", 10)),
    "BE": (("PostNL", 45), ("DHL", 25), ("DPD", 30)),
    "DE": (("DHL", 70), ("DPD", 30)),
}
TRANSIT_DAYS = {
    "NL": ((1, 85), (2, 12), (3, 3)),
    "BE": ((1, 55), (2, 40), (3, 5)),
    "DE": ((2, 60), (3, 40)),
}
REFUND_REASONS = (
    ("Beschadigd aangekomen", 30),
    ("Verkeerde maalgraad geleverd", 20),
    ("Artikel ontbrak in pakket", 15),
    ("Smaak viel tegen", 15),
    ("Defect", 10),
)
CANCEL_REASONS = (("customer", 70), ("inventory", 20), ("other", 10))


@dataclass
class Buyer:
    number: int
    person: Person
    consent: bool
    orders: int
    taste: str
    days: list[int] = field(default_factory=list)


def _choose(rng: random.Random, weighted):
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def allocate(rng: random.Random, total: int) -> list[int]:
    """How many orders each customer places, adding up to `total`, a quarter coming back."""
    counts: list[int] = []
    repeaters, used = 0, 0
    while used < total:
        left = total - used
        if left >= 2 and repeaters < REPEAT_SHARE * (len(counts) + 1):
            k = min(_choose(rng, ORDERS_PER_REPEAT_BUYER), left)
            repeaters += 1
        else:
            k = 1
        counts.append(k)
        used += k
    rng.shuffle(counts)
    return counts


def _schedule(
    rng: random.Random, cal: timing.Calendar, buyer: Buyer, interval: int | None, first: int
) -> list[int]:
    """The days (indexes into the calendar) on which the buyer orders, from `first` if the
    orders fit after it, else from an earlier day."""
    gaps = [
        interval * rng.uniform(0.8, 1.35) if interval else rng.uniform(20, 150)
        for _ in range(buyer.orders - 1)
    ]
    room = timing.DAYS - 20
    if sum(gaps) > room:
        gaps = [g * room / sum(gaps) for g in gaps]
    latest = timing.DAYS - 1 - math.ceil(sum(gaps))
    days = [first if first <= latest else cal.pick_day(rng, latest)]
    for gap in gaps:
        days.append(cal.nudge(rng, round(days[-1] + gap), days[-1] + 1))
    return days


def _tracking(rng: random.Random, carrier: str, person: Person) -> tuple[str, str]:
    if carrier == "PostNL":
        code = f"3SKBNR{rng.randint(10**8, 10**9 - 1)}"
        postcode = person.postcode.replace(" ", "")
        return code, f"https://jouw.postnl.nl/track-and-trace/{code}-{person.country}-{postcode}"
    if carrier == "DHL":
        code = f"JVGL{rng.randint(10**15, 10**16 - 1)}"
        return code, f"https://www.dhl.com/nl-nl/home/tracking.html?tracking-id={code}"
    code = f"0537{rng.randint(10**9, 10**10 - 1)}"
    return code, f"https://tracking.dpd.de/status/nl_NL/parcel/{code}"


def _fulfil(rng: random.Random, order: OrderData, person: Person, now: datetime) -> None:
    """Ship the order and track the parcel up to now: in transit, maybe a failed attempt, delivered."""
    placed = order.placed_at
    shipped = timing.ship_moment(rng, placed)
    if shipped > now:
        return
    carrier = _choose(rng, CARRIERS[person.country])
    number, url = _tracking(rng, carrier, person)
    items = [{"line": ln.external_id, "quantity": ln.quantity} for ln in order.lines]
    ident = f"{order.external_id}-S1"

    def step(status: str, moment: datetime, **extra) -> ShipmentData:
        return ShipmentData(external_id=ident, status=status, updated_at=moment, **extra)

    steps = [
        step(
            "in_transit",
            shipped,
            carrier=carrier,
            tracking_number=number,
            tracking_url=url,
            items=items,
            shipped_at=shipped,
        )
    ]
    days = _choose(rng, TRANSIT_DAYS[person.country])
    fate = rng.random()
    if fate < 0.015:
        days += rng.randint(3, 5)  # stuck at a depot
    elif fate < 0.035:
        attempt = timing.delivery_moment(rng, shipped, days)
        if attempt <= now:
            steps.append(step("failed_attempt", attempt))
        days += 1
    elif fate < 0.04:
        back = timing.delivery_moment(rng, shipped, 8)
        if back <= now:
            steps.append(step("returned_to_sender", back))
            order.refunds.append(
                RefundData(
                    external_id=f"{order.external_id}-R1",
                    amount=order.total,
                    refunded_at=back + timedelta(hours=rng.randint(2, 40)),
                    reason="Retour afzender: pakket onbestelbaar",
                    items=items,
                )
            )
            order.shipments = steps
            return
    delivered = timing.delivery_moment(rng, shipped, days)
    if delivered <= now and len(steps) == 1:
        # Collected and delivered, nothing in between: one record says both (and saves a write).
        steps = [
            replace(steps[0], status="delivered", delivered_at=delivered, updated_at=delivered)
        ]
        _maybe_refund(rng, order, delivered, now)
    elif delivered <= now:
        steps.append(step("delivered", delivered, delivered_at=delivered))
        _maybe_refund(rng, order, delivered, now)
    elif delivered.date() == (local := now.astimezone(timing.AMSTERDAM)).date() and local.hour >= 8:
        steps.append(step("out_for_delivery", now - timedelta(minutes=rng.randint(5, 90))))
    order.shipments = steps


def _maybe_refund(rng: random.Random, order: OrderData, delivered: datetime, now: datetime):
    if rng.random() >= REFUND_RATE:
        return
    refunded_at = delivered + timedelta(days=rng.randint(1, 14), hours=rng.randint(0, 8))
    if refunded_at > now:
        return
    whole = rng.random() < 0.35
    if whole:
        amount, items = (
            order.total,
            [{"line": ln.external_id, "quantity": ln.quantity} for ln in order.lines],
        )
        reason = "Retour ontvangen"
    else:
        line = rng.choice(order.lines)
        amount = line.unit_price - line.discount / line.quantity
        amount = min(amount.quantize(baskets.CENTS), order.total)
        items = [{"line": line.external_id, "quantity": 1}]
        reason = _choose(rng, REFUND_REASONS)
    order.refunds.append(
        RefundData(
            external_id=f"{order.external_id}-R1",
            amount=amount,
            refunded_at=refunded_at,
            reason=reason,
            items=items,
        )
    )


def _order(rng: random.Random, buyer: Buyer, nth: int, placed: datetime, picks) -> OrderData:
    person = buyer.person
    day = placed.astimezone(timing.AMSTERDAM).date()
    goods = any(not p.item.sku.startswith("GIFT-CARD") for p in picks)
    pickup = person.city == "Amsterdam" and rng.random() < 0.3
    priced = baskets.price(
        picks, baskets.choose_code(rng, day, nth, buyer.consent), person.country, pickup=pickup
    )
    first = nth == 0
    order = OrderData(
        external_id="",  # numbered once every order is planned, in the order they were placed
        source=SOURCE,
        email=person.email,
        customer=CustomerData(
            email=person.email,
            external_id=f"demo-c{buyer.number}",
            first_name=person.first_name,
            last_name=person.last_name,
            locale=person.locale,
            country=person.country,
            phone=person.phone or None,
            accepts_marketing=buyer.consent if first else None,
            consent_at=placed if first and buyer.consent else None,
            consent_source="checkout" if first and buyer.consent else "",
        ),
        currency="EUR",
        subtotal=priced.subtotal,
        discounts=priced.discounts,
        shipping=priced.shipping,
        tax=priced.tax,
        total=priced.total,
        placed_at=placed,
        financial_status="paid",
        fulfilment_status="unfulfilled",
        discount_codes=priced.codes,
        shipping_name=None if pickup else person.name,
        shipping_address=None if pickup else {"address1": person.street},
        shipping_country=person.country,
        shipping_postcode=None if pickup else person.postcode,
        shipping_city=person.city,
        locale=person.locale,
        tags=["afhalen"] if pickup else (["digitaal"] if not goods else []),
        note="Afhalen bij Koffiebar Noord, Amsterdam-Noord" if pickup else None,
        lines=priced.lines,
        shipments=[],
        refunds=[],
    )
    return order


def _settle(rng: random.Random, order: OrderData, person: Person, now: datetime) -> None:
    """Cancel, hand over or ship the order, as far as `now` allows."""
    placed = order.placed_at
    if rng.random() < CANCEL_RATE:
        cancelled = placed + timedelta(minutes=rng.randint(15, 300))
        if cancelled <= now:
            order.cancelled_at = cancelled
            order.cancel_reason = _choose(rng, CANCEL_REASONS)
            order.refunds.append(
                RefundData(
                    external_id=f"{order.external_id}-R1",
                    amount=order.total,
                    refunded_at=cancelled + timedelta(minutes=rng.randint(5, 90)),
                    reason="Bestelling geannuleerd",
                )
            )
            return
    if order.tags:  # picked up in the shop, or only gift cards (sent by email)
        if placed + timedelta(hours=4) <= now:
            order.fulfilment_status = "fulfilled"
        return
    _fulfil(rng, order, person, now)


def plan_orders(count: int, now: datetime, seed: int = SEED) -> list[OrderData]:
    """`count` orders over the year ending `now`, oldest first, numbered #1001 onwards."""
    rng = random.Random(seed)
    cal = timing.Calendar(now.astimezone(timing.AMSTERDAM).date())
    taken: set[str] = set()
    planned: list[tuple[datetime, Buyer, OrderData]] = []
    for number, orders in enumerate(allocate(rng, count), start=1):
        buyer = Buyer(
            number=number,
            person=make_person(rng, taken),
            consent=rng.random() < CONSENT,
            orders=orders,
            taste=_choose(rng, baskets.TASTES),
        )
        first_day = cal.pick_day(rng)
        picks = baskets.first_basket(rng, cal.date(first_day), buyer.taste)
        staple = baskets.staple_of(picks)
        reorders = staple is not None and rng.random() < RELIABLE_REORDERERS
        buyer.days = _schedule(
            rng, cal, buyer, staple.item.reorder_days if reorders else None, first_day
        )
        for nth, day in enumerate(buyer.days):
            placed = cal.moment(rng, day)
            if placed > now:
                placed = now - timedelta(minutes=rng.randint(5, 240))
            if nth:
                picks = (
                    baskets.reorder_basket(rng, cal.date(day), staple)
                    if reorders
                    else baskets.first_basket(rng, cal.date(day), _choose(rng, baskets.TASTES))
                )
            planned.append((placed, buyer, _order(rng, buyer, nth, placed, picks)))
    planned.sort(key=lambda p: p[0])
    result = []
    for i, (_, buyer, order) in enumerate(planned):
        order.number = f"#{1001 + i}"
        order.external_id = f"demo-{1001 + i}"
        for j, line in enumerate(order.lines, start=1):
            line.external_id = f"{order.external_id}-L{j}"
        _settle(rng, order, buyer.person, now)
        result.append(order)
    return result


def record_orders(
    shop: Shop, orders: list[OrderData], advance: Callable[[int], None] = lambda n: None
) -> None:
    # Demo history is not news: no flow, mail or points may start from it.
    with events.muted():
        for order in orders:
            record_order(shop, order)
            advance(1)
