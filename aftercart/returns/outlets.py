"""Where refunds and exchange orders go: the store, when a connected store can take them.

The store adapters live in integrations, above this app; they say here which shops and
kinds of settlement they can send (`register`), and they listen for
return.settlement_created to send them. A shop without one gets its settlements marked
for an agent, who does them in the store and marks them done.
"""

from collections.abc import Callable

from aftercart.core.models import Shop

# (shop, settlement kind, where the order came from: "shopify", "csv", ..., its items)
# -> can send it?
Outlet = Callable[[Shop, str, str, list[dict]], bool]
_outlets: list[Outlet] = []


def register(outlet: Outlet) -> Outlet:
    if outlet not in _outlets:
        _outlets.append(outlet)
    return outlet


def can_send(shop: Shop, kind: str, order_source: str, items: list[dict]) -> bool:
    return any(outlet(shop, kind, order_source, items) for outlet in _outlets)
