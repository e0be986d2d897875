"""What goes in a demo order, the discount code on it, and what it costs."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from aftercart.demo.catalogue import BEANS, BY_SKU, CATALOGUE, GEAR, GIFTS, TEA, Item
from aftercart.demo.timing import black_friday
from aftercart.orders.records import LineData

CENTS = Decimal("0.01")
LINE_COUNTS = ((1, 50), (2, 30), (3, 13), (4, 5), (5, 2))
# (shipping fee, free from this order value)
SHIPPING = {
    "NL": (Decimal("4.95"), Decimal("35")),
    "BE": (Decimal("6.95"), Decimal("50")),
    "DE": (Decimal("8.95"), Decimal("60")),
}
SHIPPING_VAT = Decimal("0.21")


@dataclass
class Pick:
    item: Item
    variant: int
    quantity: int


@dataclass
class Priced:
    lines: list[LineData]
    codes: list[str]
    subtotal: Decimal  # after discounts, VAT included (as Shopify reports it)
    discounts: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def _is_gift_season(day: date) -> bool:
    return (day.month == 11 and day.day >= 15) or (day.month == 12 and day.day <= 23)


def pick_item(rng: random.Random, day: date, category: str | None = None, exclude=()) -> Item:
    gifts = 3.0 if _is_gift_season(day) else 1.0
    items = [
        i
        for i in CATALOGUE
        if i.sku not in exclude and (category is None or i.category == category)
    ]
    return rng.choices(items, [i.weight * (gifts if i.category == GIFTS else 1) for i in items])[0]


def pick_variant(rng: random.Random, item: Item) -> tuple[int, int]:
    """(variant index, quantity): mostly 250 g bags, now and then a kilo or two bags."""
    if item.category == BEANS:
        if rng.random() < 0.25:
            return 1, 1
        return 0, rng.choices((1, 2, 3), (60, 30, 10))[0]
    if item.category == TEA:
        return (0 if rng.random() < 0.65 else 1), rng.choices((1, 2), (85, 15))[0]
    return 0, rng.choices((1, 2), (94, 6))[0]


def first_basket(rng: random.Random, day: date, taste: str) -> list[Pick]:
    """A first order: something from the category the customer came for, and a few extras."""
    count = rng.choices([n for n, _ in LINE_COUNTS], [w for _, w in LINE_COUNTS])[0]
    picks: list[Pick] = []
    category: str | None = taste
    while len(picks) < count:
        item = pick_item(rng, day, category, exclude={p.item.sku for p in picks})
        picks.append(Pick(item, *pick_variant(rng, item)))
        # Who buys a brewer often takes its filters along.
        if item.filter_sku and rng.random() < 0.45 and len(picks) < count + 1:
            picks.append(Pick(BY_SKU[item.filter_sku], 0, 1))
        category = None
    return picks


def staple_of(picks: list[Pick]) -> Pick | None:
    """The consumable the customer will run out of first."""
    consumables = [p for p in picks if p.item.reorder_days]
    return min(consumables, key=lambda p: p.item.reorder_days, default=None)


def reorder_basket(rng: random.Random, day: date, staple: Pick) -> list[Pick]:
    """A replenishment: the same coffee, tea or filters (now and then a neighbour), maybe more."""
    item = staple.item
    if rng.random() < 0.2 and item.category in (BEANS, TEA):
        item = pick_item(rng, day, item.category, exclude={item.sku})
    picks = [Pick(item, staple.variant, staple.quantity)]
    for _ in range(rng.choices((0, 1, 2), (70, 24, 6))[0]):
        extra = pick_item(rng, day, exclude={p.item.sku for p in picks} | {"GIFT-CARD-50"})
        picks.append(Pick(extra, *pick_variant(rng, extra)))
    return picks


def choose_code(rng: random.Random, day: date, nth: int, consent: bool) -> str | None:
    friday = black_friday(day.year)
    if friday <= day <= friday + timedelta(days=3) and rng.random() < 0.5:
        return "BLACKFRIDAY20"
    if nth == 0 and rng.random() < (0.3 if consent else 0.04):
        return "WELCOME10"
    if day.month == 12 and day.day <= 20 and rng.random() < 0.18:
        return "KERST10"
    if nth > 0 and rng.random() < 0.08:
        return "TERUG5"
    return None


def price(picks: list[Pick], code: str | None, country: str, *, pickup: bool) -> Priced:
    """Line totals, the code's discount spread over the lines, shipping and included VAT."""
    gross = [Decimal(p.item.variants[p.variant][1]) * p.quantity for p in picks]
    # Gift cards are money, not goods: no discount on them.
    eligible = [not p.item.sku.startswith("GIFT-CARD") for p in picks]
    base = sum((g for g, ok in zip(gross, eligible, strict=True) if ok), Decimal("0"))
    discount_total = Decimal("0.00")
    if code and base:
        if code == "TERUG5":
            discount_total = min(Decimal("5.00"), base) if base >= 30 else Decimal("0.00")
        else:
            discount_total = _cents(base * Decimal(code[-2:]) / 100)
    if not discount_total:
        code = None
    discounts, left = [], discount_total
    last = max((i for i, ok in enumerate(eligible) if ok), default=-1)
    for i, (g, ok) in enumerate(zip(gross, eligible, strict=True)):
        share = (
            Decimal("0.00")
            if not ok
            else (left if i == last else _cents(discount_total * g / base))
        )
        left -= share
        discounts.append(share)
    subtotal = sum(gross, Decimal("0")) - discount_total
    fee, free_from = SHIPPING[country]
    goods = any(not p.item.sku.startswith("GIFT-CARD") for p in picks)
    shipping = Decimal("0.00") if pickup or not goods or subtotal >= free_from else fee
    tax = sum(
        (
            _cents((g - d) * p.item.vat / (1 + p.item.vat))
            for p, g, d in zip(picks, gross, discounts, strict=True)
        ),
        Decimal("0.00"),
    ) + _cents(shipping * SHIPPING_VAT / (1 + SHIPPING_VAT))
    lines = [
        LineData(
            title=p.item.title,
            quantity=p.quantity,
            unit_price=Decimal(p.item.variants[p.variant][1]),
            discount=d,
            sku=p.item.variant_sku(p.variant),
            variant_title=p.item.variants[p.variant][0],
            product_external_id=p.item.external_id,
            variant_external_id=p.item.variant_id(p.variant),
            category=p.item.category,
        )
        for p, d in zip(picks, discounts, strict=True)
    ]
    return Priced(
        lines=lines,
        codes=[code] if code else [],
        subtotal=_cents(subtotal),
        discounts=discount_total,
        shipping=shipping,
        tax=tax,
        total=_cents(subtotal + shipping),
    )


TASTES = ((BEANS, 62), (TEA, 24), (GEAR, 14))
