"""Where refunds and exchange orders go: the store, when a connected store can take them.

The store adapters live in integrations, above this app; they say here which shops and
kinds of settlement they can send (`register`), and they listen for
return.settlement_created to send them. A shop without one gets its settlements marked
for an agent, who does them in the store and marks them done.
"""

from collections.abc import Callable

from aftercart.core.models import Shop

Outlet = Callable[[Shop, str], bool]  # (shop, settlement kind) -> can send it?
_outlets: list[Outlet] = []


def register(outlet: Outlet) -> Outlet:
    if outlet not in _outlets:
        _outlets.append(outlet)
    return outlet


def can_send(shop: Shop, kind: str) -> bool:
    return any(outlet(shop, kind) for outlet in _outlets)
