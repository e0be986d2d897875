"""`aftercart delivery learn|backtest`: a shop's delivery windows from the command line."""

import json
from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table

from aftercart.core.models import Shop
from aftercart.core.times import moment_in
from aftercart.orders import delivery


class DeliveryCommandError(Exception):
    """A problem the user can fix, said in one line."""


def run_delivery(shop: Shop, args) -> int:
    if args.delivery_cmd == "learn":
        model = delivery.learn_delivery_times(shop)
        print(
            f"Learned {shop.slug}'s delivery times from {model.parcels:,} delivered parcels "
            f"({len(model.transit.get('cells', {})):,} routes and weekdays)."
        )
        return 0
    return _backtest(shop, args)


def _since(shop: Shop, value: str) -> datetime:
    try:
        return moment_in(value, shop.zone)
    except ValueError as exc:
        raise DeliveryCommandError(f"--since {exc}") from None


def _backtest(shop: Shop, args) -> int:
    since = _since(shop, args.since)
    console = Console(stderr=True)
    with console.status(f"Learning from {shop.slug}'s parcels before {since:%Y-%m-%d} ..."):
        result = delivery.backtest(shop, since)
    if args.json:
        print(json.dumps(_as_json(result), indent=2))
        return 0
    if not result.learned.parcels:
        print(
            f"No parcel of {shop.slug} shipped since {since:%Y-%m-%d} was delivered: nothing to score."
        )
        return 0
    table = Table(
        box=box.SIMPLE_HEAD, title=f"Delivery windows, parcels shipped since {since:%Y-%m-%d}"
    )
    table.add_column("estimate", no_wrap=True)
    for column in ("parcels", "inside", "mean error", "width"):
        table.add_column(column, justify="right", no_wrap=True)
    rows = [("learned (80 % windows)", result.learned), ("naive: carrier norms", result.naive)]
    rows += [(f"  learned, {carrier}", card) for carrier, card in sorted(result.by_carrier.items())]
    for label, card in rows:
        table.add_row(
            label,
            f"{card.parcels:,}",
            f"{card.share_inside:.0%}",
            f"{card.mean_absolute_error:.2f} days",
            f"{card.mean_width:.1f} days",
        )
    Console().print(table)
    print(
        f"Learned from {result.learned_from:,} parcels shipped before {since:%Y-%m-%d}. "
        "Inside: the delivery fell in the promised range; error: business days between "
        "the typical day and the real one; width: days in the range (narrower says more)."
    )
    return 0


def _as_json(result: delivery.Backtest) -> dict:
    def card(c: delivery.Scorecard) -> dict:
        return {
            "parcels": c.parcels,
            "share_inside": round(c.share_inside, 4),
            "mean_absolute_error_days": round(c.mean_absolute_error, 3),
            "mean_width_days": round(c.mean_width, 2),
        }

    return {
        "since": result.since.isoformat(),
        "learned_from": result.learned_from,
        "learned": card(result.learned),
        "naive": card(result.naive),
        "by_carrier": {k: card(v) for k, v in result.by_carrier.items()},
    }
