"""The domain event bus: services publish facts, other apps subscribe.

Handlers run after the publishing transaction commits, so a handler never sees (or
enqueues work for) a change that was rolled back. Handlers should be quick: they
enqueue a task that carries ids and re-reads state when it runs.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    name: str  # e.g. "order.placed", "shipment.delivered"
    shop_id: int
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
BatchHandler = Callable[[list[DomainEvent]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_batch_handlers: list[BatchHandler] = []


def subscribe(name: str, handler: Handler | None = None):
    """Register a handler for an event name ("*" for every event). Usable as a decorator."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return register(handler) if handler else register


def subscribe_all(handler: BatchHandler) -> BatchHandler:
    """Register a handler for every event, given several at a time: those published together
    (a batch of orders applied at once) arrive in one list, so it can handle them in bulk."""
    if handler not in _batch_handlers:
        _batch_handlers.append(handler)
    return handler


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers.get(name, []):
        _handlers[name].remove(handler)


def _dispatch(events: list[DomainEvent]) -> None:
    for event in events:
        for handler in [*_handlers.get(event.name, []), *_handlers.get("*", [])]:
            try:
                handler(event)
            except Exception:
                # One broken subscriber must not stop the others, nor undo the fact.
                log.exception("handler %r failed for %s", handler, event.name)
    for batch_handler in _batch_handlers:
        try:
            batch_handler(events)
        except Exception:
            log.exception("handler %r failed for %d event(s)", batch_handler, len(events))


_quiet = threading.local()


@contextmanager
def muted() -> Iterator[None]:
    """Publish nothing inside this block, in this thread.

    For history (demo data, back-filled orders): a year-old order is not news, and its
    events would start thank-you mails, review requests and points today.
    """
    _quiet.depth = getattr(_quiet, "depth", 0) + 1
    try:
        yield
    finally:
        _quiet.depth -= 1


def publish(name: str, shop_id: int, **data: Any) -> None:
    """Publish once the current transaction commits (at once if there is none)."""
    if getattr(_quiet, "depth", 0):
        return
    event = DomainEvent(name=name, shop_id=shop_id, data=data)
    # robust: a failing dispatch must not stop the other callbacks of this commit.
    transaction.on_commit(lambda: _dispatch([event]), robust=True)


def publish_many(events: Iterable[DomainEvent]) -> None:
    """Publish facts that happened together, once the transaction commits, as one batch."""
    events = list(events)
    if getattr(_quiet, "depth", 0) or not events:
        return
    transaction.on_commit(lambda: _dispatch(events), robust=True)
