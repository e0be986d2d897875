"""When a parcel will arrive, learned from the shop's own deliveries; and when it is late.

* `learn_delivery_times(shop)` reads every delivered parcel and keeps, per shop, how many
  business days each route took (tracking.estimates), shipped to delivered and order
  placed to delivered. Daily, by a periodic job; an estimate never waits for it.
* `shipment_window` / `order_window`: the date range, with its confidence and basis, for
  a parcel that shipped and for an order not shipped yet (the confirmation email).
* `mark_late_shipments()`: every few minutes, a parcel whose window has passed without
  delivery, or that the carrier reported trouble with, is marked late once, put on the
  order's timeline and published as shipment.delayed (the loop apologises; customer
  care sees it in the dashboard).
* `backtest(shop, since)`: learn from the parcels before `since`, estimate those after,
  and report how often the range held the real day and how far its typical day was off,
  next to the naive estimate a shop without history would state.
"""

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.orders.models import DeliveryModel, Order, Shipment, TrackingEvent
from aftercart.tracking.calendar import business_days_between
from aftercart.tracking.estimates import Estimate, Journey, TransitModel, area_of
from aftercart.tracking.statuses import TROUBLE

ORDER = "order|"  # the cells learned from the order date
# A parcel shipped longer ago than this and never delivered is history, not news: no
# apology for a parcel from before the shop connected its tracking.
LATE_LOOKBACK = timedelta(days=30)
MODEL_TTL = 300.0  # seconds a process keeps a shop's learned model before reading it again


@dataclass(frozen=True)
class Window:
    earliest: date
    latest: date
    estimate: Estimate


@dataclass(frozen=True)
class Trip:
    """One delivered parcel as the learning and the backtest read it."""

    shipped_on: date
    placed_on: date | None
    journey: Journey
    from_order: Journey | None


def _local(moment: datetime, shop: Shop) -> date:
    return timezone.localtime(moment, shop.zone).date()


def delivered_trips(shop: Shop, *, shipped_from=None, shipped_until=None):
    """Delivered parcels of the shop, oldest first, as trips in business days."""
    rows = Shipment.objects.filter(
        shop=shop, status=Shipment.Status.DELIVERED, shipped_at__isnull=False
    ).exclude(delivered_at__isnull=True)
    if shipped_from:
        rows = rows.filter(shipped_at__gte=shipped_from)
    if shipped_until:
        rows = rows.filter(shipped_at__lt=shipped_until)
    rows = rows.order_by("shipped_at").values_list(
        "carrier_code",
        "shipped_at",
        "delivered_at",
        "order__shipping_country",
        "order__shipping_postcode",
        "order__placed_at",
    )
    for carrier, shipped_at, delivered_at, country, postcode, placed_at in rows.iterator(
        chunk_size=5000
    ):
        country = (country or "").upper()
        area = area_of(country, postcode)
        shipped_on, delivered_on = _local(shipped_at, shop), _local(delivered_at, shop)
        journey = Journey(
            carrier, country, area, shipped_on.weekday(),
            business_days_between(shipped_on, delivered_on, country),
        )  # fmt: skip
        from_order, placed_on = None, None
        if placed_at:
            placed_on = _local(placed_at, shop)
            from_order = Journey(
                "*", country, area, placed_on.weekday(),
                business_days_between(placed_on, delivered_on, country),
            )  # fmt: skip
        yield Trip(shipped_on, placed_on, journey, from_order)


def home_country(shop: Shop) -> str:
    """Where most of the shop's orders go: its "domestic" for the carriers' norms."""
    top = (
        Order.objects.filter(shop=shop)
        .exclude(shipping_country="")
        .values_list("shipping_country", flat=True)[:5000]
    )
    counted = Counter(c.upper() for c in top)
    return counted.most_common(1)[0][0] if counted else ""


def learn(trips, home: str) -> tuple[TransitModel, TransitModel, int]:
    transit, from_order = TransitModel(home=home), TransitModel(home=home)
    parcels = 0
    for trip in trips:
        parcels += 1
        transit.add([trip.journey])
        if trip.from_order:
            from_order.add([trip.from_order], prefix=ORDER)
    return transit, from_order, parcels


def learn_delivery_times(shop: Shop) -> DeliveryModel:
    """Relearn the shop's transit times from all its delivered parcels (safe to run twice)."""
    transit, from_order, parcels = learn(delivered_trips(shop), home_country(shop))
    model, _ = DeliveryModel.objects.update_or_create(
        shop=shop,
        defaults={
            "learned_at": timezone.now(),
            "parcels": parcels,
            "transit": transit.to_json(),
            "from_order": from_order.to_json(),
        },
    )
    _models.pop(shop.pk, None)
    return model


def learn_for_every_shop() -> dict[str, int]:
    return {shop.slug: learn_delivery_times(shop).parcels for shop in Shop.objects.all()}


_models: dict[int, tuple[float, TransitModel, TransitModel, int]] = {}


def _model(shop: Shop) -> tuple[TransitModel, TransitModel, int]:
    hit = _models.get(shop.pk)
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[2], hit[3]
    row = DeliveryModel.objects.filter(shop=shop).first()
    if row is None:
        home = home_country(shop)
        found = (TransitModel(home=home), TransitModel(home=home), 0)
    else:
        found = (
            TransitModel.from_json(row.transit),
            TransitModel.from_json(row.from_order),
            row.parcels,
        )
    _models[shop.pk] = (time.monotonic() + MODEL_TTL, *found)
    return found


def shipment_window(shop: Shop, shipment: Shipment, order: Order) -> Window | None:
    if shipment.shipped_at is None:
        return None
    transit, _, _ = _model(shop)
    return _window(shop, transit, shipment.carrier_code, order, shipment.shipped_at)


def order_window(shop: Shop, order: Order) -> Window | None:
    """From the order date: for the confirmation, before anything has shipped."""
    if order.placed_at is None:
        return None
    _, from_order, _ = _model(shop)
    return _window(shop, from_order, "*", order, order.placed_at, prefix=ORDER)


def _window(
    shop: Shop, model: TransitModel, carrier: str, order: Order, start: datetime, prefix: str = ""
) -> Window:
    """The days to expect counting from `start` (shipped or placed) to the order's address."""
    country = (order.shipping_country or "").upper()
    start_on = _local(start, shop)
    estimate = model.estimate(
        carrier,
        country,
        area_of(country, order.shipping_postcode),
        start_on.weekday(),
        prefix=prefix,
    )
    return Window(*estimate.dates(start_on, country), estimate)


def set_expected_window(shop: Shop, shipment: Shipment, order: Order) -> None:
    """Fill a parcel's window when it ships (orders.services calls this before saving)."""
    if shipment.expected_until or shipment.status == Shipment.Status.DELIVERED:
        return
    window = shipment_window(shop, shipment, order)
    if window:
        shipment.expected_from, shipment.expected_until = window.earliest, window.latest


# Late parcels ---------------------------------------------------------------------------


def late_reason(shipment: Shipment, today: date) -> str:
    """Why the parcel counts as late today, or "" when it does not."""
    if shipment.status in TROUBLE:
        return shipment.status
    if shipment.expected_until and today > shipment.expected_until:
        return "window_passed"
    return ""


def mark_late_shipments(now: datetime | None = None) -> int:
    """Mark and publish every parcel that became late; each only once. Returns how many."""
    from aftercart.orders.services import record_delay

    now = now or timezone.now()
    # The latest "today" anywhere on earth (UTC+14): a window that ended before it may
    # have passed for its shop; each shop's own today decides below.
    cutoff = (now + timedelta(hours=14)).date()
    candidates = (
        Shipment.objects.filter(
            late_since__isnull=True,
            delivered_at__isnull=True,
            shipped_at__gte=now - LATE_LOOKBACK,
        )
        .filter(Q(status__in=TROUBLE) | Q(expected_until__lt=cutoff))
        .exclude(status__in=[Shipment.Status.DELIVERED, Shipment.Status.CANCELLED])
        .select_related("shop")
        .order_by("id")
    )
    marked = 0
    for chunk in _chunks(candidates.iterator(chunk_size=500), 500):
        # Which of these parcels have carrier scans: one query per chunk, not per parcel.
        scanned = set(
            TrackingEvent.objects.filter(shipment_id__in=[s.pk for s in chunk])
            .values_list("shipment_id", flat=True)
            .distinct()
        )
        for shipment in chunk:
            shop = shipment.shop
            reason = late_reason(shipment, timezone.localtime(now, shop.zone).date())
            if reason == "window_passed" and not (shipment.pk in scanned or _model(shop)[2] > 0):
                continue  # a shop that never reports deliveries would see every parcel "late"
            if reason and record_delay(shop, shipment.pk, reason, now):
                marked += 1
    return marked


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Backtest -------------------------------------------------------------------------------


@dataclass
class Scorecard:
    parcels: int = 0
    inside: int = 0
    error_days: int = 0
    width_days: int = 0

    def add(self, estimate: Estimate, actual: int) -> None:
        self.parcels += 1
        self.inside += estimate.low <= actual <= estimate.high
        self.error_days += abs(estimate.typical - actual)
        self.width_days += estimate.high - estimate.low + 1

    @property
    def share_inside(self) -> float:
        return self.inside / self.parcels if self.parcels else 0.0

    @property
    def mean_absolute_error(self) -> float:
        return self.error_days / self.parcels if self.parcels else 0.0

    @property
    def mean_width(self) -> float:
        return self.width_days / self.parcels if self.parcels else 0.0


@dataclass
class Backtest:
    since: datetime
    learned_from: int
    learned: Scorecard
    naive: Scorecard
    by_carrier: dict[str, Scorecard]


def backtest(shop: Shop, since: datetime) -> Backtest:
    """Learn from parcels shipped before `since`, estimate the ones after, as live would.

    The naive estimate is what a shop without history states: the carrier's norms."""
    transit, _, learned_from = learn(delivered_trips(shop, shipped_until=since), home_country(shop))
    naive_model = TransitModel(home=transit.home)
    result = Backtest(since, learned_from, Scorecard(), Scorecard(), {})
    for trip in delivered_trips(shop, shipped_from=since):
        j = trip.journey
        estimate = transit.estimate(j.carrier, j.country, j.area, j.weekday)
        result.learned.add(estimate, j.days)
        result.naive.add(naive_model.default(j.carrier, j.country), j.days)
        result.by_carrier.setdefault(j.carrier or "?", Scorecard()).add(estimate, j.days)
    return result
