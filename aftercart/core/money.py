"""Money is a Decimal with a currency, never a float."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

CENTS = Decimal("0.01")


class MoneyField(models.DecimalField):
    """An amount in the currency stored next to it, to the cent."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("default", Decimal("0.00"))
        super().__init__(*args, **kwargs)


def to_amount(value, *, field: str = "amount") -> Decimal:
    """Parse a price as a store sends it ("12.50", 12.5, "1.234,50" is refused), to the cent."""
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{field}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not an amount")
    return amount.quantize(CENTS, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency + " ")
    text = f"{amount:,.2f}"
    if locale.startswith("nl"):
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return f"{symbol} {text}"
    return f"{symbol}{text}"
