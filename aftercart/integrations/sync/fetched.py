from dataclasses import dataclass

from aftercart.orders.records import OrderData


@dataclass
class Fetched:
    """One order as a store listed it: mapped, or the reason it could not be."""

    ref: str  # what the merchant recognises: "#1001", else the store's id
    order: OrderData | None = None
    error: str | None = None
